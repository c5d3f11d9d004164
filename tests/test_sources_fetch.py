"""Fetch machinery (retries with back-off, rate limit, resumable incremental raw store, optional
libraries, token redaction) and offline end-to-end fetches with fake library modules that serve the
recorded responses. No network."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pandas as pd
import pytest

from etfrot.data.sources import fetch_source
from etfrot.data.sources._fetch import RateLimiter, RawStore, Task, call_with_retries, redact, require, run_tasks
from etfrot.errors import SourceError

REC = Path(__file__).parent / "recorded"
TOKEN = "tok-5ecret-9f3a7c21"


def test_rate_limiter_spaces_calls():
    now = [0.0]
    slept = []
    lim = RateLimiter(30, clock=lambda: now[0], sleep=lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    for _ in range(3):
        lim.wait()
        now[0] += 0.5  # each call takes 0.5 s
    assert slept == pytest.approx([1.5, 1.5])  # 30 per minute → 2 s apart


def test_retries_back_off_then_succeed():
    calls, slept = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError("reset by peer")
        return "ok"

    assert call_with_retries(flaky, what="x", retries=4, base_delay=1.0, sleep=slept.append) == "ok"
    assert len(calls) == 3 and len(slept) == 2
    assert 1.0 <= slept[0] <= 1.25 and 2.0 <= slept[1] <= 2.5  # base · 2^k plus ≤ 25 % jitter


def test_final_failure_is_a_source_error_without_secrets(monkeypatch):
    monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)

    def bad():
        raise RuntimeError(f"401 for https://api.example/?token={TOKEN}")

    with pytest.raises(SourceError) as e:
        call_with_retries(bad, what="tushare fund_daily", retries=1, base_delay=0, sleep=lambda s: None)
    assert TOKEN not in str(e.value) and "***" in str(e.value) and "after 2 tries" in str(e.value)
    assert redact(f"a {TOKEN} b") == "a *** b"


def _daily_source(log):
    """A fake dated endpoint: one row per calendar day in [start, end]."""
    def call(start, end):
        s = pd.Timestamp(start) if start is not None else pd.Timestamp("2022-01-01")
        log.append((s, pd.Timestamp(end)))
        d = pd.date_range(s, end, freq="D")
        return pd.DataFrame({"trade_date": d.strftime("%Y%m%d"), "close": range(len(d))})
    return call


def test_run_tasks_resumes_only_what_is_missing(tmp_path):
    store = RawStore(tmp_path / "raw", "fake")
    log, snap = [], []
    tasks = [Task("bars", "A", _daily_source(log), date_col="trade_date", date_format="%Y%m%d"),
             Task("list", "all", lambda s, e: (snap.append(1), pd.DataFrame({"code": ["A"]}))[1])]
    s1 = run_tasks(tasks, store, start="2022-01-01", end="2022-01-05", progress=False, sleep=lambda s: None)
    assert [k for k, *_ in s1.fetched] == ["bars", "list"] and len(store.read("bars", "A")) == 5
    s2 = run_tasks(tasks, store, start="2022-01-01", end="2022-01-08", progress=False, sleep=lambda s: None)
    assert log[-1] == (pd.Timestamp("2022-01-06"), pd.Timestamp("2022-01-08"))  # only the missing days
    assert s2.skipped == [("list", "all")] and len(snap) == 1  # a snapshot is fetched once
    got = store.read("bars", "A")
    assert list(got["trade_date"]) == [f"202201{d:02d}" for d in range(1, 9)]  # appended, no duplicates
    s3 = run_tasks(tasks, store, end="2022-01-08", progress=False, sleep=lambda s: None)
    assert ("bars", "A") in s3.skipped and len(log) == 2


def test_run_tasks_records_failures_and_goes_on(tmp_path):
    store = RawStore(tmp_path / "raw", "fake")

    def boom(s, e):
        raise TimeoutError("read timed out")

    tasks = [Task("bars", "BAD", boom, date_col="trade_date"), Task("bars", "OK", _daily_source([]), date_col="trade_date")]
    s = run_tasks(tasks, store, start="2022-01-01", end="2022-01-02", retries=2, base_delay=0, progress=False,
                  sleep=lambda x: None)
    assert [k for _, k, _ in s.failed] == ["BAD"] and "after 3 tries" in s.failed[0][2]
    assert store.read("bars", "OK") is not None and store.read("bars", "BAD") is None
    assert "FAILED" in (tmp_path / "raw" / "fake" / "fetch.log").read_text()


def test_missing_library_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "akshare", None)  # makes `import akshare` fail
    with pytest.raises(SourceError, match=r"pip install etfrot\[data\]"):
        require("akshare")
    with pytest.raises(SourceError, match=r"pip install etfrot\[data\]"):
        fetch_source("akshare", "/nonexistent/never-written", progress=False)


# ---------------------------------------------------------------------------------------------- fake libraries
def _rec(source: str, name: str) -> pd.DataFrame:
    return pd.read_csv(REC / source / name, dtype=str if source == "baostock" else None, keep_default_na=source != "baostock")


class FakeAk:
    """Serves tests/recorded/akshare like the akshare module would (filtered to the asked dates)."""

    def __init__(self):
        self.calls = []

    def tool_trade_date_hist_sina(self):
        self.calls.append("calendar")
        return pd.DataFrame({"trade_date": pd.to_datetime(["2022-01-14", "2022-01-17", "2022-01-18", "2022-01-19",
                                                           "2022-01-20", "2022-01-21"]).date})

    def fund_etf_spot_em(self):
        return _rec("akshare", "fund_etf_spot_em.csv").astype({"代码": str})

    def fund_etf_hist_em(self, symbol, period, start_date, end_date, adjust):
        self.calls.append(("etf", adjust, start_date, end_date))
        df = _rec("akshare", "fund_etf_hist_em_510300_hfq.csv" if adjust == "hfq" else "fund_etf_hist_em_510300.csv")
        d = pd.to_datetime(df["日期"])
        return df[(d >= pd.Timestamp(start_date)) & (d <= pd.Timestamp(end_date))]

    def stock_zh_index_daily_em(self, symbol, start_date, end_date):
        df = _rec("akshare", "stock_zh_index_daily_em_sh000905.csv")
        df["date"] = ["2022-01-18", "2022-01-19", "2022-01-20"]
        return df


def test_akshare_fetch_builds_a_valid_bundle_and_resumes(tmp_path):
    fake = FakeAk()
    kw = dict(kinds=["calendar", "etf_list", "etf_bars", "index_bars"], etfs=["510300.SH"], start="2022-01-17",
              progress=False, client=fake, sleep=lambda s: None, etf_index_map={"510300.SH": "000300.SH"})
    summary, b = fetch_source("akshare", tmp_path / "bk", end="2022-01-19", **kw)
    b.validate()
    eb = b.table("etf_bars")
    assert list(eb["date"].dt.strftime("%d")) == ["17", "18", "19"] and set(eb["code"]) == {"510300.SH"}
    assert b.info("etf").loc["510300.SH", "tracked_index"] == "000300.SH"
    assert "000300.SH" in set(b.table("index_info")["code"])  # the tracked index gets an info row
    # a later run asks only for the new days and appends them
    summary2, b2 = fetch_source("akshare", tmp_path / "bk", end="2022-01-20", **kw)
    assert ("etf", "", "20220120", "20220120") in fake.calls
    assert len(b2.table("etf_bars")) == 4 and b2.source == "fetch:akshare"


def test_assemble_says_what_is_missing(tmp_path):
    fake = FakeAk()
    with pytest.raises(SourceError, match="etf_bars|etf_info"):
        fetch_source("akshare", tmp_path / "b", kinds=["calendar", "index_bars"], progress=False, client=fake,
                     sleep=lambda s: None, start="2022-01-17", end="2022-01-20")
    assert (tmp_path / "b" / "raw" / "akshare" / "index_bars").is_dir()  # the downloads are kept


class FakePro:
    """A tushare pro client serving tests/recorded/tushare; its first fund_daily call fails with an
    error that quotes the token (as an HTTP client might)."""

    def __init__(self, token):
        self.token, self.failed = token, False

    def trade_cal(self, exchange, start_date, end_date):
        return _rec("tushare", "trade_cal_SSE.csv").astype({"cal_date": str})

    def fund_basic(self, market):
        return _rec("tushare", "fund_basic_E.csv")

    def index_basic(self, market):
        return _rec("tushare", "index_basic_CSI.csv") if market == "CSI" else pd.DataFrame()

    def fund_daily(self, ts_code, start_date, end_date):
        if not self.failed:
            self.failed = True
            raise ConnectionError(f"HTTP 500 calling http://api.tushare.pro?token={self.token}")
        df = _rec("tushare", "fund_daily_510300.SH.csv").astype({"trade_date": str})
        return df[(df["trade_date"] >= start_date) & (df["trade_date"] <= end_date)] if ts_code == "510300.SH" else df[:0]

    def index_daily(self, ts_code, start_date, end_date):
        df = _rec("tushare", "index_daily_399300.SZ.csv").astype({"trade_date": str})
        df["trade_date"] = ["20220121", "20220120"]
        return df


def test_tushare_token_never_reaches_files_or_logs(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TUSHARE_TOKEN", TOKEN)
    seen = {}

    def pro_api(token):
        seen["token"] = token
        return FakePro(token)

    monkeypatch.setitem(sys.modules, "tushare", types.SimpleNamespace(pro_api=pro_api))
    lines = []
    summary, b = fetch_source("tushare", tmp_path / "bt", kinds=["calendar", "etf_list", "index_list", "etf_bars",
                                                                 "index_bars"],
                              etfs=["510300.SH", "512880.SH"], start="2022-01-17", end="2022-01-21", progress=False,
                              sleep=lambda s: None, echo=lines.append)
    assert seen["token"] == TOKEN  # the library got it from the environment
    assert any("retry" in line and "***" in line for line in lines)  # the failure was logged, redacted
    b.validate()
    assert b.info("etf").loc["510300.SH", "tracked_index"] == "000300.SH"  # from the benchmark text
    # the CLI path too (its failure message goes to the console)
    from typer.testing import CliRunner

    from etfrot.cli import app

    res = CliRunner().invoke(app, ["data", "fetch", "--source", "tushare", "--out", str(tmp_path / "bt2"), "--kinds",
                                   "calendar,etf_list,index_list,etf_bars", "--etfs", "510300.SH", "--retries", "0",
                                   "--start", "2022-01-17", "--end", "2022-01-21"])
    assert res.exit_code == 2, res.output  # its only ETF download failed: no bundle, a clear message
    assert "failed" in res.output and "***" in res.output and "etf_bars" in res.output
    out = capsys.readouterr()
    texts = [res.output, out.out, out.err, "\n".join(lines)]
    texts += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    assert all(TOKEN not in t for t in texts)


def test_tushare_without_token_says_how_to_set_it(monkeypatch):
    monkeypatch.delenv("TUSHARE_TOKEN", raising=False)
    monkeypatch.setitem(sys.modules, "tushare", types.SimpleNamespace(pro_api=lambda t: None))
    from etfrot.data.sources.tushare import pro_client

    with pytest.raises(SourceError, match="TUSHARE_TOKEN"):
        pro_client()


class FakeBs:
    """The baostock module: login/logout and ResultData-like objects over tests/recorded/baostock."""

    class RS:
        def __init__(self, df):
            self.error_code, self.error_msg = "0", "success"
            self.fields = list(df.columns)
            self._rows = df.astype(str).values.tolist()
            self._i = -1

        def next(self):
            self._i += 1
            return self._i < len(self._rows)

        def get_row_data(self):
            return self._rows[self._i]

    def __init__(self):
        self.logged_in = 0

    def login(self):
        self.logged_in += 1
        return types.SimpleNamespace(error_code="0", error_msg="success")

    def logout(self):
        self.logged_in -= 1

    def query_trade_dates(self, start_date, end_date):
        return self.RS(_rec("baostock", "query_trade_dates.csv"))

    def query_history_k_data_plus(self, code, fields, start_date, end_date, frequency="d", adjustflag="3"):
        return self.RS(_rec("baostock", f"query_history_k_data_plus_{code}.csv"))


def test_baostock_fetch_logs_in_once_and_out(tmp_path):
    fake = FakeBs()
    from etfrot.data.sources import baostock as bsm

    s = bsm.fetch(tmp_path / "bb", kinds=["calendar", "stock_bars"], stocks=["600519.SH", "601607.SH"], progress=False,
                  client=fake, sleep=lambda x: None, end="2022-12-30")
    assert fake.logged_in == 0 and not s.failed
    t = bsm.assemble(RawStore(tmp_path / "bb" / "raw", "baostock"))
    assert set(t["stock_bars"]["code"]) == {"600519.SH", "601607.SH"}
    assert len(t["calendar"]) == 3
