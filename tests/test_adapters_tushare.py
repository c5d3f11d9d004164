"""tushare adapter through the real ``tushare`` library: ``tushare.pro_api`` → ``DataApi.query`` →
HTTP POST, stubbed with ``responses`` serving tushare's own JSON wire format (tests/_wire_tushare.py),
→ our fetch layer → parse layer → bundle. Offline; skipped (with the install command) where tushare or
responses is missing, an error under ETFROT_ADAPTER_TESTS=1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _adapter_libs import need

need("tushare")
responses = need("responses")

import _wire_tushare as wire

from etfrot.data.sources import fetch_source

pytestmark = pytest.mark.adapters

KINDS = ["calendar", "etf_list", "index_list", "etf_bars", "index_bars", "index_weights", "northbound"]


@pytest.fixture
def service(monkeypatch):
    monkeypatch.setenv("TUSHARE_TOKEN", wire.TOKEN)
    svc = wire.FakeService(wire.tables())
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        svc.install(rsps)
        yield svc


def test_fetch_through_tushare_builds_a_valid_bundle(tmp_path, service):
    summary, b = fetch_source("tushare", tmp_path / "b", kinds=KINDS, etfs=["510300.SH"], start="2022-01-04",
                              end="2022-01-28", progress=False, sleep=lambda s: None)
    assert not summary.failed, summary.failed
    b.validate()
    days = wire.trading_days()
    assert list(b.table("calendar")["date"]) == list(days)  # is_open == 1 only, oldest first
    eb = b.table("etf_bars").sort_values("date").reset_index(drop=True)
    assert list(eb["date"]) == list(days) and set(eb["code"]) == {"510300.SH"}
    t = np.arange(len(days))
    np.testing.assert_allclose(eb["close"], np.round(4.0 + 0.01 * t, 3))
    np.testing.assert_allclose(eb["volume"], (5_000_000.0 + 1000 * t) * 100)  # lots → shares
    np.testing.assert_allclose(eb["amount"], (2_500_000.0 + 500 * t) * 1000)  # thousand CNY → CNY
    # the 0.100 distribution on 2022-01-18: the factor steps by close_{t-1} / pre_close_t there, and only there
    k = days.get_loc(pd.Timestamp("2022-01-18"))
    step = eb["close"][k - 1] / round(eb["close"][k - 1] - 0.1, 3)
    np.testing.assert_allclose(eb["adj_factor"] / eb["adj_factor"][0], np.where(t >= k, step, 1.0), rtol=1e-12)
    # the ETF's tracked index from fund_basic's benchmark text matched to index_basic; 399300.SZ served as 000300.SH
    assert b.info("etf").loc["510300.SH", "tracked_index"] == "000300.SH"
    ib = b.table("index_bars")
    assert set(ib["code"]) == {"000300.SH"} and len(ib) == len(days)
    w = b.table("index_weights")
    np.testing.assert_allclose(w.set_index("stock_code")["weight"].sort_index(), [0.25, 0.5, 0.25])  # 300750 3 %, 600519 6 %, 601318 3 % renormalised
    north = b.table("macro").query("series == 'north_money'")
    np.testing.assert_allclose(north["value"].to_numpy(), (500.0 + t) * 1e6)  # million CNY → CNY
    # what went over the wire: the library's api names, our params (tushare's CSI 300 code)
    apis = {a for a, _ in service.requests}
    assert {"trade_cal", "fund_basic", "index_basic", "fund_daily", "index_daily", "index_weight", "moneyflow_hsgt"} <= apis
    assert ("index_daily", {"ts_code": "399300.SZ", "start_date": "20220104", "end_date": "20220128"}) in [
        (a, {k: v for k, v in p.items() if k != "ts_type_name"}) for a, p in service.requests]


def test_second_fetch_asks_tushare_only_for_the_new_days(tmp_path, service):
    kw = {"kinds": ["calendar", "etf_list", "index_list", "etf_bars", "index_bars"], "etfs": ["510300.SH"],
              "start": "2022-01-04", "progress": False, "sleep": lambda s: None}
    fetch_source("tushare", tmp_path / "b", end="2022-01-20", **kw)
    n = len(service.requests)
    _, b = fetch_source("tushare", tmp_path / "b", end="2022-01-28", **kw)
    later = [(a, p) for a, p in service.requests[n:] if a == "fund_daily"]
    assert [(p["start_date"], p["end_date"]) for _, p in later] == [("20220121", "20220128")]
    b.validate()
    assert b.table("etf_bars")["date"].is_unique and len(b.table("etf_bars")) == len(wire.trading_days())


def test_rejected_token_is_a_failed_task_and_never_written(tmp_path, monkeypatch, service):
    service.token = "the-service-wants-another-one"
    monkeypatch.setenv("TUSHARE_TOKEN", wire.TOKEN)
    summary, _ = fetch_source("tushare", tmp_path / "b", kinds=["calendar"], start="2022-01-04", end="2022-01-28",
                              retries=0, progress=False, sleep=lambda s: None, build=False)
    assert [k for k, *_ in summary.failed] == ["calendar"]
    assert wire.BAD_TOKEN_MSG in summary.failed[0][2]  # the library raised the service's message
    files = [p.read_bytes().decode("utf-8", "replace") for p in (tmp_path / "b").rglob("*") if p.is_file()]
    assert files and all(wire.TOKEN not in f for f in files)


def test_cli_data_fetch_through_tushare(tmp_path, service):
    from typer.testing import CliRunner

    from etfrot.cli import app
    from etfrot.data import Bundle

    out = tmp_path / "cli"
    res = CliRunner().invoke(app, ["data", "fetch", "--source", "tushare", "--out", str(out), "--kinds",
                                   ",".join(KINDS), "--etfs", "510300.SH", "--start", "2022-01-04", "--end",
                                   "2022-01-28", "--per-minute", "60000", "--retries", "0"])
    assert res.exit_code == 0, res.output
    assert "0 failed" in res.output and wire.TOKEN not in res.output
    b = Bundle.open(out)
    b.validate()
    assert len(b.table("etf_bars")) == len(wire.trading_days()) and b.source == "fetch:tushare"
