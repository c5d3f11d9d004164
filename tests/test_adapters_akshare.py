"""AKShare adapter through the real ``akshare`` library: every akshare function ``etfrot data fetch
--source akshare`` calls runs unchanged, its HTTP stubbed with ``responses`` serving each upstream's
own wire format (tests/_wire_akshare.py: Sina's encoded date list decoded by akshare's JS via
py_mini_racer, Eastmoney kline / clist / fund-flow JSON, SW research JSON, CSIndex JSON and its .xls
weight file), then our fetch and parse layers and the bundle. Offline; skipped where akshare,
responses or xlwt is missing, an error under ETFROT_ADAPTER_TESTS=1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _adapter_libs import need

need("akshare")
responses = need("responses")
need("xlwt")

import _wire_akshare as wire

from etfrot.data.sources import fetch_source

pytestmark = pytest.mark.adapters

# 2022-01-07 taken out (a holiday in the test calendar), the Spring Festival week is not in Sina's list
DAYS = pd.bdate_range("2022-01-04", "2022-01-28").delete([3]).append(pd.bdate_range("2022-02-07", "2022-02-10"))
KINDS = ["calendar", "etf_list", "etf_bars", "index_bars", "sw_bars", "tr_index", "index_weights", "stock_bars",
         "stock_flows"]


@pytest.fixture
def web():
    w = wire.FakeWeb(DAYS)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        w.install(rsps)
        yield w


def _fetch(out, end, **kw):
    return fetch_source("akshare", out, kinds=kw.pop("kinds", KINDS), etfs=["510300.SH"], stocks=["600519.SH"],
                        start="2022-01-04", end=end, progress=False, sleep=lambda s: None, retries=0,
                        etf_index_map={"510300.SH": "000300.SH"}, **kw)


def test_sina_payload_decodes_to_the_dates_through_akshare(web):
    import akshare as ak

    cal = ak.tool_trade_date_hist_sina()
    got = pd.DatetimeIndex(pd.to_datetime(cal["trade_date"]))
    assert list(got[got >= DAYS[0]]) == list(DAYS)  # + the 1992-05-04 akshare appends itself


def test_fetch_through_akshare_builds_a_valid_bundle(tmp_path, web):
    summary, b = _fetch(tmp_path / "b", "2022-02-10")
    assert not summary.failed, summary.failed
    b.validate()
    assert list(b.table("calendar")["date"]) == list(DAYS)  # clipped to the bars: 1992-05-04 is not in it
    t = np.arange(len(DAYS))
    eb = b.table("etf_bars").sort_values("date").reset_index(drop=True)
    raw = np.round(4.0 + 0.01 * t, 3)
    np.testing.assert_allclose(eb["close"], raw)
    np.testing.assert_allclose(eb["volume"], (5_000_000 + 1000 * t) * 100)  # lots → shares
    hfq = np.round(raw + np.where(DAYS >= pd.Timestamp("2022-01-18"), 0.1, 0.0) + 1.0, 3)
    np.testing.assert_allclose(eb["adj_factor"], hfq / raw)  # hfq close / raw close
    ib = b.table("index_bars").set_index(["code", "date"]).sort_index()
    np.testing.assert_allclose(ib.loc["000905.SH", "close"], 6000.0 + 10 * t)
    np.testing.assert_allclose(ib.loc["000905.SH", "volume"], (90_000_000 + t) * 100)
    np.testing.assert_allclose(ib.loc["801780.SI", "volume"], (16.0 + t) * 1e8)  # SW: 1e8 shares
    np.testing.assert_allclose(ib.loc["801780.SI", "amount"], (105.0 + t) * 1e8)
    np.testing.assert_allclose(ib.loc["H00300.CSI", "amount"], (130.0 + t) * 1e8)  # CSIndex: 1e8 CNY
    np.testing.assert_allclose(ib.loc["H00300.CSI", "volume"], (400.0 + t) * 1e6)  # 1e4 lots
    assert len(ib.loc["801010.SI"]) == len(DAYS)  # every SW L1 code asked for by its own code
    val = b.table("valuation").set_index(["code", "date"]).sort_index()
    np.testing.assert_allclose(val.loc["H00300.CSI", "pe_ttm"], 12.5 + 0.1 * t)
    w = b.table("index_weights").set_index("stock_code")["weight"].sort_index()
    assert list(w.index) == ["300750.SZ", "600519.SH", "601318.SH"]  # the exchange column gives the suffix
    np.testing.assert_allclose(w, [0.25, 0.5, 0.25])
    sb = b.table("stock_bars").sort_values("date").reset_index(drop=True)
    k = DAYS.get_loc(pd.Timestamp("2022-01-18"))
    prev = 2000.0 + 5 * (k - 1)
    np.testing.assert_allclose(sb["adj_factor"] / sb["adj_factor"][0], np.where(t >= k, prev / (prev - 20.0), 1.0),
                               rtol=1e-12)  # pre_close = 收盘 − 涨跌额
    np.testing.assert_allclose(sb["volume"], (25_000 + t) * 100)
    fl = b.table("flows").sort_values("date")
    np.testing.assert_allclose(fl["main_net_inflow"], 1.0e8 * (t - 5))
    assert b.info("etf").loc["510300.SH", "tracked_index"] == "000300.SH"


def test_second_fetch_asks_akshare_only_for_the_new_days(tmp_path, web):
    kinds = ["calendar", "etf_list", "etf_bars", "index_bars"]
    _fetch(tmp_path / "b", "2022-01-20", kinds=kinds)
    n = len(web.requests)
    _, b = _fetch(tmp_path / "b", "2022-02-10", kinds=kinds)
    etf = [q for p, q in web.requests[n:] if p.endswith("/kline/get") and q["secid"] == "1.510300"]
    assert sorted((q["fqt"], q["beg"], q["end"]) for q in etf) == [("0", "20220121", "20220210"),
                                                                   ("2", "20220121", "20220210")]
    b.validate()
    assert b.table("etf_bars")["date"].is_unique and len(b.table("etf_bars")) == len(DAYS)
