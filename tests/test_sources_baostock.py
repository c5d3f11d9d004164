"""BaoStock parse layer on recorded responses (tests/recorded/baostock: every field text, '' for
missing, as ResultData.get_data() returns them). Rows are BaoStock bars and reports of the real data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etfrot.data.schema import coerce_table, validate_table
from etfrot.data.sources import baostock as bs

REC = Path(__file__).parent / "recorded" / "baostock"


def rec(name: str) -> pd.DataFrame:
    return pd.read_csv(REC / name, dtype=str, keep_default_na=False)  # text, '' for missing, like baostock


def test_suspension_flags_and_preclose_anomaly_ignored():
    out = bs.parse_k_data(rec("query_history_k_data_plus_sh.601607.csv"))
    assert list(out["is_suspended"]) == [True, True, True, False, False]
    # 2010-03-05 (suspended) carries preclose 4.50: not a trading reference, so no factor step
    np.testing.assert_allclose(out["adj_factor"], 1.0)
    # the first traded day after the suspension closes at round(14.73 × 1.1, 2) = 16.20: limit up
    assert list(out["limit_up"]) == [False, False, False, True, False]
    np.testing.assert_allclose(out["volume"], [0, 0, 0, 93775802, 81245465])
    validate_table("stock_bars", coerce_table("stock_bars", out))


def test_st_limit_and_missing_volume():
    out = bs.parse_k_data(rec("query_history_k_data_plus_sz.000408.csv"))
    assert list(out["is_st"]) == [True, True]
    assert list(out["limit_up"]) == [True, False]  # ST ±5 %: round(13.46 × 1.05, 2) = 14.13; next day suspended
    assert list(out["is_suspended"]) == [False, True]
    assert out["volume"].iloc[1] == 0 and out["amount"].iloc[1] == 0  # '' → 0 on the suspension day


def test_ex_dividend_factor():
    out = bs.parse_k_data(rec("query_history_k_data_plus_sh.600519.csv"))
    f = 2030.0 / 2008.33
    np.testing.assert_allclose(out["adj_factor"], [1, f, f], rtol=1e-12)
    adj = out["close"] * out["adj_factor"]
    assert adj.iloc[1] / adj.iloc[0] - 1 == pytest.approx(2045.0 / 2008.33 - 1, rel=1e-12)


def test_listing_days_have_no_limit():
    df = rec("query_history_k_data_plus_sh.688981.csv")
    # STAR listing: the first five days have no price limit (+202 % on day one)
    listed = bs.parse_k_data(df, list_dates={"688981.SH": pd.Timestamp("2020-07-16")})
    assert not listed["limit_up"].any()
    unknown = bs.parse_k_data(df)  # listing day unknown → the 20 % rule flags the jump
    assert bool(unknown["limit_up"].iloc[0])


def test_index_k_data_and_calendar():
    out = bs.parse_index_k_data(rec("query_history_k_data_plus_sh.000300.csv"))
    assert list(out["code"]) == ["000300.SH", "000300.SH"]
    np.testing.assert_allclose(out["volume"], [7939481500, 7877327200])
    np.testing.assert_allclose(out["close"], [3856.7007, 3871.6338])
    cal = bs.parse_trade_dates(rec("query_trade_dates.csv"))
    assert list(cal["date"].dt.strftime("%Y-%m-%d")) == ["2022-12-29", "2022-12-30", "2023-01-03"]


def test_fundamentals_derivations_and_announce_dates():
    f = bs.parse_profit_growth(rec("query_profit_data_sh.600519.csv"), rec("query_growth_data_sh.600519.csv"))
    f = f.set_index(f["report_period"].dt.strftime("%Y-%m-%d"))
    assert list(f.index) == ["2013-03-31", "2013-06-30", "2013-09-30", "2013-12-31", "2014-03-31", "2014-06-30"]
    assert f.loc["2013-03-31", "roe_q"] == pytest.approx(0.099958)
    assert f.loc["2013-06-30", "roe_q"] == pytest.approx(0.210442 - 0.099958)
    assert np.isnan(f.loc["2013-03-31", "roe_ttm"])  # needs 2012's reports
    assert f.loc["2013-12-31", "roe_ttm"] == pytest.approx(0.394328)  # Q4: the annual ROE
    assert f.loc["2014-03-31", "roe_ttm"] == pytest.approx(0.083217 + 0.394328 - 0.099958)
    assert f.loc["2014-06-30", "roe_ttm"] == pytest.approx(0.164503 + 0.394328 - 0.210442)
    assert f.loc["2014-06-30", "eps"] == pytest.approx((7664538017.59 - 3952933461.0) / 1141998000.0)
    assert f.loc["2014-06-30", "np_yoy"] == pytest.approx(0.005724)
    assert f.loc["2014-06-30", "eps_ttm"] == pytest.approx(13.238682)
    # announced with the report (its inputs were all announced earlier)
    assert f.loc["2014-03-31", "announce_date"] == pd.Timestamp("2014-04-25")
    assert f.loc["2013-06-30", "announce_date"] == pd.Timestamp("2013-08-31")
    validate_table("fundamentals", coerce_table("fundamentals", f.reset_index(drop=True)))


def test_derived_value_waits_for_its_latest_input():
    p = rec("query_profit_data_sh.600519.csv")
    p.loc[p["statDate"] == "2013-12-31", "pubDate"] = "2014-05-10"  # the annual report comes after Q1's
    f = bs.parse_profit_growth(p, rec("query_growth_data_sh.600519.csv")).set_index("report_period")
    assert f.loc["2014-03-31", "announce_date"] == pd.Timestamp("2014-05-10")


def test_stock_basic_and_members():
    info = bs.parse_stock_basic(rec("query_stock_basic.csv"))
    assert list(info["code"]) == ["000024.SZ", "600519.SH", "688981.SH"]  # the index row (type 2) is left out
    assert info.set_index("code").loc["000024.SZ", "delist_date"] == pd.Timestamp("2015-12-30")
    m = bs.parse_index_stocks(rec("query_hs300_stocks.csv"), "000300.SH")
    assert list(m["stock_code"]) == ["000001.SZ", "600519.SH"]
    assert (m["start_date"] == pd.Timestamp("2022-12-12")).all() and m["end_date"].isna().all()
