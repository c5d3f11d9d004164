"""Quantile backtest: group NAVs by hand, ordered spreads, direction, metrics (SPEC §3; seed 001 table 5)."""

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.evaluation import assign_quantiles, factor_correlation, forward_returns, quantile_backtest


def _idx(n):
    return pd.bdate_range("2021-01-04", periods=n, name="date")


def test_assign_quantiles_equal_counts_and_gaps():
    v = np.array([[5.0, 1.0, 3.0, np.nan, 2.0, 4.0], [1.0, 2.0, np.nan, np.nan, np.nan, np.nan]])
    g = assign_quantiles(v, 5)
    np.testing.assert_array_equal(g[0], [5, 1, 3, 0, 2, 4])
    assert (g[1] == 0).all()  # fewer codes than groups: nobody is grouped
    np.testing.assert_array_equal(assign_quantiles(np.array([[4.0, 3, 2, 1]]), 2)[0], [2, 2, 1, 1])
    with pytest.raises(ConfigError):
        assign_quantiles(v, 1)


def test_group_navs_by_hand():
    idx = _idx(5)
    px = pd.DataFrame({"A": [10, 11, 12, 12, 12.0], "B": [10, 10, 10, 10, 10.0], "C": [10, 9, 8, 8, 10.0],
                       "D": [10, 10, 10, np.nan, 10.0]}, index=idx)
    fac = pd.DataFrame({"A": [4, 0, 1, 0, 0.0], "B": [3, 0, 4, 0, 0.0], "C": [1, 0, 3, 0, 0.0],
                        "D": [2, 0, 2, 0, 0.0]}, index=idx)
    q = quantile_backtest(fac, px, idx[[0, 2, 4]], quantiles=2)
    # period 1 (t0→t2): top {A, B}: (1.2 + 1.0)/2 = 1.1; bottom {C, D}: (0.8 + 1.0)/2 = 0.9
    assert q.nav.loc[idx[1], "Q2"] == pytest.approx((1.1 + 1.0) / 2)
    assert q.nav.loc[idx[2], "Q2"] == pytest.approx(1.1)
    assert q.nav.loc[idx[2], "Q1"] == pytest.approx(0.9)
    # period 2 (t2→t4): top {B, C}: (1 + 10/8)/2; bottom {A, D}: (1 + 1)/2 (D carried over its gap)
    assert q.nav.loc[idx[3], "Q2"] == pytest.approx(1.1)  # C flat on day 3
    assert q.nav.loc[idx[4], "Q2"] == pytest.approx(1.1 * (1 + 1.25) / 2)
    assert q.nav.loc[idx[4], "Q1"] == pytest.approx(0.9)
    assert q.nav.loc[idx[4], "universe"] == pytest.approx(1.0 * (1.2 + 1 + 0.8 + 1) / 4 * (1 + 1 + 1.25 + 1) / 4)
    np.testing.assert_allclose(q.period_returns["Q2"], [0.1, 0.125])
    r_top = q.nav["Q2"].pct_change().fillna(0)
    r_bot = q.nav["Q1"].pct_change().fillna(0)
    np.testing.assert_allclose(q.nav["long_short"], np.cumprod(1 + r_top - r_bot))
    # direction −1 swaps the groups
    qn = quantile_backtest(fac, px, idx[[0, 2, 4]], quantiles=2, direction=-1)
    np.testing.assert_allclose(qn.nav["Q2"], q.nav["Q1"])


def _market(T=800, N=50, seed=0, signal=1.0):
    rng = np.random.default_rng(seed)
    alpha = rng.normal(0, 0.002, N)
    r = signal * alpha + rng.normal(0, 0.02, (T, N))
    px = pd.DataFrame(10 * np.exp(np.cumsum(r, axis=0)), index=_idx(T), columns=[f"C{j}" for j in range(N)])
    return px, pd.DataFrame(np.tile(alpha, (T, 1)), index=px.index, columns=px.columns)


def test_spreads_are_ordered_for_an_informative_factor():
    px, alpha = _market()
    d = px.index[::5]
    q = quantile_backtest(alpha, px, d, quantiles=5)
    sp = q.spread().to_numpy()
    assert (np.diff(sp) > 0).all()
    assert q.nav["long_short"].iloc[-1] > 1.5
    m = q.metrics()
    assert m["excess_annual_return"] > 0 and m["information_ratio"] > 1 and m["win_rate"] > 0.5
    assert m["max_drawdown"] <= 0 and m["volatility"] > 0
    assert set(m) >= {"annual_return", "sharpe", "excess_max_drawdown", "total_return"}
    # with a perfect-foresight factor the period return of the top group is the top-fifth mean
    fwd = forward_returns(px, d)
    q2 = quantile_backtest(fwd.reindex(px.index), px, d, quantiles=5)
    top = fwd.where(fwd.rank(axis=1) > 40).mean(axis=1)
    np.testing.assert_allclose(q2.period_returns["Q5"], top.iloc[:-1], rtol=1e-12)


def test_universe_mask_limits_the_groups():
    px, alpha = _market(T=200, N=20)
    d = px.index[::10]
    mask = pd.DataFrame(True, index=d, columns=px.columns)
    mask.iloc[:, :10] = False
    q = quantile_backtest(alpha, px, d, quantiles=2, universe=mask)
    assert (q.groups.iloc[:, :10] == 0).all().all() and (q.groups.iloc[:, 10:] > 0).all().all()


def test_factor_correlation_matrix():
    px, alpha = _market(T=100, N=30)
    rng = np.random.default_rng(3)
    noise = pd.DataFrame(rng.normal(size=px.shape), index=px.index, columns=px.columns)
    c = factor_correlation({"a": alpha, "neg": -alpha, "sq": alpha * 3 + 1, "noise": noise}, px.index[::5])
    assert c.loc["a", "neg"] == pytest.approx(-1) and c.loc["a", "sq"] == pytest.approx(1)
    assert abs(c.loc["a", "noise"]) < 0.15
    np.testing.assert_allclose(c.to_numpy(), c.to_numpy().T)
    assert (np.diag(c) == 1).all()


def test_factor_test_starts_the_quantile_backtest_after_the_warm_up():
    from etfrot.evaluation import factor_test

    px, alpha = _market(T=300, N=20)
    f = alpha.copy()
    f.iloc[:100] = np.nan  # a 100-day warm-up (e.g. mom250)
    d = px.index[::10]
    r = factor_test(f, px, d, quantiles=5)
    assert r.quantiles.nav.index[0] == d[d >= px.index[100]][0]
    assert r.ic.iloc[:10].isna().all() and r.ic_stats["n"] == len(d) - 11


def test_a_factor_without_values_gets_no_quantile_backtest():
    from etfrot.errors import DataMissingError
    from etfrot.evaluation import factor_test

    px, alpha = _market(T=100, N=20)
    d = px.index[::10]
    empty = alpha * np.nan
    with pytest.raises(DataMissingError, match="no quantile groups"):
        quantile_backtest(empty, px, d, quantiles=5)
    r = factor_test(empty, px, d, quantiles=5)
    assert r.quantiles is None and np.isnan(r.table5_row()["annual_return"]) and r.ic_stats["n"] == 0
