"""tushare parse layer on recorded responses (tests/recorded/tushare, tushare's own layout and units):
each parser gives exact bundle rows. Values are tushare/BaoStock bars of the real data converted to
tushare's units (vol in lots, amount in thousand CNY); the ST name periods of 000408 and its
2021-05-12 row are constructed to exercise the ST limit rule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etfrot.data.schema import validate_table
from etfrot.data.sources import tushare as ts

REC = Path(__file__).parent / "recorded" / "tushare"


def rec(name: str) -> pd.DataFrame:
    return pd.read_csv(REC / name, dtype={"trade_date": str, "cal_date": str, "month": str, "start_date": str,
                                          "end_date": str, "list_date": str, "delist_date": str})


def test_fund_daily_units_order_and_dividend_factor():
    out = ts.parse_fund_daily(rec("fund_daily_510300.SH.csv"))
    assert list(out["date"].dt.strftime("%Y-%m-%d")) == ["2022-01-17", "2022-01-18", "2022-01-19", "2022-01-20", "2022-01-21"]
    assert (out["code"] == "510300.SH").all()
    np.testing.assert_allclose(out["volume"], [498349057, 624167062, 522439260, 541278488, 781436980], rtol=1e-9)
    np.testing.assert_allclose(out["amount"], [2407274463, 3038466592, 2501399275, 2608626685, 3739337873], rtol=1e-9)
    np.testing.assert_allclose(out["close"], [4.835, 4.881, 4.780, 4.818, 4.784])
    # ex-dividend on 2022-01-19: pre_close 4.806 < previous close 4.881
    f = 4.881 / 4.806
    np.testing.assert_allclose(out["adj_factor"], [1, 1, f, f, f], rtol=1e-12)
    assert out["aum"].isna().all()
    # the adjusted return on the ex-day equals close / pre_close − 1
    adj = out["close"] * out["adj_factor"]
    assert adj.iloc[2] / adj.iloc[1] - 1 == pytest.approx(4.780 / 4.806 - 1, rel=1e-12)
    validate_table("etf_bars", ts.parse_fund_daily(rec("fund_daily_510300.SH.csv")).pipe(_coerce, "etf_bars"))


def _coerce(df, name):
    from etfrot.data.schema import coerce_table

    return coerce_table(name, df)


def test_derived_factor_matches_tushare_fund_adj():
    ours = ts.parse_fund_daily(rec("fund_daily_510300.SH.csv")).set_index("date")["adj_factor"]
    theirs = ts.parse_fund_adj(rec("fund_adj_510300.SH.csv")).set_index("date")["adj_factor"]
    # fund_adj is rounded to 3 decimals: the ratios agree to that precision
    np.testing.assert_allclose(ours / ours.iloc[0], theirs / theirs.iloc[0], atol=1e-3)


def test_trade_cal_keeps_open_days():
    cal = ts.parse_trade_cal(rec("trade_cal_SSE.csv"))
    assert list(cal["date"].dt.strftime("%Y%m%d")) == ["20220117", "20220118", "20220119", "20220120", "20220121"]


def test_index_daily_alias_and_units():
    out = ts.parse_index_daily(rec("index_daily_399300.SZ.csv"))
    assert list(out["code"]) == ["000300.SH", "000300.SH"]  # 399300.SZ is CSI 300
    assert list(out["date"].dt.strftime("%Y-%m-%d")) == ["2022-12-29", "2022-12-30"]
    np.testing.assert_allclose(out["volume"], [7939481500, 7877327200], rtol=1e-12)
    np.testing.assert_allclose(out["amount"], [149011372437, 148295049381], rtol=1e-12)
    np.testing.assert_allclose(out["close"], [3856.7007, 3871.6338])


def test_index_weight_percent_to_fraction_per_snapshot():
    w = ts.parse_index_weight(rec("index_weight_399300.SZ.csv"))
    assert set(w["index_code"]) == {"000300.SH"}
    s = w.groupby("date")["weight"].sum()
    np.testing.assert_allclose(s, 1.0)
    last = w[w["date"] == "2022-12-30"].set_index("stock_code")["weight"]
    np.testing.assert_allclose(last[["600519.SH", "300750.SZ", "601318.SH"]], np.array([6.0281, 3.1745, 2.7974]) / 12.0)
    nov = w[w["date"] == "2022-11-30"].set_index("stock_code")["weight"]
    np.testing.assert_allclose(nov[["600519.SH", "000001.SZ"]], [5.5 / 6.5, 1 / 6.5])


def test_daily_limit_up_and_units():
    out = ts.parse_daily(rec("daily_000001.SZ.csv"))
    assert list(out["date"].dt.strftime("%Y-%m-%d")) == ["2013-01-11", "2013-01-14", "2013-01-15"]
    # 2013-01-14: round(15.54 × 1.1, 2) = 17.09 = close → at the limit
    assert list(out["limit_up"]) == [False, True, False]
    assert not out["limit_down"].any() and not out["is_st"].any() and not out["is_suspended"].any()
    np.testing.assert_allclose(out["volume"], [25126855, 93989590, 98406443], rtol=1e-9)
    np.testing.assert_allclose(out["adj_factor"], 1.0)


def test_st_periods_switch_the_limit_rule():
    names = ts.parse_namechange(rec("namechange_000408.SZ.csv"))
    out = ts.parse_daily(rec("daily_000408.SZ.csv"), names=names)
    got = out.set_index(out["date"].dt.strftime("%Y-%m-%d"))
    assert list(got["is_st"]) == [False, True, True, False]  # 2016-09-14 before ST, 2021-05-12 after
    # ST on 2021-05-10: limit 5 % → round(13.46 × 1.05, 2) = 14.13 = close
    assert bool(got.loc["2021-05-10", "limit_up"])
    # 2021-05-12 no longer ST: the 10 % limit is 15.54, close 14.84 is not at it
    assert not bool(got.loc["2021-05-12", "limit_up"])


def test_moneyflow_hsgt_to_daily_macro_series():
    m = ts.parse_moneyflow_hsgt(rec("moneyflow_hsgt.csv"))
    north = m[m["series"] == "north_money"].set_index("period")["value"]
    assert north[pd.Timestamp("2022-12-30")] == pytest.approx(93.11e6)
    assert north[pd.Timestamp("2022-12-29")] == pytest.approx(-1109.87e6)
    assert (m["release_date"] == m["period"]).all()
    assert set(m["series"]) == {"north_money", "south_money", "hgt", "sgt", "ggt_ss", "ggt_sz"}


def test_moneyflow_main_inflow_and_large_orders():
    f = ts.parse_moneyflow(rec("moneyflow_600519.SH.csv"))
    r = f.iloc[0]
    assert r["code"] == "600519.SH"
    assert r["main_net_inflow"] == pytest.approx((36230.90 + 16910.25 - 41390.66 - 17600.12) * 1e4)
    assert r["large_order_net_volume"] == pytest.approx((2100 + 980 - 2400 - 1020) * 100)
    assert r["net_buy_amount"] == pytest.approx(-3623.50e4)


def test_sf_month_levels_and_yoy_only_after_2018():
    m = ts.parse_sf_month(rec("sf_month.csv"))
    stock = m[m["series"] == "tsf_stock"].set_index("period")["value"]
    assert stock[pd.Timestamp("2018-12-01")] == pytest.approx(200.75e12)
    yoy = m[m["series"] == "tsf_yoy"].set_index("period")
    assert list(yoy.index.strftime("%Y-%m")) == ["2018-01", "2018-12"]  # 2017 YoY is not valid from levels
    assert yoy.loc["2018-12-01", "value"] == pytest.approx((200.75 / 174.64 - 1) * 100)
    assert yoy.loc["2018-12-01", "release_date"] == pd.Timestamp("2019-01-15")


def test_fund_basic_and_benchmark_mapping():
    lst = ts.parse_fund_basic(rec("fund_basic_E.csv"))
    assert list(lst["code"]) == ["510300.SH", "511990.SH", "512880.SH"]
    r = lst.set_index("code").loc["510300.SH"]
    assert r["fee_rate"] == pytest.approx(0.005) and r["list_date"] == pd.Timestamp("2012-05-28")
    idx = ts.parse_index_basic(rec("index_basic_CSI.csv"))
    mapped = ts.map_benchmark_to_index(lst["benchmark"], idx)
    assert list(mapped.fillna("none")) == ["000300.SH", "none", "399975.SZ"]


def test_missing_column_names_the_column():
    from etfrot.errors import SourceError

    with pytest.raises(SourceError, match="pre_close"):
        ts.parse_fund_daily(rec("fund_daily_510300.SH.csv").drop(columns="pre_close"))
