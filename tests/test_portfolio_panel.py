"""Weights panels over rebalance dates: known picks, MMR equals a from-scratch reference, point-in-time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError
from etfrot.portfolio.panel import select_weights, weights_panel
from etfrot.portfolio.select import mmr_select


def _market(T=900, N=30, seed=3):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2016-01-01", periods=T, name="date")
    codes = [f"I{i:02d}" for i in range(N)]
    groups = np.arange(N) % 5  # five blocks of highly correlated indices
    f = rng.standard_normal((T, 5))
    r = 0.01 * (f[:, groups] * 1.5 + rng.standard_normal((T, N)))
    returns = pd.DataFrame(r, index=idx, columns=codes)
    scores = pd.DataFrame(rng.standard_normal((T, N)), index=idx, columns=codes)
    return returns, scores


def test_top_n_equal_and_alpha_panels():
    returns, scores = _market()
    dates = rebalance_dates(returns.index, "monthly")[12:]
    w = select_weights(scores, dates, method="top_n", n=5)
    assert w.index.equals(dates) and np.allclose(w.sum(axis=1), 1.0)
    for d in dates[:5]:
        assert set(w.columns[w.loc[d] > 0]) == set(scores.loc[d].nlargest(5).index)
    wa = select_weights(scores, dates, method="top_quantile", q=0.1, weighting="alpha", cap=0.5)
    assert ((wa > 0).sum(axis=1) <= 3).all() and (wa.max(axis=1) <= 0.5 + 1e-12).all()
    assert (wa.sum(axis=1) <= 1 + 1e-12).all()


def test_universe_and_exclusions_are_respected():
    returns, scores = _market()
    dates = rebalance_dates(returns.index, "monthly")[12:15]
    uni = pd.DataFrame(True, index=scores.index, columns=scores.columns)
    uni[["I00", "I01"]] = False
    exc = pd.DataFrame(False, index=scores.index, columns=scores.columns)
    exc["I02"] = True
    scores = scores.copy()
    scores[["I00", "I01", "I02"]] = 99.0  # best scores, but not eligible
    w = select_weights(scores, dates, method="top_n", n=4, universe=uni, exclude=exc)
    assert not set(w.columns) & {"I00", "I01", "I02"}


def test_mmr_panel_matches_from_scratch_and_diversifies():
    returns, scores = _market()
    dates = rebalance_dates(returns.index, "weekly")[60:]
    w = select_weights(scores, dates, method="mmr", n=5, lam=0.3, returns=returns, window=250, min_overlap=120)
    for d in dates[::17]:
        corr = returns.loc[:d].iloc[-250:].corr(min_periods=120)
        ref = mmr_select(scores.loc[d], corr, n=5, lam=0.3).selected
        assert set(w.columns[w.loc[d] > 0]) == set(ref)
    # with strong block correlation and low λ, the 5 picks come from 5 different blocks
    groups = {c: int(c[1:]) % 5 for c in returns.columns}
    for d in dates[::7]:
        held = w.columns[w.loc[d] > 0]
        assert len({groups[c] for c in held}) == 5
    w1 = select_weights(scores, dates, method="mmr", n=5, lam=1.0, returns=returns, window=250, min_overlap=120)
    wt = select_weights(scores, dates, method="top_n", n=5)
    pd.testing.assert_frame_equal(w1, wt)


def test_selection_is_point_in_time():
    returns, scores = _market()
    dates = rebalance_dates(returns.index, "weekly")[60:100]
    base = select_weights(scores, dates, method="mmr", n=4, returns=returns, window=250, min_overlap=120)
    cut = dates[20]
    r2, s2 = returns.copy(), scores.copy()
    r2.loc[r2.index > cut] = -r2.loc[r2.index > cut] * 3
    s2.loc[s2.index > cut] = -s2.loc[s2.index > cut]
    after = select_weights(s2, dates, method="mmr", n=4, returns=r2, window=250, min_overlap=120)
    pd.testing.assert_frame_equal(base.loc[:cut], after.loc[:cut].reindex(columns=base.columns, fill_value=0.0))
    assert not base.loc[dates[21]:].equals(after.loc[dates[21]:].reindex(columns=base.columns, fill_value=0.0))


def test_weights_panel_validates_rows():
    dates = pd.to_datetime(["2021-01-29", "2021-02-26"])
    w = weights_panel(lambda d: pd.Series({"a": 0.5, "b": 0.3}), dates)
    assert w.sum(axis=1).tolist() == pytest.approx([0.8, 0.8])
    with pytest.raises(ConfigError, match="invalid weights"):
        weights_panel(lambda d: pd.Series({"a": 0.7, "b": 0.6}), dates)
    with pytest.raises(ConfigError, match="needs the daily returns"):
        select_weights(pd.DataFrame(1.0, index=dates, columns=["a"]), method="mmr", n=1)


def test_mmr_panel_reports_drops_and_low_overlap_pairs_per_date():
    """A2 is a clone of A (corr 1 > max_corr 0.9: dropped); Y has no returns before row 250, so on the
    first date its 3 pairs are unknown (counted; filled with 0 it is held, with 1 it is dropped too)."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=300, name="date")
    r = pd.DataFrame(0.01 * rng.standard_normal((300, 4)), index=idx, columns=["A", "A2", "B", "Y"])
    r["A2"] = r["A"]
    r.iloc[:250, 3] = np.nan
    scores = pd.DataFrame([[4.0, 3.0, 2.0, 1.0]] * 300, index=idx, columns=r.columns)
    dates = idx[[200, 299]]
    kw = {"method": "mmr", "q": 1.0, "candidates": "all", "returns": r, "window": 100, "min_overlap": 50,
          "max_corr": 0.9, "return_mmr": True}
    cols = ["candidates", "held", "dropped", "low_overlap_pairs"]
    w, t = select_weights(scores, dates, lam=0.7, **kw)
    assert t.loc[dates[0], cols].tolist() == [4, 3, 1, 3]  # Y's 3 pairs unknown on the first date
    assert t.loc[dates[1], cols].tolist() == [4, 3, 1, 0]  # Y has 50 common days by then
    assert (t["max_corr"] == 0.9).all()
    assert list(w.columns[w.loc[dates[0]] > 0]) == ["A", "B", "Y"]
    w1, t1 = select_weights(scores, dates, lam=0.7, low_overlap=1.0, **kw)
    assert t1.loc[dates[0], cols].tolist() == [4, 2, 2, 3]
    assert list(w1.columns[w1.loc[dates[0]] > 0]) == ["A", "B"]
    # per-date quantile threshold: the 0.9-quantile of the 6 pairs on the last date lies halfway between
    # the clone pair's 1.0 and the largest other pair, so only A2 is dropped
    kw.pop("max_corr")
    _, tq = select_weights(scores, dates[1:], lam=0.7, max_corr_quantile=0.9, **kw)
    c = r.iloc[200:300].corr().to_numpy()
    others = np.sort(np.delete(c[np.triu_indices(4, 1)], 0))  # pair (A, A2) comes first
    assert tq["max_corr"].iloc[0] == pytest.approx((others[-1] + 1.0) / 2)
    assert tq[cols].iloc[0].tolist() == [4, 3, 1, 0]
    with pytest.raises(ConfigError, match="not both"):
        select_weights(scores, dates, max_corr=0.9, max_corr_quantile=0.9, **kw)
    with pytest.raises(ConfigError, match="return_mmr"):
        select_weights(scores, dates, method="top_n", n=2, return_mmr=True)
