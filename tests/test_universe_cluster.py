"""Clustering (SPEC §5, seed 001 §2): planted clusters are recovered; gap/elbow/silhouette; SW mapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from etfrot.errors import ConfigError
from etfrot.universe.cluster import (
    elbow_choice,
    gap_choice,
    hierarchical,
    plot_dendrogram,
    plot_k_scan,
    representatives,
    return_matrix,
    scan_k,
)
from etfrot.universe.industry import industry_shares_from_tables, industry_to_etfs, top_industries


def planted(K=4, per=12, T=250, seed=0):
    """K blocks of indices driven by a market factor + their own block factor + noise."""
    rng = np.random.default_rng(seed)
    f, m = rng.standard_normal((T, K)), rng.standard_normal((T, 1))
    g = np.repeat(np.arange(K), per)
    x = 0.01 * (0.8 * m + f[:, g] + rng.standard_normal((T, K * per)))
    cols = [f"S{i:03d}" for i in range(K * per)]
    return pd.DataFrame(x, index=pd.bdate_range("2020-01-01", periods=T, name="date"), columns=cols), g


@pytest.mark.parametrize("K,seed", [(3, 0), (5, 1)])
def test_planted_clusters_recovered_and_gap_picks_k(K, seed):
    r, truth = planted(K=K, seed=seed)
    X, dropped = return_matrix(r, window=250)
    assert len(dropped) == 0 and X.shape == (K * 12, 250)
    scan = scan_k(X, range(1, 9), n_init=4, refs=6, seed=0)
    assert scan.choices["gap"] == K and scan.k == K
    assert adjusted_rand_score(truth, scan.labels[K]) >= 0.9
    h = hierarchical(X, K, method="ward")
    assert adjusted_rand_score(truth, h.labels.to_numpy()) >= 0.9
    ha = hierarchical(X, K, method="average")
    assert adjusted_rand_score(truth, ha.labels.to_numpy()) >= 0.9
    t = scan.table
    assert list(t.columns[:5]) == ["wss", "silhouette", "gap", "gap_sd", "gap_s"]
    assert (np.diff(t["wss"]) < 0).all() and np.isnan(t.loc[1, "silhouette"])


def test_no_structure_gap_picks_one():
    rng = np.random.default_rng(7)
    r = pd.DataFrame(rng.standard_normal((250, 40)) * 0.01, index=pd.bdate_range("2020-01-01", periods=250))
    X, _ = return_matrix(r)
    for ref in ("pca", "box"):
        assert scan_k(X, range(1, 7), n_init=3, refs=6, reference=ref).choices["gap"] == 1


def test_selection_rules_on_known_curves():
    tab = pd.DataFrame({"gap": [0.1, 0.5, 0.55, 0.56], "gap_s": [0.05, 0.1, 0.1, 0.1]}, index=[1, 2, 3, 4])
    assert gap_choice(tab) == 2  # 0.5 ≥ 0.55 − 0.1
    assert gap_choice(tab, "max") == 4
    assert gap_choice(tab, "global_se") == 2  # 0.5 ≥ 0.56 − 0.1
    flat_start = pd.DataFrame({"gap": [0.93, 0.925, 1.0, 1.1, 1.29, 1.28], "gap_s": [0.003] * 6}, index=range(1, 7))
    assert gap_choice(flat_start) == 1 and gap_choice(flat_start, "global_se") == 5
    assert elbow_choice([1, 2, 3, 4, 5, 6], [100, 40, 30, 25, 22, 20]) == 2


def test_return_matrix_coverage_and_point_in_time():
    r, _ = planted(K=2, per=5, T=300)
    r.iloc[:200, 0] = np.nan  # young: 100 of 250 days
    X, dropped = return_matrix(r, end=r.index[280], window=250, min_coverage=0.8)
    assert list(dropped) == ["S000"] and X.shape[1] == 250
    assert X.columns[-1] == r.index[280]  # window ends on the date: nothing later
    np.testing.assert_allclose(X.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=1, ddof=0), 1)
    raw, _ = return_matrix(r, end=r.index[280], window=250, standardize=False)
    np.testing.assert_allclose(raw.loc["S001"].to_numpy(), r["S001"].iloc[31:281].to_numpy())


def test_representatives_centroid_and_size():
    X = pd.DataFrame([[0.0, 0], [1, 0], [2, 0], [10, 10], [11, 10]], index=list("abcde"))
    lab = pd.Series([1, 1, 1, 2, 2], index=X.index)
    rep = representatives(X, lab)
    assert rep["code"].tolist() == ["b", "d"]  # b is the centroid of cluster 1; d/e tie → code order
    size = pd.Series({"a": 5e8, "b": 1e8, "c": 9e8, "d": 2e9, "e": np.nan}, name="aum")
    rep2 = representatives(X, lab, by=size, per_cluster=2)
    assert rep2["code"].tolist() == ["c", "a", "d", "e"]
    with pytest.raises(ConfigError):
        representatives(X, lab, by="median")


def test_plots_are_labelled_synthetic():
    r, _ = planted(K=3, per=4)
    X, _ = return_matrix(r)
    scan = scan_k(X, range(1, 6), n_init=2, refs=3)
    fig = plot_k_scan(scan, label="SYNTHETIC DATA")
    assert any("SYNTHETIC" in t.get_text() for t in fig.texts) and "SYNTHETIC" in fig._suptitle.get_text()
    fig2 = plot_dendrogram(hierarchical(X, 3), label="SYNTHETIC DATA")
    assert any("SYNTHETIC" in t.get_text() for t in fig2.texts)
    real = plot_k_scan(scan, label="data: files")
    assert not any("SYNTHETIC" in t.get_text() for t in real.texts)


def test_industry_shares_point_in_time():
    w = pd.DataFrame({
        "date": pd.to_datetime(["2021-01-29"] * 3 + ["2021-02-26"] * 2 + ["2021-01-29"] * 2),
        "index_code": ["A"] * 5 + ["B"] * 2,
        "stock_code": ["s1", "s2", "s3", "s1", "s4", "s2", "s5"],
        "weight": [0.5, 0.3, 0.2, 0.4, 0.6, 0.9, 0.1],
    })
    ind = pd.Series({"s1": "银行", "s2": "煤炭", "s4": "电子", "s5": "银行"})  # s3 unknown
    sh = industry_shares_from_tables(w, ind, "2021-02-10")  # A's first snapshot only
    assert sh.loc["A", "银行"] == pytest.approx(0.5 / 0.8) and sh.loc["A", "煤炭"] == pytest.approx(0.3 / 0.8)
    assert sh.loc["A", "coverage"] == pytest.approx(0.8) and sh.loc["B", "煤炭"] == pytest.approx(0.9)
    later = industry_shares_from_tables(w, ind, "2021-03-01")
    assert later.loc["A", "电子"] == pytest.approx(0.6) and later.loc["A", "煤炭"] == 0
    top = top_industries(sh, top=2)
    assert top.loc["A", "industry_1"] == "银行" and top.loc["A", "top_industries"] == f"银行 {0.5 / 0.8:.0%}; 煤炭 {0.3 / 0.8:.0%}"
    t2 = industry_to_etfs(sh.rename(index={"A": "etfA", "B": "etfB"}), min_share=0.3)
    assert t2.loc["煤炭", "n_etfs"] == 2 and t2.loc["银行", "etfs"].startswith("etfA")


def test_industry_shares_equal_the_bundle_helpers(small_bundle):
    """The vectorised mapping equals index_weights_panel + industry_panel, index by index."""
    from etfrot.universe.industry import industry_shares

    b = small_bundle
    t = b.calendar[-30]
    codes = list(pd.unique(b.table("index_weights")["index_code"]))
    sh = industry_shares(b, codes, t)
    ind = b.industry_panel([t]).iloc[0]
    for code in codes:
        w = b.index_weights_panel(code, [t]).iloc[0].dropna()
        w = w[w > 0]
        ref = w.groupby(ind.reindex(w.index).to_numpy()).sum()
        ref = ref / ref.sum()
        np.testing.assert_allclose(sh.loc[code, ref.index].to_numpy(dtype=float), ref.to_numpy(), atol=1e-12)
        assert sh.loc[code].drop(["coverage", *ref.index]).fillna(0).eq(0).all()
