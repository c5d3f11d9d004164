"""AKShare parse layer on recorded responses (tests/recorded/akshare, AKShare's Chinese column names
and units): exact bundle rows. Bars are real (Eastmoney / SW / CSIndex values of the shared data in
AKShare's layout); the hfq ETF frame adds the cumulative distributions as Eastmoney does (additively)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etfrot.data.schema import coerce_table, validate_table
from etfrot.data.sources import akshare as ak

REC = Path(__file__).parent / "recorded" / "akshare"


def rec(name: str) -> pd.DataFrame:
    return pd.read_csv(REC / name, dtype={"代码": str, "股票代码": str, "指数代码": str, "成分券代码": str})


def test_fund_etf_hist_em_lots_to_shares_and_hfq_factor():
    out = ak.parse_fund_etf_hist_em(rec("fund_etf_hist_em_510300.csv"), "510300", rec("fund_etf_hist_em_510300_hfq.csv"))
    assert list(out["code"].unique()) == ["510300.SH"]
    np.testing.assert_allclose(out["volume"], [498349100, 624167100, 522439300, 541278500])  # 成交量 lots × 100
    np.testing.assert_allclose(out["amount"], [2407274464.0, 3038466592.0, 2501399280.0, 2608626688.0])
    # adj_factor = hfq close / raw close (Eastmoney's additive adjustment makes it vary between events)
    np.testing.assert_allclose(out["adj_factor"], [5.551 / 4.835, 5.597 / 4.881, 5.571 / 4.780, 5.609 / 4.818])
    assert out["aum"].isna().all()
    validate_table("etf_bars", coerce_table("etf_bars", out))


def test_fund_etf_hist_em_without_hfq_has_unit_factor():
    out = ak.parse_fund_etf_hist_em(rec("fund_etf_hist_em_510300.csv"), "510300.SH")
    assert (out["adj_factor"] == 1.0).all() and len(out) == 4


def test_stock_zh_index_daily_em():
    out = ak.parse_stock_zh_index_daily_em(rec("stock_zh_index_daily_em_sh000905.csv"), "sh000905")
    assert set(out["code"]) == {"000905.SH"}
    np.testing.assert_allclose(out["volume"], [9009889800, 7951079400, 7534503200])
    np.testing.assert_allclose(out["close"], [5862.1, 5857.4, 5864.47])
    np.testing.assert_allclose(out["amount"], [102679233203.2, 94429698666.4, 86117939625.6])


def test_index_hist_sw_units_1e8():
    out = ak.parse_index_hist_sw(rec("index_hist_sw_801780.csv"))
    assert list(out["code"]) == ["801780.SI", "801780.SI"]
    np.testing.assert_allclose(out["volume"], [16.02506932e8, 19.11332483e8])
    np.testing.assert_allclose(out["amount"], [105.16963345e8, 119.81930091e8])
    np.testing.assert_allclose(out["close"], [3139.41, 3158.22])


def test_csindex_history_and_pe():
    t = ak.parse_stock_zh_index_hist_csindex(rec("stock_zh_index_hist_csindex_H30184.csv"))
    b, v = t["index_bars"], t["valuation"]
    assert list(b["code"]) == ["H30184.CSI", "H30184.CSI"]
    np.testing.assert_allclose(b["close"], [5155.06, 5112.79])
    np.testing.assert_allclose(b["amount"], [136.21e8, 130.01e8])  # 成交金额 in 1e8 CNY
    np.testing.assert_allclose(b["volume"], [412.53e6, 401.87e6])  # 成交量 in 1e4 lots
    np.testing.assert_allclose(v["pe_ttm"], [41.45, 41.13])


def test_cons_weights_exchange_suffix_and_renormalisation():
    w = ak.parse_index_stock_cons_weight_csindex(rec("index_stock_cons_weight_csindex_000300.csv"))
    assert list(w["stock_code"]) == ["300750.SZ", "600519.SH", "601318.SH"]
    assert set(w["index_code"]) == {"000300.SH"}
    np.testing.assert_allclose(w["weight"], np.array([3.175, 6.028, 2.797]) / 12.0)


def test_stock_zh_a_hist_pre_close_from_change():
    out = ak.parse_stock_zh_a_hist(rec("stock_zh_a_hist_600519.csv"))
    assert set(out["code"]) == {"600519.SH"}
    # 2022-06-30 ex-dividend: pre_close = 2045.00 − 36.67 = 2008.33 < 2030.00
    f = 2030.00 / 2008.33
    np.testing.assert_allclose(out["adj_factor"], [1, 1, f, f], rtol=1e-9)
    np.testing.assert_allclose(out["volume"], [2524600, 3036000, 3898200, 2159600])
    assert not out[["is_st", "is_suspended", "limit_up", "limit_down"]].any().any()
    validate_table("stock_bars", coerce_table("stock_bars", out))


def test_fund_flow_main_inflow():
    f = ak.parse_stock_individual_fund_flow(rec("stock_individual_fund_flow_600519.csv"), "600519")
    assert list(f["code"]) == ["600519.SH", "600519.SH"]
    np.testing.assert_allclose(f["main_net_inflow"], [156203504.0, -35262208.0])
    assert f["net_buy_amount"].isna().all()


def test_etf_lists_and_calendar():
    a = ak.parse_fund_etf_spot_em(rec("fund_etf_spot_em.csv"))
    b = ak.parse_fund_etf_category_sina(rec("fund_etf_category_sina.csv"))
    assert list(a["code"]) == ["510300.SH", "159915.SZ"] == list(b["code"])
    cal = ak.parse_trade_dates(rec("tool_trade_date_hist_sina.csv"))
    assert list(cal["date"].dt.strftime("%Y-%m-%d")) == ["2022-12-28", "2022-12-29", "2022-12-30", "2023-01-03"]


def test_units_are_explicit():
    from etfrot.errors import SourceError

    with pytest.raises(SourceError, match="unknown unit"):
        ak.parse_stock_zh_index_daily_em(rec("stock_zh_index_daily_em_sh000905.csv"), "sh000905", volume_unit="hands")
    shares = ak.parse_stock_zh_index_daily_em(rec("stock_zh_index_daily_em_sh000905.csv"), "sh000905", volume_unit="share")
    np.testing.assert_allclose(shares["volume"], [90098898, 79510794, 75345032])
