"""The four-quadrant regime classifier (seed 002 §3, SPEC §6): known answers and point-in-time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError, ValidationError
from etfrot.portfolio.regime import QUADRANTS, known_direction, regime_series, regime_spells, regime_table

PERIODS = pd.date_range("2020-09-01", "2021-11-01", freq="MS")  # 15 months
E_VALUES = [10, 11, 12, 13, 12, 11, 10, 11, 12, 13, 14, 13, 12, 11, 10.0]
C_VALUES = [5, 5, 6, 7, 8, 9, 8, 7, 6, 5, 6, 7, 8, 9, 9.0]


def _series(values, release_day, periods=PERIODS):
    """Monthly series released on ``release_day`` of the month after its period."""
    periods = pd.DatetimeIndex(periods)
    return pd.DataFrame({"period": periods, "value": np.asarray(values, float),
                         "release_date": periods + pd.offsets.MonthBegin(1) + pd.Timedelta(days=release_day - 1)})


EARN = _series(E_VALUES, 15)  # released on the 15th of the next month
CRED = _series(C_VALUES, 10)  # released on the 10th

MONTH_ENDS = pd.date_range("2021-01-31", "2021-12-31", freq="ME")
# by hand: at month end M the latest released period is M−1, compared with M−4
EXPECTED = ["E+C+", "E+C+", "E-C+", "E-C+", "E-C-", "E+C-", "E+C-", "E+C-", "E+C+", "E-C+", "E-C+", "E-C+"]


def test_quadrant_per_month_matches_hand_computation():
    r = regime_series(EARN, CRED, MONTH_ENDS)
    assert list(r) == EXPECTED
    assert set(r) <= set(QUADRANTS)


def test_release_day_is_the_first_day_a_value_counts():
    # 2021-03-14: earnings for Feb not yet out (15th) → Jan (12) vs Oct (11): up; credit Feb (9) vs Nov (6): up
    # 2021-03-15: Feb is out → Feb (11) vs Nov (12): down
    r = regime_series(EARN, CRED, pd.DatetimeIndex(["2021-03-14", "2021-03-15"]))
    assert list(r) == ["E+C+", "E-C+"]
    t = regime_table(EARN, CRED, pd.DatetimeIndex(["2021-03-14", "2021-03-15"]))
    assert list(t["earnings_period"]) == [pd.Timestamp("2021-01-01"), pd.Timestamp("2021-02-01")]
    assert list(t["earnings_lag_period"]) == [pd.Timestamp("2020-10-01"), pd.Timestamp("2020-11-01")]


def test_unknown_before_enough_history_is_released():
    # 2021-01-12: earnings latest = Nov 2020, its 3-months-earlier value (Aug 2020) is not in the data
    r = regime_series(EARN, CRED, pd.DatetimeIndex(["2020-10-01", "2021-01-12"]))
    assert r.isna().all()


def test_late_release_is_not_used_before_it_happens():
    late = EARN.copy()
    late.loc[late["period"] == "2021-05-01", "release_date"] = pd.Timestamp("2021-07-20")
    r = regime_series(late, CRED, MONTH_ENDS)
    # at 2021-06-30 May is not out: April (11) vs January (12) → earnings down
    assert r[pd.Timestamp("2021-06-30")] == "E-C-"
    assert r[pd.Timestamp("2021-07-31")] == EXPECTED[6]  # released by then
    others = [d for d in MONTH_ENDS if d != pd.Timestamp("2021-06-30")]
    assert list(r[others]) == [EXPECTED[i] for i, d in enumerate(MONTH_ENDS) if d != pd.Timestamp("2021-06-30")]


def test_changing_unreleased_values_never_changes_the_past_regime():
    rng = np.random.default_rng(3)
    dates = pd.date_range("2020-10-01", "2022-01-31", freq="D")
    base = regime_series(EARN, CRED, dates)
    for t in dates[::7]:
        e, c = EARN.copy(), CRED.copy()
        e.loc[e["release_date"] > t, "value"] = rng.normal(size=int((e["release_date"] > t).sum())) * 100
        c.loc[c["release_date"] > t, "value"] = rng.normal(size=int((c["release_date"] > t).sum())) * 100
        assert regime_series(e, c, pd.DatetimeIndex([t])).iloc[0] == base[t] or (
            pd.isna(base[t]) and pd.isna(regime_series(e, c, pd.DatetimeIndex([t])).iloc[0]))


def _reference_direction(rows: pd.DataFrame, t, lag=3, max_gap=2, max_stale=4):
    """Loop reference of the documented definition (one date at a time)."""
    rows = rows.dropna(subset=["value"])
    known = rows[rows["release_date"] <= t]
    if known.empty:
        return np.nan
    ps = known["period"].max()
    if (t.year * 12 + t.month) - (ps.year * 12 + ps.month) > max_stale:
        return np.nan
    target = ps - pd.DateOffset(months=lag)
    cand = rows[rows["period"] <= target]
    if cand.empty:
        return np.nan
    q = cand.loc[cand["period"].idxmax()]
    if q["release_date"] > t or (target.year * 12 + target.month) - (q["period"].year * 12 + q["period"].month) > max_gap:
        return np.nan
    x = known.loc[known["period"] == ps, "value"].iloc[0]
    return 1.0 if x - q["value"] > 0 else -1.0


def test_vectorised_direction_equals_loop_reference_with_random_release_lags():
    rng = np.random.default_rng(0)
    periods = pd.date_range("2015-01-01", periods=60, freq="MS")
    rows = pd.DataFrame({"period": periods, "value": rng.normal(size=60).cumsum(),
                         "release_date": periods + pd.to_timedelta(rng.integers(20, 75, size=60), "D")})
    rows.loc[rows.index % 12 == 0, "value"] = np.nan  # missing Januaries (merged Jan–Feb releases)
    dates = pd.date_range("2015-02-01", "2020-09-30", freq="9D")  # past the series' end: staleness too
    got = known_direction(rows, dates)["direction"]
    want = [_reference_direction(rows, t) for t in dates]
    np.testing.assert_array_equal(got.to_numpy(), np.array(want, float))
    assert got.notna().sum() > 100  # the comparison is not vacuous


def test_missing_month_uses_the_month_before_within_max_gap():
    e = EARN.copy()
    e.loc[e["period"] == "2021-01-01", "value"] = np.nan
    t = pd.DatetimeIndex(["2021-05-31"])  # latest Apr 2021; 3 months earlier = Jan 2021 (missing) → Dec 2020
    d = known_direction(e, t)
    assert d["lag_period"].iloc[0] == pd.Timestamp("2020-12-01")
    assert d["change"].iloc[0] == 11 - 13
    assert np.isnan(known_direction(e, t, max_gap_months=0)["direction"].iloc[0])


def test_a_series_that_stopped_is_unknown_after_max_stale_months():
    """EARN's last month is Nov 2021 (released 15 Dec): known to the end of Mar 2022 (4 months on), not after."""
    t = pd.DatetimeIndex(["2022-03-31", "2022-04-01"])
    d = known_direction(EARN, t)["direction"]
    assert np.isfinite(d.iloc[0]) and np.isnan(d.iloc[1])
    assert np.isfinite(known_direction(EARN, t, max_stale_months=5)["direction"]).all()
    assert np.isfinite(known_direction(EARN, t, max_stale_months=None)["direction"]).all()


def test_lag_months_is_a_parameter():
    t = pd.DatetimeIndex(["2021-08-31"])  # latest Jul 2021 = 14
    assert known_direction(EARN, t, lag_months=1)["change"].iloc[0] == 14 - 13
    assert known_direction(EARN, t, lag_months=6)["change"].iloc[0] == 14 - 12


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValidationError, match="release_date"):
        known_direction(EARN.drop(columns="release_date"), MONTH_ENDS)
    with pytest.raises(ValidationError, match="sharing a month"):
        known_direction(pd.concat([EARN, EARN.iloc[:1]]), MONTH_ENDS)
    with pytest.raises(ConfigError, match="lag_months"):
        known_direction(EARN, MONTH_ENDS, lag_months=0)
    with pytest.raises(ValidationError, match="DataFrame"):
        known_direction(EARN.set_index("period")["value"], MONTH_ENDS)


def test_regime_spells_runs():
    s = regime_spells(regime_series(EARN, CRED, MONTH_ENDS))
    assert list(s["regime"]) == ["E+C+", "E-C+", "E-C-", "E+C-", "E+C+", "E-C+"]
    assert list(s["periods"]) == [2, 2, 1, 3, 1, 3]
    assert s["periods"].sum() == len(MONTH_ENDS)
