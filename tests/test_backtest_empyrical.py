"""Our metrics against the field's library, empyrical-reloaded (test extra), on the same NAVs.

Where the definitions coincide (CAGR with 252 days a year, volatility with ddof = 1, Sharpe rf = 0, max
drawdown, Sortino with downside deviation over all days, the monthly table) they must agree to 1e-10.
Where ours differ by design — the information ratio and the excess are computed on the *relative NAV*
(strategy / benchmark, seed 000's 超额净值), not on the difference of returns — a hand case shows how.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import analytics as an
from etfrot.backtest import metrics as mt

ep = pytest.importorskip("empyrical", reason="empyrical-reloaded not installed (pip install -e '.[test]')")


@pytest.fixture(params=[0, 1, 2])
def nav(request):
    rng = np.random.default_rng(request.param)
    idx = pd.bdate_range("2018-01-02", periods=700)
    return pd.Series(np.cumprod(np.r_[1.0, 1 + rng.normal(0.0004, 0.013, 699)]), index=idx)


def test_coinciding_definitions_agree_to_1e10(nav):
    r = mt.returns(nav)
    assert mt.annual_return(nav) == pytest.approx(ep.annual_return(r), abs=1e-10)
    assert mt.annual_volatility(nav) == pytest.approx(ep.annual_volatility(r), abs=1e-10)
    assert mt.sharpe(nav) == pytest.approx(ep.sharpe_ratio(r, risk_free=0), abs=1e-10)
    assert mt.max_drawdown(nav) == pytest.approx(ep.max_drawdown(r), abs=1e-10)
    assert mt.sortino(nav) == pytest.approx(ep.sortino_ratio(r), abs=1e-10)
    assert mt.total_return(nav) == pytest.approx(ep.cum_returns_final(r), abs=1e-10)


def test_monthly_table_equals_empyrical_aggregate_returns(nav):
    ours = an.monthly_returns(nav)
    theirs = ep.aggregate_returns(mt.returns(nav), "monthly")
    flat = ours.drop(columns="total").set_axis(range(1, 13), axis=1).stack()
    flat.index.names = theirs.index.names = ["year", "month"]
    theirs = theirs.copy()
    theirs.index = pd.MultiIndex.from_tuples(theirs.index, names=["year", "month"])
    np.testing.assert_allclose(flat.reindex(theirs.index).to_numpy(), theirs.to_numpy(), rtol=0, atol=1e-10)
    yearly = ep.aggregate_returns(mt.returns(nav), "yearly")
    np.testing.assert_allclose(ours["total"].to_numpy(), yearly.to_numpy(), rtol=0, atol=1e-10)


def test_ir_and_excess_on_the_relative_nav_differ_from_return_differences():
    """Hand case: strategy +2 %/day, benchmark +1 %/day every day. Relative NAV's daily return is
    1.02 / 1.01 − 1 = 0.990 %, not 1 %; annual excess = (1.02/1.01)^252 − 1, not CAGR_s − CAGR_b.
    empyrical's ``excess_sharpe`` is mean(r_s − r_b) / std(r_s − r_b), neither annualised nor relative."""
    idx = pd.bdate_range("2020-01-01", periods=253)
    s = pd.Series(1.02 ** np.arange(253), index=idx)
    b = pd.Series(1.01 ** np.arange(253), index=idx)
    e = mt.excess_returns(s, b)
    assert e.to_numpy() == pytest.approx(1.02 / 1.01 - 1)
    assert mt.annual_excess(s, b) == pytest.approx((1.02 / 1.01) ** 252 - 1)
    diff = ep.annual_return(mt.returns(s)) - ep.annual_return(mt.returns(b))
    assert diff == pytest.approx(1.02 ** 252 - 1.01 ** 252) and abs(diff - mt.annual_excess(s, b)) > 1.0
    # with noise: our IR = mean(e)/std(e)·√252 on relative-NAV returns; empyrical's excess_sharpe is per day
    rng = np.random.default_rng(5)
    b2 = pd.Series(np.cumprod(np.r_[1.0, 1 + rng.normal(0, 0.02, 252)]), index=idx)
    s2 = b2 * np.cumprod(np.r_[1.0, 1 + rng.normal(0.001, 0.005, 252)])
    rs, rb = mt.returns(s2), mt.returns(b2)
    ours = mt.information_ratio(s2, b2)
    e2 = (1 + rs) / (1 + rb) - 1
    assert ours == pytest.approx(e2.mean() / e2.std(ddof=1) * np.sqrt(252), abs=1e-10)
    theirs = ep.excess_sharpe(rs, rb)
    assert ours != pytest.approx(theirs * np.sqrt(252), abs=1e-6)  # relative vs difference: not the same number
    assert ours == pytest.approx(theirs * np.sqrt(252), rel=0.1)    # …but close when excess is small
