"""BaoStock adapter (SPEC §1.3): fetch layer (login, ResultData paging) and parse layer.

BaoStock returns every field as text ('' for missing). Parse functions read its own frames:

===========================  ==================================================================  =====================
query                        columns used                                                        units → bundle
===========================  ==================================================================  =====================
query_trade_dates            calendar_date, is_trading_day                                       —
query_history_k_data_plus    date code open high low close preclose volume amount tradestatus isST  volume shares; CNY
  (stocks, adjustflag=3)     (index codes sh.000300 use the same query)
query_stock_basic            code code_name ipoDate outDate type status                          —
query_profit_data            code pubDate statDate roeAvg npMargin gpMargin netProfit epsTTM       ratios as decimals;
                             MBRevenue totalShare liqaShare                                      CNY; shares
query_growth_data            code pubDate statDate YOYEquity YOYAsset YOYNI YOYEPSBasic YOYPNI     decimals
query_hs300_stocks / zz500   updateDate code code_name                                           —
===========================  ==================================================================  =====================

BaoStock serves no ETFs and no index weights (only the current CSI 300 / 500 lists), so a bundle needs
ETFs from the tushare or AKShare adapter as well (fetch them into the same --out).

Status flags: is_suspended = tradestatus 0, is_st = isST 1; limit flags from preclose and the board
rule (:func:`._common.limit_flags`); adj_factor = Π close_{t−1}/preclose_t over trading days (a
suspension day's preclose is not a trading reference and is ignored).

Fundamentals (seed 001 factors): announce_date = pubDate. roeAvg and netProfit are year-to-date;
roe_q = roeAvg_t − roeAvg of the previous quarter of the same year (Q1: itself), roe_ttm =
roeAvg_t + roeAvg(last annual) − roeAvg(same quarter last year) (Q4: itself), eps = single-quarter
net profit / total shares, eps_ttm = epsTTM, np_yoy = YOYNI. A derived value is announced when the
last report it uses is (announce_date = max pubDate of its inputs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.sources._common import (
    adj_factor_from_pre_close,
    bars_frame,
    calendar_frame,
    index_code,
    limit_flags,
    require_columns,
    stock_code,
    to_dates,
    to_float,
)
from etfrot.data.sources._fetch import RateLimiter, RawStore, TableParts, Task, require, run_tasks
from etfrot.errors import SourceError

SOURCE = "baostock"
K_FIELDS = "date,code,open,high,low,close,preclose,volume,amount,adjustflag,turn,tradestatus,pctChg,isST"
INDEX_FIELDS = "date,code,open,high,low,close,preclose,volume,amount,pctChg"


# =============================================================================================== parse
def parse_trade_dates(df: pd.DataFrame) -> pd.DataFrame:
    require_columns(df, ["calendar_date", "is_trading_day"], "query_trade_dates")
    is_open = df["is_trading_day"].astype("string").str.strip() == "1"
    return calendar_frame(to_dates(df.loc[is_open.fillna(False), "calendar_date"]))


def no_limit_rows(code: pd.Series, date: pd.Series, list_date: pd.Series | None) -> np.ndarray:
    """Rows without a daily price limit: a listing's first trading day (main board) or its first five
    (STAR; ChiNext listed from 2020-08-24). ``list_date`` per row (NaT = unknown: limits apply). Rows
    must be sorted by (code, date); a code whose data starts > 14 days after its listing has no
    listing days in the data."""
    if list_date is None:
        return np.zeros(len(code), bool)
    d = pd.to_datetime(date).to_numpy("datetime64[ns]")
    ld = pd.to_datetime(list_date).to_numpy("datetime64[ns]")
    key = code.astype("string").to_numpy()
    after = ~pd.isna(ld) & (d >= ld)
    nth = pd.Series(after.astype(int)).groupby(key).cumsum().to_numpy() - 1
    first_after = pd.Series(np.where(after, d, np.datetime64("NaT"))).groupby(key).transform("min").to_numpy("datetime64[ns]")
    fresh = (first_after - ld) <= np.timedelta64(14, "D")
    c = code.astype("string")
    five = (c.str.match(r"^68[89]").fillna(False).to_numpy()
            | (c.str.match(r"^30[01]").fillna(False).to_numpy() & (ld >= np.datetime64("2020-08-24"))))
    return after & fresh & (nth < np.where(five, 5, 1))


def parse_k_data(df: pd.DataFrame, list_dates: pd.Series | dict | None = None) -> pd.DataFrame:
    """query_history_k_data_plus(adjustflag='3') → stock_bars with status and limit flags.

    ``list_dates`` (code → listing day) switches off limits on a listing's first day(s); codes whose
    listing day is unknown get limits on every traded row. Suspended rows without volume get 0.
    """
    require_columns(df, ["date", "code", "open", "high", "low", "close", "preclose", "volume", "amount",
                         "tradestatus", "isST"], "query_history_k_data_plus")
    t = pd.DataFrame({"code": stock_code(df["code"]), "date": to_dates(df["date"]), "open": to_float(df["open"]),
                      "high": to_float(df["high"]), "low": to_float(df["low"]), "close": to_float(df["close"]),
                      "pre": to_float(df["preclose"]), "vol": to_float(df["volume"]).fillna(0.0),
                      "amt": to_float(df["amount"]).fillna(0.0),
                      "susp": to_float(df["tradestatus"]) == 0, "st": to_float(df["isST"]) == 1})
    t = t[t["close"].notna() & (t["close"] > 0)].sort_values(["code", "date"], kind="stable")
    t = t.drop_duplicates(["code", "date"], keep="last")
    adj = adj_factor_from_pre_close(t["code"], t["close"], t["pre"], active=~t["susp"])
    ld = None
    if list_dates is not None:
        m = pd.to_datetime(pd.Series(list_dates, dtype=object) if isinstance(list_dates, dict) else list_dates)
        m.index = m.index.astype(str)
        ld = pd.Series(m.reindex(t["code"].astype(str).to_numpy()).to_numpy(), index=t.index)
    nolim = no_limit_rows(t["code"], t["date"], ld)
    up, dn = limit_flags(t["code"], t["date"], t["close"], t["pre"], t["st"], ~t["susp"], pd.Series(nolim, index=t.index))
    return bars_frame(t["date"], t["code"], t["open"], t["high"], t["low"], t["close"], t["vol"], t["amt"],
                      adj_factor=adj, is_st=t["st"], is_suspended=t["susp"], limit_up=up, limit_down=dn)


def parse_index_k_data(df: pd.DataFrame) -> pd.DataFrame:
    """query_history_k_data_plus on an index code (sh.000300) → index_bars (volume in shares)."""
    require_columns(df, ["date", "code", "open", "high", "low", "close", "volume", "amount"], "query_history_k_data_plus")
    out = bars_frame(to_dates(df["date"]), index_code(df["code"].astype("string").str.replace(".", "", regex=False)),
                     to_float(df["open"]), to_float(df["high"]), to_float(df["low"]), to_float(df["close"]),
                     to_float(df["volume"]), to_float(df["amount"]))
    return out[out["close"].notna() & (out["close"] > 0)].drop_duplicates(["date", "code"], keep="last").reset_index(drop=True)


def parse_stock_basic(df: pd.DataFrame) -> pd.DataFrame:
    """query_stock_basic → stock list: code, name, list_date (ipoDate), delist_date (outDate); only
    type 1 (stocks)."""
    require_columns(df, ["code", "code_name", "ipoDate", "outDate"], "query_stock_basic")
    d = df[df["type"].astype("string").str.strip() == "1"] if "type" in df.columns else df
    out = pd.DataFrame({"code": stock_code(d["code"]), "name": d["code_name"].astype("string"),
                        "list_date": to_dates(d["ipoDate"]), "delist_date": to_dates(d["outDate"])})
    return out.drop_duplicates("code").sort_values("code").reset_index(drop=True)


def parse_index_stocks(df: pd.DataFrame, index: str) -> pd.DataFrame:
    """query_hs300_stocks / query_zz500_stocks → index_members rows of the current list: known from
    its updateDate, still open (end_date NaN). BaoStock serves no history here."""
    require_columns(df, ["updateDate", "code"], "query_hs300_stocks")
    return pd.DataFrame({"index_code": index, "stock_code": stock_code(df["code"]),
                         "start_date": to_dates(df["updateDate"]), "end_date": pd.NaT}).drop_duplicates(
        ["index_code", "stock_code", "start_date"]).sort_values(["index_code", "stock_code"]).reset_index(drop=True)


PROFIT_COLS = ["code", "pubDate", "statDate", "roeAvg", "npMargin", "gpMargin", "netProfit", "epsTTM", "MBRevenue",
               "totalShare", "liqaShare"]
GROWTH_COLS = ["code", "pubDate", "statDate", "YOYEquity", "YOYAsset", "YOYNI", "YOYEPSBasic", "YOYPNI"]
_EXTRA = {"roeAvg": "roe_avg_ytd", "npMargin": "np_margin", "gpMargin": "gp_margin", "netProfit": "net_profit_ytd",
          "epsTTM": "eps_ttm", "MBRevenue": "mb_revenue", "totalShare": "total_share", "liqaShare": "liqa_share",
          "YOYEquity": "yoy_equity", "YOYAsset": "yoy_asset", "YOYEPSBasic": "yoy_eps_basic", "YOYPNI": "yoy_pni"}


def parse_profit_growth(profit: pd.DataFrame, growth: pd.DataFrame | None = None) -> pd.DataFrame:
    """query_profit_data (+ query_growth_data) → fundamentals (see the module docstring for formulas)."""
    require_columns(profit, PROFIT_COLS, "query_profit_data")
    p = pd.DataFrame({"code": stock_code(profit["code"]), "pub": to_dates(profit["pubDate"]),
                      "period": to_dates(profit["statDate"])})
    for c in PROFIT_COLS[3:]:
        p[c] = to_float(profit[c])
    if growth is not None and len(growth):
        require_columns(growth, GROWTH_COLS, "query_growth_data")
        g = pd.DataFrame({"code": stock_code(growth["code"]), "period": to_dates(growth["statDate"]),
                          "gpub": to_dates(growth["pubDate"])})
        for c in GROWTH_COLS[3:]:
            g[c] = to_float(growth[c])
        p = p.merge(g.drop_duplicates(["code", "period"], keep="last"), on=["code", "period"], how="outer")
        p["pub"] = p[["pub", "gpub"]].max(axis=1)
        p = p.drop(columns="gpub")
    else:
        for c in GROWTH_COLS[3:]:
            p[c] = np.nan
    p = p.dropna(subset=["code", "period", "pub"]).drop_duplicates(["code", "period"], keep="last")
    p = p.sort_values(["code", "period"]).reset_index(drop=True)

    def lookup(offset_period: pd.Series, col: str):
        key = pd.MultiIndex.from_arrays([p["code"], p["period"]])
        s = pd.Series(p[col].to_numpy(), index=key)
        q = pd.MultiIndex.from_arrays([p["code"], offset_period])
        return s.reindex(q).to_numpy()

    qe = p["period"]
    q_no = qe.dt.quarter.to_numpy()
    prev_q = (qe - pd.offsets.QuarterEnd(1)).astype("datetime64[ns]")
    last_year_same = (qe - pd.DateOffset(years=1)).astype("datetime64[ns]") + pd.offsets.MonthEnd(0)
    last_annual = pd.to_datetime((qe.dt.year - 1).astype(str) + "-12-31")
    roe = p["roeAvg"].to_numpy()
    prev_roe, prev_pub = lookup(prev_q, "roeAvg"), lookup(prev_q, "pub")
    roe_q = np.where(q_no == 1, roe, roe - prev_roe)
    ly_roe, ly_pub = lookup(last_year_same, "roeAvg"), lookup(last_year_same, "pub")
    la_roe, la_pub = lookup(last_annual, "roeAvg"), lookup(last_annual, "pub")
    roe_ttm = np.where(q_no == 4, roe, roe + la_roe - ly_roe)
    np_ytd = p["netProfit"].to_numpy()
    prev_np = lookup(prev_q, "netProfit")
    np_q = np.where(q_no == 1, np_ytd, np_ytd - prev_np)
    shares = p["totalShare"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        eps_q = np.where(shares > 0, np_q / shares, np.nan)
    pub = p["pub"].to_numpy("datetime64[ns]")

    def latest(*ds):
        out = pub.copy()
        for x in ds:
            x = pd.to_datetime(pd.Series(x)).to_numpy("datetime64[ns]")
            out = np.where(~pd.isna(x) & (x > out), x, out)
        return out

    # the announce date of the row = the last of the reports its derived fields used
    used_prev = (q_no != 1) & (~np.isnan(prev_roe) | ~np.isnan(prev_np))  # roe_q and the single-quarter eps
    used_ly = (q_no != 4) & ~np.isnan(ly_roe) & ~np.isnan(la_roe)
    ann = latest(np.where(used_prev, prev_pub, np.datetime64("NaT")), np.where(used_ly, ly_pub, np.datetime64("NaT")),
                 np.where(used_ly, la_pub, np.datetime64("NaT")))
    out = pd.DataFrame({"code": p["code"].astype("string"), "report_period": p["period"], "announce_date": ann,
                        "roe_ttm": roe_ttm, "roe_q": roe_q, "np_yoy": p["YOYNI"].to_numpy(), "eps": eps_q})
    for src, dst in _EXTRA.items():
        out[dst] = p[src].to_numpy()
    return out.sort_values(["code", "report_period"]).reset_index(drop=True)


# =============================================================================================== fetch
KINDS = ("calendar", "stock_list", "stock_bars", "index_bars", "members", "fundamentals")
DEFAULT_KINDS = ("calendar", "stock_list", "stock_bars", "index_bars", "members")
DEFAULT_INDICES = ("sh.000300", "sh.000905", "sh.000852", "sh.000016", "sh.000001")


class _Session:
    """Wraps the baostock module: login once, ResultData → DataFrame, error codes → exceptions."""

    def __init__(self, bs) -> None:
        self.bs = bs
        self._in = False

    def _login(self):
        if not self._in:
            lg = self.bs.login()
            if getattr(lg, "error_code", "0") != "0":
                raise SourceError(f"baostock login failed: {getattr(lg, 'error_msg', '')}")
            self._in = True

    def frame(self, name: str, *args, **kwargs) -> pd.DataFrame:
        self._login()
        rs = getattr(self.bs, name)(*args, **kwargs)
        if getattr(rs, "error_code", "0") != "0":
            raise RuntimeError(f"{name}: {getattr(rs, 'error_code', '')} {getattr(rs, 'error_msg', '')}")
        rows = []
        while rs.next():
            rows.append(rs.get_row_data())
        return pd.DataFrame(rows, columns=rs.fields)

    def close(self):
        if self._in:
            try:
                self.bs.logout()
            finally:
                self._in = False


def _ymd(t, default="1990-12-19") -> str:
    return default if t is None else pd.Timestamp(t).strftime("%Y-%m-%d")


def _bs_code(c: str) -> str:
    c = str(c)
    if "." in c and c[:2].lower() in ("sh", "sz", "bj"):
        return c.lower()
    s = stock_code(pd.Series([c])).iloc[0]
    return s[-2:].lower() + "." + s[:6]


def plan(sess: _Session, kinds=DEFAULT_KINDS, *, stocks=None, indices=DEFAULT_INDICES, start=None, end=None):
    tasks: list[Task] = []
    if "calendar" in kinds:
        tasks.append(Task("calendar", "trade_dates", lambda s, e: sess.frame("query_trade_dates", start_date=_ymd(s),
                                                                            end_date=_ymd(e)), date_col="calendar_date"))
    if "stock_list" in kinds:
        tasks.append(Task("stock_list", "basic", lambda s, e: sess.frame("query_stock_basic")))
    if "members" in kinds:
        tasks.append(Task("members", "hs300", lambda s, e: sess.frame("query_hs300_stocks")))
        tasks.append(Task("members", "zz500", lambda s, e: sess.frame("query_zz500_stocks")))
    if "index_bars" in kinds:
        for c in indices:
            tasks.append(Task("index_bars", c, lambda s, e, c=c: sess.frame(
                "query_history_k_data_plus", c, INDEX_FIELDS, start_date=_ymd(s, "2005-01-01"), end_date=_ymd(e),
                frequency="d"), date_col="date"))
    for c in stocks or ():
        bc = _bs_code(c)
        if "stock_bars" in kinds:
            tasks.append(Task("stock_bars", bc, lambda s, e, bc=bc: sess.frame(
                "query_history_k_data_plus", bc, K_FIELDS, start_date=_ymd(s), end_date=_ymd(e), frequency="d",
                adjustflag="3"), date_col="date"))
        if "fundamentals" in kinds:
            for q in ("profit", "growth"):
                tasks.append(Task(f"fund_{q}", bc, lambda s, e, bc=bc, q=q: _quarters(sess, f"query_{q}_data", bc, s, e),
                                  date_col="statDate", dedupe_on=("statDate",)))
    return tasks


def _quarters(sess: _Session, query: str, code: str, s, e) -> pd.DataFrame:
    """One baostock call per (year, quarter) between s (default 2007) and e."""
    s = pd.Timestamp(s) if s is not None else pd.Timestamp("2007-01-01")
    parts = []
    for q in pd.period_range(s, pd.Timestamp(e), freq="Q"):
        f = sess.frame(query, code=code, year=q.year, quarter=q.quarter)
        if len(f):
            parts.append(f)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def fetch(out, *, kinds=DEFAULT_KINDS, stocks=None, start=None, end=None, per_minute: float = 300, retries: int = 4,
          progress: bool = True, client=None, sleep=None, echo=None):
    """Download ``kinds`` into ``<out>/raw/baostock`` (resumable). Stocks default to the stored
    CSI 300 list when 'members' was fetched."""
    import time

    bs = client if client is not None else require("baostock")
    sess = _Session(bs)
    store = RawStore(Path(out) / "raw", SOURCE)
    end = pd.Timestamp(end) if end is not None else pd.Timestamp.today().normalize()
    try:
        first = [k for k in kinds if k in ("calendar", "stock_list", "members")]
        rest = [k for k in kinds if k not in first]
        summary = None
        for group in (first, rest):
            if not group:
                continue
            if stocks is None and group is rest and (m := store.read("members", "hs300")) is not None:
                stocks = list(stock_code(m["code"]))
            s = run_tasks(plan(sess, group, stocks=stocks), store, start=start, end=end,
                          limiter=RateLimiter(per_minute, sleep=sleep or time.sleep), retries=retries,
                          progress=progress, sleep=sleep or time.sleep, echo=echo)
            summary = s if summary is None else summary.merge(s)
        return summary
    finally:
        sess.close()


def assemble(store: RawStore) -> dict[str, pd.DataFrame]:
    out = TableParts()
    add = out.add

    if (c := store.read("calendar", "trade_dates")) is not None and len(c):
        add("calendar", parse_trade_dates(c))
    lst = store.read("stock_list", "basic")
    info = parse_stock_basic(lst) if lst is not None and len(lst) else None
    if info is not None:
        add("stock_list", info)
    ld = info.set_index("code")["list_date"] if info is not None else None
    for df in store.frames("stock_bars").values():
        add("stock_bars", parse_k_data(df, list_dates=ld))
    for df in store.frames("index_bars").values():
        add("index_bars", parse_index_k_data(df))
    for key, idx in (("hs300", "000300.SH"), ("zz500", "000905.SH")):
        if (m := store.read("members", key)) is not None and len(m):
            add("index_members", parse_index_stocks(m, idx))
    prof, grow = store.frames("fund_profit"), store.frames("fund_growth")
    for key, df in prof.items():
        add("fundamentals", parse_profit_growth(df, grow.get(key)))
    return out.tables()
