"""Tear-sheet tables (backtest.analytics) on hand cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import analytics as an

D = pd.bdate_range("2021-01-01", periods=10)


def test_drawdown_periods_finds_two_known_spells():
    # peak 1.0 (d0) → trough 0.8 (d2) → back to 1.0 on d4; peak 1.2 (d6) → trough 0.9 (d8), not recovered
    nav = pd.Series([1.0, 0.9, 0.8, 0.95, 1.0, 1.1, 1.2, 1.0, 0.9, 1.1], index=D)
    t = an.drawdown_periods(nav, top=5)
    assert len(t) == 2
    first, second = t.iloc[0], t.iloc[1]  # deepest first: −25 % then −20 %
    assert first["depth"] == pytest.approx(0.9 / 1.2 - 1) and first["start"] == D[6] and first["trough"] == D[8]
    assert pd.isna(first["recovery"]) and first["days"] == 3
    assert second["depth"] == pytest.approx(-0.2) and second["start"] == D[0] and second["trough"] == D[2]
    assert second["recovery"] == D[4] and second["days"] == 4
    assert len(an.drawdown_periods(nav, top=1)) == 1


def test_monthly_returns_compound_from_month_end_to_month_end():
    idx = pd.DatetimeIndex(["2021-01-04", "2021-01-29", "2021-02-26", "2021-03-31", "2022-01-31"])
    nav = pd.Series([1.0, 1.1, 0.99, 1.089, 1.2], index=idx)
    g = an.monthly_returns(nav)
    assert g.loc[2021, "Jan"] == pytest.approx(0.1) and g.loc[2021, "Feb"] == pytest.approx(-0.1)
    assert g.loc[2021, "Mar"] == pytest.approx(0.1) and np.isnan(g.loc[2021, "Apr"])
    assert g.loc[2021, "total"] == pytest.approx(0.089) and g.loc[2022, "Jan"] == pytest.approx(1.2 / 1.089 - 1)
    bench = pd.Series(1.0, index=idx)
    pd.testing.assert_frame_equal(an.monthly_excess(nav * 2, bench * 2), g)


def test_rolling_excess_on_a_constant_relative_drift():
    idx = pd.bdate_range("2020-01-01", periods=300)
    bench = pd.Series(np.cumprod(np.r_[1.0, 1 + 0.01 * np.sin(np.arange(299))]), index=idx)
    nav = bench * 1.001 ** np.arange(300)  # relative NAV grows 0.1 % a day
    r = an.rolling_excess(nav, bench)
    assert r["excess 6m"].isna().sum() == 126 and r["excess 12m"].isna().sum() == 252
    assert r["excess 6m"].iloc[-1] == pytest.approx(1.001 ** 126 - 1)
    no_b = an.rolling_excess(nav)
    assert list(no_b.columns) == ["return 6m", "Sharpe 6m", "return 12m", "Sharpe 12m"]


def test_activity_by_year_sums_turnover_and_counts_holdings():
    reb = pd.DataFrame({"exec_date": pd.to_datetime(["2020-03-02", "2020-09-01", "2021-03-01"]),
                        "turnover": [0.5, 0.25, 1.0], "n_held": [4, 6, 5], "cost": [0.001, 0.0005, 0.001]})
    y = an.activity_by_year(reb)
    assert y.loc[2020, "turnover"] == pytest.approx(0.75) and y.loc[2020, "mean holdings"] == 5
    assert y.loc[2020, "executions"] == 2 and y.loc[2021, "max holdings"] == 5


def test_industry_exposure_through_tracked_indices_with_unclassified():
    dates = pd.DatetimeIndex(["2021-01-29", "2021-02-26"], name="date")
    w = pd.DataFrame({"E1": [0.5, 0.5], "E2": [0.3, 0.0], "E3": [0.2, 0.5]}, index=dates)
    code_index = pd.Series({"E1": "I1", "E2": "I2", "E3": None})  # E3: no tracked index
    iw = pd.DataFrame({"date": pd.to_datetime(["2021-01-01"] * 4), "index_code": ["I1", "I1", "I2", "I2"],
                       "stock_code": ["s1", "s2", "s3", "s4"], "weight": [0.6, 0.4, 0.5, 0.5]})
    ind = pd.DataFrame({"s1": ["银行", "银行"], "s2": ["煤炭", "煤炭"], "s3": ["银行", "银行"], "s4": [None, None]},
                       index=dates, dtype=object)
    pairs = pd.DataFrame({"date": dates.repeat(2), "index": ["I1", "I2"] * 2})
    sh = an.index_industry_shares(iw, ind, pairs)
    exp = an.industry_exposure(w, code_index, sh)
    assert exp.loc[dates[0], "银行"] == pytest.approx(0.5 * 0.6 + 0.3 * 0.5)
    assert exp.loc[dates[0], "煤炭"] == pytest.approx(0.5 * 0.4)
    assert exp.loc[dates[0], an.UNCLASSIFIED] == pytest.approx(0.2 + 0.3 * 0.5)  # E3 + s4's weight in I2
    np.testing.assert_allclose(exp.sum(axis=1), w.sum(axis=1))
    # one snapshot only: in force for 31 days (etfrot.data.pit.snapshot_expiry), so by 26 Feb nothing maps
    assert exp.loc[dates[1], an.UNCLASSIFIED] == pytest.approx(1.0) and exp.loc[dates[1], "银行"] == 0
