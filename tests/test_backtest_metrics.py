"""Performance metrics against values worked by hand (formulas in etfrot.backtest.metrics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import metrics as M
from etfrot.errors import ValidationError


def nav_from(returns, start="2020-01-01") -> pd.Series:
    idx = pd.bdate_range(start, periods=len(returns) + 1, name="date")
    return pd.Series(np.concatenate([[1.0], np.cumprod(1 + np.asarray(returns, float))]), index=idx)


def test_returns_annualisation_and_drawdown_by_hand():
    nav = nav_from([0.01] * 252)
    assert M.total_return(nav) == pytest.approx(1.01 ** 252 - 1)
    assert M.annual_return(nav) == pytest.approx(1.01 ** 252 - 1)  # exactly one year of 252 returns
    nav2 = nav_from([0.01] * 126)
    assert M.annual_return(nav2) == pytest.approx(1.01 ** 252 - 1)  # half a year, compounded up
    dd = pd.Series([1.0, 2.0, 1.0, 3.0, 1.5], index=pd.bdate_range("2020-01-01", periods=5))
    assert M.max_drawdown(dd) == pytest.approx(-0.5)
    np.testing.assert_allclose(M.drawdown(dd).to_numpy(), [0, 0, -0.5, 0, -0.5])


def test_volatility_and_sharpe_by_hand():
    r = np.array([0.01, -0.01] * 50)
    nav = nav_from(r)
    sd = np.std(r, ddof=1)
    assert M.annual_volatility(nav) == pytest.approx(sd * np.sqrt(252))
    assert M.sharpe(nav) == pytest.approx(0.0, abs=1e-12)
    r2 = r + 0.001
    assert M.sharpe(nav_from(r2)) == pytest.approx(0.001 / sd * np.sqrt(252))
    assert M.sharpe(nav_from(r2), rf=0.252) == pytest.approx(0.0, abs=1e-12)  # rf/252 = 0.001 a day


def test_excess_metrics_on_a_constant_daily_excess():
    rb = np.random.default_rng(0).normal(0, 0.01, 504)
    bench = nav_from(rb)
    nav = nav_from((1 + rb) * 1.0002 - 1)  # relative NAV grows exactly 0.02 % a day
    assert M.annual_excess(nav, bench) == pytest.approx(1.0002 ** 252 - 1)
    assert M.tracking_error(nav, bench) == pytest.approx(0.0, abs=1e-12)
    assert M.excess_max_drawdown(nav, bench) == pytest.approx(0.0, abs=1e-12)
    np.testing.assert_allclose(M.excess_returns(nav, bench).to_numpy(), 0.0002, atol=1e-15)
    # IR: mean/std of daily excess × √252
    e = np.random.default_rng(1).normal(0.0003, 0.004, 504)
    nav3 = nav_from((1 + rb) * (1 + e) - 1)
    assert M.information_ratio(nav3, bench) == pytest.approx(e.mean() / e.std(ddof=1) * np.sqrt(252))
    assert M.tracking_error(nav3, bench) == pytest.approx(e.std(ddof=1) * np.sqrt(252))
    d = M.excess_returns(nav3, bench, kind="difference").to_numpy()
    np.testing.assert_allclose(d, (1 + rb) * (1 + e) - 1 - rb)


def test_win_rate_per_period_by_hand():
    idx = pd.bdate_range("2020-01-01", periods=7)
    nav = pd.Series([1, 1.1, 1.2, 1.1, 1.0, 1.05, 1.2], index=idx)
    bench = pd.Series([1, 1.0, 1.1, 1.2, 1.2, 1.1, 1.0], index=idx)
    ends = idx[[0, 2, 4, 6]]  # periods: 0→2 (+20 % vs +10 % win), 2→4 (−16.7 % vs +9 % loss), 4→6 (+20 % vs −16.7 % win)
    assert M.win_rate(nav, bench, ends) == pytest.approx(2 / 3)
    assert M.win_rate(nav, None, ends) == pytest.approx(2 / 3)  # positive periods
    np.testing.assert_allclose(M.period_returns(nav, ends).to_numpy(), [0.2, 1.0 / 1.2 - 1, 0.2])


def test_yearly_table_by_hand():
    idx = pd.DatetimeIndex(["2020-12-30", "2020-12-31", "2021-01-04", "2021-01-05"], name="date")
    nav = pd.Series([1.0, 1.1, 0.99, 1.21], index=idx)
    bench = pd.Series([1.0, 1.0, 1.0, 1.1], index=idx)
    t = M.yearly_table(nav, bench)
    assert list(t.index) == [2020, 2021]
    assert t.loc[2020, "return"] == pytest.approx(0.1)
    assert t.loc[2021, "return"] == pytest.approx(1.21 / 1.1 - 1)  # from the previous year's last close
    assert t.loc[2021, "benchmark"] == pytest.approx(0.1)
    assert t.loc[2021, "excess"] == pytest.approx((1.21 / 1.1) / 1.1 - 1)
    assert t.loc[2021, "max_drawdown"] == pytest.approx(0.99 / 1.1 - 1)  # measured from the year's start
    assert t.loc[2020, "max_drawdown"] == 0.0


def test_block_bootstrap_is_seeded_and_matches_iid_standard_error():
    e = np.random.default_rng(5).normal(0.0, 0.005, 2520)
    a = M.block_bootstrap(e, n_boot=800, block=20, seed=1)
    b = M.block_bootstrap(e, n_boot=800, block=20, seed=1)
    pd.testing.assert_frame_equal(a, b)
    # iid daily excess: SE of the annualised IR ≈ √(252 / n) = √0.1
    assert a.loc["information_ratio", "se"] == pytest.approx(np.sqrt(252 / 2520), rel=0.15)
    # SE of annual excess ≈ sd·√252/√years (delta method, small returns)
    assert a.loc["annual_excess", "se"] == pytest.approx(0.005 * np.sqrt(252) / np.sqrt(10), rel=0.15)
    lo, hi = a.loc["information_ratio", ["lo", "hi"]]
    assert lo < a.loc["information_ratio", "estimate"] < hi
    # a clearly positive excess gives an interval above zero
    c = M.block_bootstrap(e + 0.002, n_boot=500, block=20, seed=1)
    assert c.loc["annual_excess", "lo"] > 0 and c.loc["information_ratio", "lo"] > 0


def test_summary_and_bad_input():
    rb = np.random.default_rng(2).normal(0, 0.01, 300)
    bench = nav_from(rb)
    nav = nav_from(rb + 0.0005)
    s = M.summary(nav, bench, period_ends=nav.index[::5], n_boot=200)
    for k in ("annual_return", "annual_excess", "information_ratio", "annual_excess_ci_lo", "win_rate", "excess_max_drawdown"):
        assert k in s.index
    assert s["annual_excess_ci_lo"] < s["annual_excess"] < s["annual_excess_ci_hi"]
    with pytest.raises(ValidationError, match="non-positive"):
        M.annual_return(pd.Series([1.0, -1.0, 2.0]))
    with pytest.raises(ValidationError, match="at least 2"):
        M.annual_return(pd.Series([1.0]))


def test_annual_return_difference_is_seed001_excess():
    """Seed 001 table 6: annual return 19.70 %, benchmark 2.40 % ⇒ its "annual excess" 17.30 % (a difference);
    the relative-NAV annual excess of the same NAVs is 1.197 / 1.024 − 1 = 16.89 %."""
    idx = pd.bdate_range("2021-01-04", periods=253)
    t = np.arange(253) / 252
    nav, bench = pd.Series(1.197 ** t, index=idx), pd.Series(1.024 ** t, index=idx)
    assert M.annual_return_difference(nav, bench) == pytest.approx(0.173)
    assert M.annual_excess(nav, bench) == pytest.approx(1.197 / 1.024 - 1)
