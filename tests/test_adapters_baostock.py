"""BaoStock adapter through the real ``baostock`` library. BaoStock speaks a raw TCP protocol, so the
stub sits at the lowest level there is: the ``socket`` module inside ``baostock.util.socketutil``
is replaced by a fake socket that answers in BaoStock's own message format (tests/_wire_baostock.py:
headers, \\x01-separated bodies, crc32, zlib-compressed k-lines, paging). ``baostock.login``, every
``query_*``, ``ResultData.next`` paging and ``logout`` run unchanged, then our fetch and parse layers
and (with tushare's ETFs) a bundle. Offline; skipped where baostock is missing, an error under
ETFROT_ADAPTER_TESTS=1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _adapter_libs import need

bs = need("baostock")

import _wire_baostock as wire

from etfrot.data.schema import coerce_table, validate_table
from etfrot.data.sources import baostock as bsm
from etfrot.data.sources import fetch_source
from etfrot.data.sources._fetch import RawStore

pytestmark = pytest.mark.adapters
REC = Path(__file__).parent / "recorded" / "baostock"


def _install(monkeypatch, srv, page=None):
    import baostock.common.contants as cons
    import baostock.util.socketutil as su
    from baostock.common import context

    monkeypatch.setattr(su, "socket", wire.socket_module(srv))
    monkeypatch.setattr(context, "default_socket", None, raising=False)
    if page:
        monkeypatch.setattr(cons, "BAOSTOCK_PER_PAGE_COUNT", page)
    return srv


@pytest.fixture(name="server")
def _server(monkeypatch):
    days = wire.trading_days()
    prof = pd.read_csv(REC / "query_profit_data_sh.600519.csv", dtype=str, keep_default_na=False)
    grow = pd.read_csv(REC / "query_growth_data_sh.600519.csv", dtype=str, keep_default_na=False)
    return _install(monkeypatch, wire.Server(wire.k_lines(days), days, prof, grow), page=7)


def test_fetch_through_baostock_pages_and_parses(tmp_path, server):
    s = bsm.fetch(tmp_path / "b", kinds=["calendar", "stock_list", "stock_bars", "index_bars", "members"],
                  stocks=["600519.SH", "000001.SZ"], start="2022-01-04", end="2022-01-28", progress=False,
                  sleep=lambda x: None)
    assert not s.failed, s.failed
    methods = [m for m, _ in server.requests]
    assert methods[0] == "login" and methods[-1] == "logout" and methods.count("login") == 1
    # 19 trading days at 7 rows a page: the library asked for pages 1, 2, 3 of each k-line query
    pages = [f[2] for m, f in server.requests if m == "query_history_k_data_plus" and f[4] == "sh.600519"]
    assert pages == ["1", "2", "3"]
    t = bsm.assemble(RawStore(tmp_path / "b" / "raw", "baostock"))
    days = wire.trading_days()
    assert list(t["calendar"]["date"]) == list(days)
    sb = coerce_table("stock_bars", t["stock_bars"].sort_values(["date", "code"], ignore_index=True))
    validate_table("stock_bars", sb)
    m = sb[sb["code"] == "600519.SH"].sort_values("date").reset_index(drop=True)
    assert len(m) == len(days) and list(m["date"]) == list(days)
    k = days.get_loc(pd.Timestamp("2022-01-18"))
    prev = 2000.0 + 5.0 * (k - 1)
    f = m["adj_factor"] / m["adj_factor"][0]
    np.testing.assert_allclose(f[:k], 1.0)
    np.testing.assert_allclose(f[k:], prev / (prev - 20.0), rtol=1e-12)  # the dividend, and the suspension adds nothing
    susp = days.get_loc(pd.Timestamp("2022-01-24"))
    assert list(m.index[m["is_suspended"]]) == [susp] and m["volume"][susp] == 0
    assert sb.loc[sb["code"] == "000001.SZ", "is_st"].all() and not m["is_st"].any()
    np.testing.assert_allclose(m["volume"][:3], [3_000_000, 3_001_000, 3_002_000])  # shares, as served
    ib = t["index_bars"]
    assert set(ib["code"]) == {"000300.SH"} and len(ib) == len(days)
    np.testing.assert_allclose(ib.sort_values("date")["close"], 4000.0 + 10.0 * np.arange(len(days)))
    mem = t["index_members"]
    assert set(mem.loc[mem["index_code"] == "000300.SH", "stock_code"]) == {"600519.SH", "000001.SZ"}
    lst = t["stock_list"].set_index("code")
    assert "000300.SH" not in lst.index  # type 2 (an index) is not a stock
    assert lst.loc["600519.SH", "list_date"] == pd.Timestamp("2001-08-27")


def test_fundamentals_through_baostock_equal_the_recorded_frames(tmp_path, server):
    s = bsm.fetch(tmp_path / "b", kinds=["fundamentals"], stocks=["600519.SH"], start="2013-01-01", end="2013-12-31",
                  progress=False, sleep=lambda x: None)
    assert not s.failed, s.failed
    asked = [(m, f[5], f[6]) for m, f in server.requests if m == "query_profit_data"]
    assert asked == [("query_profit_data", "2013", str(q)) for q in (1, 2, 3, 4)]  # one call per quarter
    t = bsm.assemble(RawStore(tmp_path / "b" / "raw", "baostock"))
    got = t["fundamentals"]
    prof = pd.read_csv(REC / "query_profit_data_sh.600519.csv", dtype=str, keep_default_na=False)
    grow = pd.read_csv(REC / "query_growth_data_sh.600519.csv", dtype=str, keep_default_na=False)
    in13 = lambda d: d[d["statDate"].str.startswith("2013")]
    want = bsm.parse_profit_growth(in13(prof), in13(grow))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True))
    q2 = got.set_index("report_period").loc[pd.Timestamp("2013-06-30")]
    np.testing.assert_allclose(q2["eps"], (7620914791.31 - 3773363242.99) / 1038180000.0)  # single-quarter EPS
    validate_table("fundamentals", coerce_table("fundamentals", got))


def test_baostock_stocks_and_tushare_etfs_make_one_valid_bundle(tmp_path, monkeypatch, server):
    need("tushare")
    responses = need("responses")
    import _wire_tushare as tw

    monkeypatch.setenv("TUSHARE_TOKEN", tw.TOKEN)
    out = tmp_path / "b"
    bsm.fetch(out, kinds=["calendar", "stock_list", "stock_bars"], stocks=["600519.SH", "000001.SZ"],
              start="2022-01-04", end="2022-01-28", progress=False, sleep=lambda x: None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        tw.FakeService(tw.tables()).install(rsps)
        summary, b = fetch_source("tushare", out, kinds=["calendar", "etf_list", "index_list", "etf_bars", "index_bars"],
                                  etfs=["510300.SH"], start="2022-01-04", end="2022-01-28", progress=False,
                                  sleep=lambda s: None)
    assert not summary.failed
    b.validate()
    assert b.source == "fetch:tushare+baostock"
    assert set(b.table("stock_bars")["code"]) == {"600519.SH", "000001.SZ"}
    assert set(b.table("etf_bars")["code"]) == {"510300.SH"}
    assert b.table("stock_info").set_index("code").loc["600519.SH", "name"] == "贵州茅台"
