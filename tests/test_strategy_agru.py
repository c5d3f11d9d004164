"""agru_index_rotation: config validation, index → ETF weight mapping, an end-to-end run on the small
synthetic market, point-in-time use of the scores, shipped configs."""

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.strategies import agru_index_rotation as agru
from etfrot.strategies import get_strategy, load_config
from etfrot.strategies import index_holdings as holdings

TINY_MODEL = {"hidden_size": 4, "num_layers": 1, "seeds": 1, "epochs": 1, "train_date_stride": 20,
              "valid_date_stride": 10, "device": "cpu", "num_threads": 1}


def tiny(**over):
    cfg = {"strategy": "agru_index_rotation", "name": "tiny",
           "stock_model": {"model": TINY_MODEL, "cache_dir": None, "evaluate": None,
                           "split": {"scheme": "fixed", "train_end": "2014-06-30", "valid_end": "2014-12-31"}},
           "selection": {"method": "mmr", "quantile": 0.1, "lam": 0.7, "window": 500, "min_overlap": 120},
           "report": {"bootstrap": 50}}
    for k, v in over.items():
        cfg[k] = v
    return cfg


def test_config_validation():
    with pytest.raises(ConfigError, match="unknown key 'stock_model.model.hidden'"):
        agru.validate_config(tiny(stock_model={"model": {"hidden": 3}}))
    with pytest.raises(ConfigError, match="makes its own scores"):
        agru.validate_config(tiny(scores={"source": "random"}))
    with pytest.raises(ConfigError, match="mmr.candidates"):
        agru.validate_config(tiny(mmr={"candidates": 1.5}))
    with pytest.raises(ConfigError, match="mmr_candidates moved"):
        agru.validate_config(tiny(mmr_candidates=0.3))
    with pytest.raises(ConfigError, match="not both"):
        agru.validate_config(tiny(mmr={"max_corr": 0.9}))
    with pytest.raises(ConfigError, match="mmr.n_lam"):  # fixed N has its own λ
        agru.validate_config(tiny(selection={"method": "mmr", "n": 5, "lam": 0.7}))
    c = agru.validate_config({"strategy": "agru_index_rotation"})
    assert c.frequency == "weekly" and c.selection.method == "mmr" and c.selection.quantile == 0.1
    assert c.costs.fee_per_side == 0.0005 and c.benchmark.kind == "total_return" and c.benchmark.code == "000300.SH"
    assert c.stock_model.model.seeds == 5 and c.stock_model.model.extreme_weight == 2.0
    # seed 000 §3.4 default: the top 10 % are the candidates, MMR drops the too-correlated ones
    assert agru.mmr_settings(c) == {"candidates": 0.1, "lam": 0.7, "max_corr": None, "max_corr_quantile": 0.9,
                                    "low_overlap": 0.0}
    fixed = agru.validate_config(tiny(selection={"method": "mmr", "n": 10}))
    assert agru.mmr_settings(fixed) == {"candidates": 0.3, "lam": 0.5, "max_corr": None, "max_corr_quantile": None,
                                        "low_overlap": 0.0}


@pytest.mark.parametrize("name", ["agru_index_rotation", "agru_index_rotation_demo", "agru_index_rotation_real", "agru_index_rotation_monthly",
                                  "agru_index_rotation_n5", "agru_index_rotation_n10", "agru_index_rotation_n15",
                                  "agru_index_rotation_aum", "agru_index_rotation_industry", "agru_index_rotation_mmr30",
                                  "agru_index_rotation_real_weights", "agru_index_rotation_real_broad"])
def test_shipped_configs_validate(name):
    c = agru.validate_config(load_config(name))
    if name.endswith(("n5", "n10", "n15")):
        assert c.selection.n == int(name.rsplit("n", 1)[1])
    if name.endswith("monthly"):
        assert c.frequency == "monthly"
    if name.endswith("aum"):
        assert c.universe.min_aum == 1e8
    if name.endswith("industry"):
        assert c.universe.categories == ["industry_theme"]
    if name.endswith("mmr30"):  # the earlier default: top-10 %-many picks from the top 30 %, nothing dropped
        assert agru.mmr_settings(c) == {"candidates": 0.3, "lam": 0.7, "max_corr": None, "max_corr_quantile": None,
                                        "low_overlap": 0.0}
    if name.endswith("real_weights"):  # every real weight set: indices held through their ETF where listed
        assert c.universe.kind == "index" and c.universe.hold_etf and c.universe.categories == ["broad", "industry_theme"]
    if name.endswith("real_broad"):  # the broad indices' rotation ends where fewer than 3 are scored
        assert c.universe.categories == ["broad"] and c.index_factor.min_indices == 3
        w = agru.validate_config(load_config("agru_index_rotation_real_weights")).stock_model
        assert (c.stock_model.model, c.stock_model.window, c.stock_model.split) == (w.model, w.window, w.split)
    if not name.endswith(("demo", "real", "real_weights", "real_broad")):  # variants share the main config's stock model, so they share its cache
        main = agru.validate_config(load_config("agru_index_rotation")).stock_model
        assert (c.stock_model.model, c.stock_model.window, c.stock_model.split) == (main.model, main.window, main.split)


def test_etf_weights_map_each_index_to_its_etf():
    d = pd.DatetimeIndex(["2020-01-03", "2020-01-10"])
    w = pd.DataFrame({"I1": [0.5, 0.0], "I2": [0.5, 0.5], "I3": [0.0, 0.5]}, index=d)
    e = pd.DataFrame({"I1": ["E1", "E1"], "I2": ["E2", "E9"], "I3": [None, "E3"]}, index=d)
    out = holdings.etf_weights(w, e)
    assert list(out.columns) == ["E1", "E2", "E3", "E9"]
    np.testing.assert_allclose(out.to_numpy(), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]])
    e.loc[d[1], "I3"] = None
    with pytest.raises(Exception, match="I3"):
        holdings.etf_weights(w, e)


def _oracle_scores(bundle) -> pd.DataFrame:
    """A stock score panel to drive the strategy without training (file source)."""
    px = bundle.panel("stock_bars", "close", adjusted=True)
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=px.shape), index=px.index, columns=px.columns).loc["2015-01-01":]


def test_future_scores_do_not_change_past_weights(small_bundle, tmp_path):
    s = _oracle_scores(small_bundle)
    p1, p2 = tmp_path / "a.parquet", tmp_path / "b.parquet"
    s.to_parquet(p1)
    cut = pd.Timestamp("2016-01-01")
    s2 = s.copy()
    s2.loc[cut:] = -s2.loc[cut:]  # rewrite the future
    s2.to_parquet(p2)
    runs = []
    for p in (p1, p2):
        cfg = tiny(stock_model={"scores_path": str(p), "evaluate": None})
        res, _ = agru.run(small_bundle, cfg)
        runs.append(res)
    t1, t2 = (r.targets for r in runs)  # target weights per signal date
    cols = t1.columns.union(t2.columns)
    t1, t2 = t1.reindex(columns=cols, fill_value=0.0), t2.reindex(columns=cols, fill_value=0.0)
    assert t1.index.equals(t2.index) and (t1.index < cut).sum() > 20
    pd.testing.assert_frame_equal(t1[t1.index < cut], t2[t2.index < cut])
    assert not t1[t1.index >= cut].equals(t2[t2.index >= cut])  # the rewritten future does matter


@pytest.mark.slow
def test_end_to_end_on_small_synthetic_market(small_bundle, tmp_path):
    cfg = tiny()
    cfg["stock_model"]["evaluate"] = {"pools": ["all", "csi300"], "freq": "monthly", "quantiles": 5, "compare": []}
    res, sections = get_strategy("agru_index_rotation").run(small_bundle, cfg, tmp_path / "run")
    html = (tmp_path / "run" / "report.html").read_text()
    assert "SYNTHETIC" in html and "Index factor tests" in html and "AGRU stock factor" in html
    titles = [s.title for s in sections]
    assert any("Holdings of the last" in t for t in titles)
    w = res.targets
    assert w.index[0] >= pd.Timestamp("2015-01-01")  # only out-of-sample scores are traded
    # one ETF per selected index, about 10 % of the universe, equal weight
    scr_info = small_bundle.info("etf")["tracked_index"]
    for d in w.index[::10]:
        held = w.loc[d][w.loc[d] > 1e-9]
        if len(held):
            assert scr_info.reindex(held.index).is_unique
    tables = {k: v for s in sections for k, v in s.tables.items()}
    itab = tables["index factor tests"]
    assert set(itab.index.get_level_values(0)) == {"weekly", "monthly"}
    assert set(itab.index.get_level_values(1)) == {"all", "industry"}
    assert (itab.loc[(slice(None), "industry"), "indices_per_date"].to_numpy()
            < itab.loc[(slice(None), "all"), "indices_per_date"].to_numpy()).all()
    assert "test IC of the stock scores" in tables and "stock factor tests per pool" in tables
    m = res.metrics(n_boot=50)
    assert np.isfinite(m["annual_excess"]) and m["benchmark_cumulative_return"] != 0


NULL_BENCH = {"kind": "equal_weight"}


def _null_verdict(res, sections, level: float = 0.95):
    """(annual-excess CI at ``level`` holds 0, largest Newey–West |t| of the index factor's IC over the 4 test cells)."""
    from etfrot.backtest.metrics import block_bootstrap, excess_returns

    e = excess_returns(res.nav, res.benchmark_nav.reindex(res.nav.index))
    ci = block_bootstrap(e, n_boot=400, seed=0, level=level).loc["annual_excess"]
    itab = {k: v for s in sections for k, v in s.tables.items()}["index factor tests"]
    assert len(itab) == 4
    return bool(ci["lo"] < 0 < ci["hi"]), float(itab["ic_t_nw"].abs().max())


@pytest.mark.slow
def test_null_market_has_no_excess(null_bundles):
    """Look-ahead check (SPEC §1.4) on three signal=0 markets: the strategy's annual-excess CI holds 0 and the
    index factor's IC is not significant (Newey–West |t| < 3) on every seed. The excess is taken over the equal
    weight of the tradable universe, whose expected excess is 0 on a null market; against the shipped CSI 300 TR
    benchmark it is not (a different basket: seed 1 measured −14.8 % a year, CI excluding 0, with IC |t| < 0.5).
    What this can detect is shown by
    ``test_null_test_detects_a_planted_leak``: the same tiny model (1 epoch, hidden 4) fed windows that reach
    the label period fails both checks (measured: IC |t| 25.8, excess CI above 0). Its power against subtler
    leaks (a few days of overlap) is not measured. Three seeds, one family: each seed's CI is taken at
    1 − 0.05/3 (Bonferroni), so that a null strategy fails with probability ≤ 5 %, not ≈ 14 % (with the seed-000
    MMR default, ~2 indices held, seed 2 measured −10.4 % a year, 95 % CI [−18.9 %, −1.4 %], 98.3 % CI
    [−20.5 %, +1.5 %]; the strategy also pays costs its benchmark does not)."""
    for i, b in enumerate(null_bundles):
        ci_holds_zero, t = _null_verdict(*agru.run(b, tiny(benchmark=NULL_BENCH)), level=1 - 0.05 / len(null_bundles))
        assert ci_holds_zero and t < 3, (i, ci_holds_zero, t)


@pytest.mark.slow
def test_null_test_detects_a_planted_leak(null_bundle, monkeypatch):
    """Power of the null test: plant a look-ahead leak in the model inputs (each window ends ``horizon`` days
    later, i.e. it contains the label period) and the same tiny model on the same null market fails it."""
    from etfrot.model.dataset import WindowDataset

    honest = WindowDataset.windows

    def leaky(self, date, stock):
        return honest(self, np.minimum(np.asarray(date, np.int64) + self.horizon, len(self.dates) - 1), stock)

    monkeypatch.setattr(WindowDataset, "windows", leaky)
    ci_holds_zero, t = _null_verdict(*agru.run(null_bundle, tiny(benchmark=NULL_BENCH)))
    assert not ci_holds_zero and t > 3, (ci_holds_zero, t)


def test_index_kind_holds_indices_directly(small_bundle, tmp_path):
    """universe.kind index: weights on industry indices themselves (no ETF), top 10 % by the index factor."""
    p = tmp_path / "s.parquet"
    _oracle_scores(small_bundle).to_parquet(p)
    cfg = tiny(stock_model={"scores_path": str(p), "evaluate": None},
               universe={"kind": "index", "categories": ["industry_theme"]},
               selection={"method": "top_quantile", "quantile": 0.1})
    res, sections = agru.run(small_bundle, cfg)
    info = small_bundle.info("index")
    t = res.targets
    held = t.columns[t.to_numpy().any(axis=0)]
    assert len(held) and set(info.loc[held, "category"]) == {"industry_theme"}
    n_ind = int((info["category"] == "industry_theme").sum())
    k = (t > 1e-9).sum(axis=1)
    assert k.max() <= max(1, int(np.ceil(0.1 * n_ind)))
    hold = {k: v for s in sections for k, v in s.tables.items()}["holdings"]
    assert "etf" not in hold.columns and set(hold["index"]) <= set(held)


def test_mmr_default_drops_are_reported_per_date(small_bundle, tmp_path):
    """Seed 000 default: holdings = the top-10 % candidates less MMR's drops. Per date, held + dropped =
    candidates, the weights hold exactly `held` indices, and the holdings table repeats the date's drops;
    the earlier default (mmr30: top-10 %-many picks from the top 30 %) drops nothing."""
    p = tmp_path / "s.parquet"
    _oracle_scores(small_bundle).to_parquet(p)
    cfg = tiny(stock_model={"scores_path": str(p), "evaluate": None})
    res, sections = agru.run(small_bundle, cfg)
    tables = {k: v for s in sections for k, v in s.tables.items()}
    t = tables["MMR per date"]
    assert (t["held"] + t["dropped"] == t["candidates"]).all() and t["dropped"].sum() > 0
    held = (res.targets > 1e-9).sum(axis=1)
    common = held.index.intersection(t.index)
    assert len(common) > 20 and (held.loc[common] == t.loc[common, "held"]).all()
    hold = tables["holdings"]
    assert (hold["mmr_dropped"].to_numpy() == t.loc[hold.index, "dropped"].to_numpy()).all()
    assert any("MMR selection per rebalance date" in s.title for s in sections)
    cfg30 = tiny(stock_model={"scores_path": str(p), "evaluate": None}, mmr={"candidates": 0.3, "max_corr_quantile": None})
    _, sec30 = agru.run(small_bundle, cfg30)
    t30 = {k: v for s in sec30 for k, v in s.tables.items()}["MMR per date"]
    assert (t30["dropped"] == 0).all() and (t30["candidates"] > t30["held"]).any()


def test_low_overlap_pairs_are_counted_and_shrunk_is_wired(small_bundle, tmp_path):
    """min_overlap = window = 500 days: on the first dates the indices lack 500 common days, so pairs are
    unknown; the MMR table counts them (the same under either rule) and "shrunk" runs with index categories."""
    p = tmp_path / "s.parquet"
    _oracle_scores(small_bundle).to_parquet(p)
    sel = {"method": "mmr", "quantile": 0.3, "lam": 0.7, "window": 500, "min_overlap": 500}
    tabs = []
    for rule in (0.0, "shrunk"):
        cfg = tiny(stock_model={"scores_path": str(p), "evaluate": None}, selection=sel,
                   mmr={"low_overlap": rule, "max_corr_quantile": None})
        _, sections = agru.run(small_bundle, cfg)
        tabs.append({k: v for s in sections for k, v in s.tables.items()}["MMR per date"])
    assert (tabs[0]["low_overlap_pairs"] > 0).any() and (tabs[0]["low_overlap_pairs"] == 0).any()
    pd.testing.assert_series_equal(tabs[0]["low_overlap_pairs"], tabs[1]["low_overlap_pairs"])
