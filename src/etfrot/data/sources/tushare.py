"""Tushare Pro adapter (SPEC §1.3): fetch layer (token from ``TUSHARE_TOKEN``, never logged) and parse layer.

Parse functions take tushare's own frames (``ts_code``, ``trade_date`` as 'YYYYMMDD', its units) and
return bundle tables. Units per the tushare docs:

=================  ==========================================================  ===============================
endpoint           columns used                                                units → bundle
=================  ==========================================================  ===============================
trade_cal          cal_date, is_open                                           —
fund_basic         ts_code name management m_fee list_date delist_date benchmark  m_fee % → decimal
fund_daily         ts_code trade_date open high low close pre_close vol amount   vol lots ×100; amount 1e3 CNY
fund_adj           ts_code trade_date adj_factor                               —
index_basic        ts_code name fullname category                              —
index_daily        ts_code trade_date open high low close vol amount           vol lots ×100; amount 1e3 CNY
index_weight       index_code con_code trade_date weight                       weight % → fraction
daily              ts_code trade_date open high low close pre_close vol amount   vol lots ×100; amount 1e3 CNY
namechange         ts_code name start_date end_date                            ST when the name has 'ST'
moneyflow          ts_code trade_date buy/sell_{lg,elg}_{vol,amount} net_mf_amount  vol lots; amount 1e4 CNY
moneyflow_hsgt     trade_date ggt_ss ggt_sz hgt sgt north_money south_money     1e6 CNY
sf_month           month inc_month stk_endval                                  inc 1e8 CNY; stock 1e12 CNY
=================  ==========================================================  ===============================

Adjustment: ``pre_close`` is the exchange's ex-right reference price, so adj_factor =
Π close_{t−1}/pre_close_t (see :func:`._common.adj_factor_from_pre_close`) gives dividend- and
split-correct returns; on the real data it matches tushare's own ``fund_adj`` to 3 decimals.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.sources._common import (
    AMOUNT_UNITS,
    VOLUME_UNITS,
    adj_factor_from_pre_close,
    bars_frame,
    calendar_frame,
    etf_code,
    index_code,
    limit_flags,
    require_columns,
    stock_code,
    to_dates,
    to_float,
    unit,
)
from etfrot.data.sources._fetch import RateLimiter, RawStore, TableParts, Task, require, run_tasks
from etfrot.errors import SourceError

SOURCE = "tushare"
TOKEN_ENV = "TUSHARE_TOKEN"


# =============================================================================================== parse
def parse_trade_cal(df: pd.DataFrame) -> pd.DataFrame:
    """trade_cal → calendar: the days with is_open == 1."""
    require_columns(df, ["cal_date", "is_open"], "trade_cal")
    open_ = to_float(df["is_open"]) == 1
    return calendar_frame(to_dates(df.loc[open_, "cal_date"]))


def parse_fund_basic(df: pd.DataFrame) -> pd.DataFrame:
    """fund_basic(market='E') → ETF list: code, name, manager, fee_rate (m_fee % → decimal), list_date,
    delist_date, benchmark (text)."""
    require_columns(df, ["ts_code", "name"], "fund_basic")
    g = lambda c: df[c] if c in df.columns else pd.Series(pd.NA, index=df.index)  # noqa: E731
    out = pd.DataFrame({
        "code": etf_code(df["ts_code"]), "name": df["name"].astype("string"),
        "manager": g("management").astype("string"), "fee_rate": to_float(g("m_fee")) / 100.0,
        "list_date": to_dates(g("list_date").astype("string")), "delist_date": to_dates(g("delist_date").astype("string")),
        "benchmark": g("benchmark").astype("string"),
    })
    return out.drop_duplicates("code", keep="last").sort_values("code").reset_index(drop=True)


def parse_fund_daily(df: pd.DataFrame, vol_unit: str = "lot", amount_unit: str = "thousand_cny") -> pd.DataFrame:
    """fund_daily → etf_bars with adj_factor from pre_close and aum NaN.

    Rows without a close are not bars and are dropped; a priced row without volume is a day without
    trades (volume = amount = 0).
    """
    require_columns(df, ["ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "vol", "amount"], "fund_daily")
    vm, am = unit(vol_unit, VOLUME_UNITS, "vol"), unit(amount_unit, AMOUNT_UNITS, "amount")
    close = to_float(df["close"])
    t = pd.DataFrame({"code": etf_code(df["ts_code"]), "date": to_dates(df["trade_date"]), "close": close,
                      "pre": to_float(df["pre_close"]), "open": to_float(df["open"]), "high": to_float(df["high"]),
                      "low": to_float(df["low"]), "vol": to_float(df["vol"]) * vm, "amt": to_float(df["amount"]) * am})
    t = t[t["close"].notna() & (t["close"] > 0) & t["date"].notna()]
    t = t.sort_values(["code", "date"], kind="stable").drop_duplicates(["code", "date"], keep="last")
    notrade = t["vol"].isna()
    t.loc[notrade, "vol"] = 0.0
    t.loc[notrade, "amt"] = 0.0
    adj = adj_factor_from_pre_close(t["code"], t["close"], t["pre"])
    return bars_frame(t["date"], t["code"], t["open"], t["high"], t["low"], t["close"], t["vol"], t["amt"],
                      adj_factor=adj, aum=np.nan)


def parse_fund_adj(df: pd.DataFrame) -> pd.DataFrame:
    """fund_adj → (date, code, adj_factor)."""
    require_columns(df, ["ts_code", "trade_date", "adj_factor"], "fund_adj")
    out = pd.DataFrame({"date": to_dates(df["trade_date"]), "code": etf_code(df["ts_code"]),
                        "adj_factor": to_float(df["adj_factor"])})
    return out.sort_values(["date", "code"]).reset_index(drop=True)


def parse_index_basic(df: pd.DataFrame) -> pd.DataFrame:
    """index_basic → (code, name, fullname)."""
    require_columns(df, ["ts_code", "name"], "index_basic")
    full = df["fullname"] if "fullname" in df.columns else df["name"]
    return pd.DataFrame({"code": index_code(df["ts_code"]), "name": df["name"].astype("string"),
                         "fullname": full.astype("string")}).drop_duplicates("code")


def parse_index_daily(df: pd.DataFrame, vol_unit: str = "lot", amount_unit: str = "thousand_cny") -> pd.DataFrame:
    """index_daily → index_bars (vol lots → shares, amount thousand CNY → CNY)."""
    require_columns(df, ["ts_code", "trade_date", "open", "high", "low", "close", "vol", "amount"], "index_daily")
    vm, am = unit(vol_unit, VOLUME_UNITS, "vol"), unit(amount_unit, AMOUNT_UNITS, "amount")
    out = bars_frame(to_dates(df["trade_date"]), index_code(df["ts_code"]), to_float(df["open"]), to_float(df["high"]),
                     to_float(df["low"]), to_float(df["close"]), to_float(df["vol"]) * vm, to_float(df["amount"]) * am)
    out = out[out["close"].notna() & (out["close"] > 0)]
    return out.drop_duplicates(["date", "code"], keep="last").reset_index(drop=True)


def parse_index_weight(df: pd.DataFrame) -> pd.DataFrame:
    """index_weight → index_weights; weight in % → fractions renormalised per snapshot to sum to 1;
    399300.SZ is written as 000300.SH."""
    from etfrot.data.sources.akshare import renormalise_weights

    require_columns(df, ["index_code", "con_code", "trade_date", "weight"], "index_weight")
    out = pd.DataFrame({"date": to_dates(df["trade_date"]), "index_code": index_code(df["index_code"]),
                        "stock_code": stock_code(df["con_code"]), "weight": to_float(df["weight"]) / 100.0})
    return renormalise_weights(out.drop_duplicates(["date", "index_code", "stock_code"], keep="last"))


def parse_namechange(df: pd.DataFrame) -> pd.DataFrame:
    """namechange → name periods (code, start_date, end_date, is_st): ST when the name contains 'ST'."""
    require_columns(df, ["ts_code", "name", "start_date"], "namechange")
    end = df["end_date"] if "end_date" in df.columns else pd.Series(pd.NA, index=df.index)
    out = pd.DataFrame({"code": stock_code(df["ts_code"]), "start_date": to_dates(df["start_date"]),
                        "end_date": to_dates(end.astype("string")),
                        "is_st": df["name"].astype("string").str.upper().str.contains("ST").fillna(False).astype(bool)})
    return out.dropna(subset=["start_date"]).sort_values(["code", "start_date"]).reset_index(drop=True)


def st_flags(code: pd.Series, date: pd.Series, names: pd.DataFrame | None) -> np.ndarray:
    """is_st per (code, date) row: the name period in force (latest start_date ≤ date) carries 'ST'."""
    if names is None or names.empty:
        return np.zeros(len(code), bool)
    left = pd.DataFrame({"code": code.astype(str).to_numpy(dtype=object), "date": pd.to_datetime(date).to_numpy(),
                         "i": np.arange(len(code))}).sort_values("date")
    right = names.rename(columns={"start_date": "date"})[["code", "date", "end_date", "is_st"]].sort_values("date")
    right["code"] = right["code"].astype(str).to_numpy(dtype=object)
    left["code"] = left["code"].astype(object)
    right["code"] = right["code"].astype(object)
    m = pd.merge_asof(left, right, on="date", by="code", direction="backward")
    st = m["is_st"].fillna(False).astype(bool) & (m["end_date"].isna() | (m["date"] <= m["end_date"]))
    out = np.zeros(len(code), bool)
    out[m["i"].to_numpy()] = st.to_numpy()
    return out


def parse_daily(df: pd.DataFrame, names: pd.DataFrame | None = None, list_dates: pd.Series | None = None,
                vol_unit: str = "lot", amount_unit: str = "thousand_cny") -> pd.DataFrame:
    """daily → stock_bars: adj_factor from pre_close; is_st from ``names`` (parse_namechange);
    is_suspended where the volume is 0 (tushare omits most suspension days); limit flags by board
    rules with no limit on a listing's first row (or on ``list_dates``' day where given)."""
    require_columns(df, ["ts_code", "trade_date", "open", "high", "low", "close", "pre_close", "vol", "amount"], "daily")
    vm, am = unit(vol_unit, VOLUME_UNITS, "vol"), unit(amount_unit, AMOUNT_UNITS, "amount")
    t = pd.DataFrame({"code": stock_code(df["ts_code"]), "date": to_dates(df["trade_date"]), "close": to_float(df["close"]),
                      "pre": to_float(df["pre_close"]), "open": to_float(df["open"]), "high": to_float(df["high"]),
                      "low": to_float(df["low"]), "vol": to_float(df["vol"]).fillna(0) * vm,
                      "amt": to_float(df["amount"]).fillna(0) * am})
    t = t[t["close"].notna() & (t["close"] > 0)].sort_values(["code", "date"], kind="stable")
    t = t.drop_duplicates(["code", "date"], keep="last")
    susp = t["vol"] <= 0
    adj = adj_factor_from_pre_close(t["code"], t["close"], t["pre"], active=~susp)
    st = pd.Series(st_flags(t["code"], t["date"], names), index=t.index)
    if list_dates is not None:
        first = t["date"].to_numpy() == t["code"].map(list_dates).to_numpy(dtype="datetime64[ns]")
    else:
        first = (~t["code"].duplicated()).to_numpy()
    up, dn = limit_flags(t["code"], t["date"], t["close"], t["pre"], st, ~susp, pd.Series(first, index=t.index))
    return bars_frame(t["date"], t["code"], t["open"], t["high"], t["low"], t["close"], t["vol"], t["amt"],
                      adj_factor=adj, is_st=st, is_suspended=susp, limit_up=up, limit_down=dn)


def parse_moneyflow(df: pd.DataFrame) -> pd.DataFrame:
    """moneyflow → flows: main_net_inflow = Σ_{lg,elg}(buy − sell) amount ×1e4 CNY,
    large_order_net_volume = Σ_{lg,elg}(buy − sell) vol ×100 shares, net_buy_amount = net_mf_amount ×1e4."""
    cols = ["ts_code", "trade_date", "buy_lg_vol", "buy_lg_amount", "sell_lg_vol", "sell_lg_amount", "buy_elg_vol",
            "buy_elg_amount", "sell_elg_vol", "sell_elg_amount", "net_mf_amount"]
    require_columns(df, cols, "moneyflow")
    f = {c: to_float(df[c]) for c in cols[2:]}
    main = (f["buy_lg_amount"] + f["buy_elg_amount"] - f["sell_lg_amount"] - f["sell_elg_amount"]) * AMOUNT_UNITS["10k_cny"]
    vol = (f["buy_lg_vol"] + f["buy_elg_vol"] - f["sell_lg_vol"] - f["sell_elg_vol"]) * VOLUME_UNITS["lot"]
    out = pd.DataFrame({"date": to_dates(df["trade_date"]), "code": stock_code(df["ts_code"]),
                        "net_buy_amount": f["net_mf_amount"] * AMOUNT_UNITS["10k_cny"], "net_active_buy_amount": np.nan,
                        "main_net_inflow": main, "large_order_net_volume": vol, "northbound_value": np.nan})
    return out.drop_duplicates(["date", "code"], keep="last").sort_values(["date", "code"]).reset_index(drop=True)


HSGT_SERIES = {"north_money": "north_money", "south_money": "south_money", "hgt": "hgt", "sgt": "sgt",
               "ggt_ss": "ggt_ss", "ggt_sz": "ggt_sz"}


def parse_moneyflow_hsgt(df: pd.DataFrame, amount_unit: str = "million_cny") -> pd.DataFrame:
    """moneyflow_hsgt → macro rows of daily market-level series north_money, south_money, hgt, sgt,
    ggt_ss, ggt_sz in CNY; period = release_date = the trade date (final after that day's close)."""
    date = df["trade_date"] if "trade_date" in df.columns else pd.Series(df.index, index=df.index)
    am = unit(amount_unit, AMOUNT_UNITS, "amount")
    d = to_dates(pd.Series(date).astype("string") if not pd.api.types.is_datetime64_any_dtype(date) else pd.Series(date))
    rows = []
    for col, series in HSGT_SERIES.items():
        if col in df.columns:
            v = to_float(df[col]).to_numpy() * am
            rows.append(pd.DataFrame({"period": d.to_numpy(), "series": series, "value": v, "release_date": d.to_numpy()}))
    if not rows:
        raise SourceError(f"moneyflow_hsgt: none of {list(HSGT_SERIES)} in the frame (it has {list(df.columns)})")
    out = pd.concat(rows, ignore_index=True)
    out = out[out["period"].notna() & out["value"].notna()]
    return out.sort_values(["series", "period"]).reset_index(drop=True)


def release_date(period: pd.Series, day: int | None) -> pd.Series:
    """Release date of a monthly period (first of month): ``day`` of the next month, or the month's
    last day when ``day`` is None (PMI)."""
    p = pd.to_datetime(period)
    if day is None:
        return (p + pd.offsets.MonthEnd(0)).astype("datetime64[ns]")
    return (p + pd.offsets.MonthBegin(1) + pd.to_timedelta(day - 1, unit="D")).astype("datetime64[ns]")


def parse_sf_month(df: pd.DataFrame, release_day: int = 15, yoy_valid_from: str | None = "2018-01-01") -> pd.DataFrame:
    """sf_month → macro rows: tsf_flow (inc_month, 1e8 CNY → CNY), tsf_stock (stk_endval, 1e12 CNY → CNY)
    and tsf_yoy = stock_t / stock_{t−12m} − 1 in % (only from ``yoy_valid_from``: the 2017-01
    definition change breaks YoY from levels before 2018-01). Released on ``release_day`` of the next month."""
    require_columns(df, ["month", "inc_month", "stk_endval"], "sf_month")
    period = pd.to_datetime(df["month"].astype("string").str.strip(), format="%Y%m")
    flow = to_float(df["inc_month"]) * AMOUNT_UNITS["100m_cny"]
    stock = to_float(df["stk_endval"]) * 1e12
    lv = pd.Series(stock.to_numpy(), index=period).sort_index()
    lv = lv[~lv.index.duplicated(keep="last")]
    prev = lv.reindex(lv.index - pd.DateOffset(years=1)).to_numpy()
    yoy = pd.Series((lv.to_numpy() / prev - 1) * 100, index=lv.index)
    if yoy_valid_from is not None:
        yoy = yoy[yoy.index >= pd.Timestamp(yoy_valid_from)]
    parts = [pd.DataFrame({"period": period, "series": "tsf_flow", "value": flow}),
             pd.DataFrame({"period": period, "series": "tsf_stock", "value": stock}),
             pd.DataFrame({"period": yoy.index, "series": "tsf_yoy", "value": yoy.to_numpy()})]
    out = pd.concat(parts, ignore_index=True)
    out = out[out["value"].notna()].copy()
    out["release_date"] = release_date(out["period"], release_day)
    return out.sort_values(["series", "period"]).reset_index(drop=True)


# =============================================================================================== fetch
KINDS = ("calendar", "etf_list", "etf_bars", "index_list", "index_bars", "index_weights", "stock_bars", "stock_names",
         "stock_flows", "northbound", "sf_month")
DEFAULT_KINDS = ("calendar", "etf_list", "etf_bars", "index_list", "index_bars", "index_weights", "northbound")
DEFAULT_INDICES = ("000300.SH", "000905.SH", "000852.SH", "000016.SH", "000906.SH", "399006.SZ", "000688.SH")


def _ymd(t, default="19900101") -> str:
    return default if t is None else pd.Timestamp(t).strftime("%Y%m%d")


def _paged(fn, start, end, years: float, first: str = "20000101"):
    """Call fn(start_ymd, end_ymd) over windows of ``years`` (tushare caps rows per call); concat."""
    s = pd.Timestamp(start) if start is not None else pd.Timestamp(first)
    e = pd.Timestamp(end)
    parts = []
    while s <= e:
        w = min(e, s + pd.DateOffset(days=int(365.25 * years)) - pd.Timedelta(days=1))
        r = fn(s.strftime("%Y%m%d"), w.strftime("%Y%m%d"))
        if r is not None and len(r):
            parts.append(r)
        s = w + pd.Timedelta(days=1)
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def pro_client(token: str | None = None):
    """tushare.pro_api with the token from ``TUSHARE_TOKEN`` (the token is never printed or stored)."""
    ts = require("tushare")
    token = token or os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise SourceError(f"tushare needs a token: set the environment variable {TOKEN_ENV} "
                          "(https://tushare.pro/user/token); it is read from the environment only and never logged")
    return ts.pro_api(token)


def plan(pro, kinds=DEFAULT_KINDS, *, etfs=None, stocks=None, indices=DEFAULT_INDICES, store: RawStore | None = None):
    tasks: list[Task] = []
    if "calendar" in kinds:
        tasks.append(Task("calendar", "SSE", lambda s, e: pro.trade_cal(exchange="SSE", start_date=_ymd(s), end_date=_ymd(e)),
                          date_col="cal_date", date_format="%Y%m%d"))
    if "etf_list" in kinds:
        tasks.append(Task("etf_list", "E", lambda s, e: pro.fund_basic(market="E")))
    if "index_list" in kinds:
        for m in ("SSE", "SZSE", "CSI"):
            tasks.append(Task("index_list", m, lambda s, e, m=m: pro.index_basic(market=m)))
    if "etf_bars" in kinds:
        if etfs is None and store is not None and (lst := store.read("etf_list", "E")) is not None:
            etfs = list(parse_fund_basic(lst)["code"])
        for c in etfs or ():
            tasks.append(Task("etf_bars", c, lambda s, e, c=c: _paged(
                lambda a, b: pro.fund_daily(ts_code=c, start_date=a, end_date=b), s, e, years=5, first="20040101"),
                date_col="trade_date", date_format="%Y%m%d"))
    if "index_bars" in kinds:
        for c in indices:
            tsc = "399300.SZ" if c == "000300.SH" else c
            tasks.append(Task("index_bars", c, lambda s, e, tsc=tsc: _paged(
                lambda a, b: pro.index_daily(ts_code=tsc, start_date=a, end_date=b), s, e, years=20, first="20040101"),
                date_col="trade_date", date_format="%Y%m%d"))
    if "index_weights" in kinds:
        tasks.append(Task("index_weights", "399300.SZ", lambda s, e: _paged(
            lambda a, b: pro.index_weight(index_code="399300.SZ", start_date=a, end_date=b), s, e, years=0.5,
            first="20050101"), date_col="trade_date", date_format="%Y%m%d", dedupe_on=("trade_date", "con_code")))
    if "northbound" in kinds:
        tasks.append(Task("northbound", "hsgt", lambda s, e: _paged(
            lambda a, b: pro.moneyflow_hsgt(start_date=a, end_date=b), s, e, years=1, first="20141117"),
            date_col="trade_date", date_format="%Y%m%d"))
    if "sf_month" in kinds:
        tasks.append(Task("sf_month", "sf", lambda s, e: pro.sf_month(start_m="200201", end_m=pd.Timestamp(e).strftime("%Y%m")),
                          date_col="month", date_format="%Y%m"))
    for c in stocks or ():
        if "stock_bars" in kinds:
            tasks.append(Task("stock_bars", c, lambda s, e, c=c: _paged(
                lambda a, b: pro.daily(ts_code=c, start_date=a, end_date=b), s, e, years=20, first="19900101"),
                date_col="trade_date", date_format="%Y%m%d"))
        if "stock_names" in kinds:
            tasks.append(Task("stock_names", c, lambda s, e, c=c: pro.namechange(ts_code=c)))
        if "stock_flows" in kinds:
            tasks.append(Task("stock_flows", c, lambda s, e, c=c: _paged(
                lambda a, b: pro.moneyflow(ts_code=c, start_date=a, end_date=b), s, e, years=15, first="20100101"),
                date_col="trade_date", date_format="%Y%m%d"))
    return tasks


def fetch(out, *, kinds=DEFAULT_KINDS, etfs=None, stocks=None, start=None, end=None, per_minute: float = 180,
          retries: int = 4, progress: bool = True, client=None, sleep=None, echo=None):
    """Download ``kinds`` into ``<out>/raw/tushare`` (resumable); the token comes from TUSHARE_TOKEN."""
    import time

    pro = client if client is not None else pro_client()
    store = RawStore(Path(out) / "raw", SOURCE)
    end = pd.Timestamp(end) if end is not None else pd.Timestamp.today().normalize()
    first = [k for k in kinds if k in ("calendar", "etf_list", "index_list")]
    rest = [k for k in kinds if k not in first]
    summary = None
    for group in (first, rest):
        if not group:
            continue
        s = run_tasks(plan(pro, group, etfs=etfs, stocks=stocks, store=store), store, start=start, end=end,
                      limiter=RateLimiter(per_minute, sleep=sleep or time.sleep), retries=retries, progress=progress,
                      sleep=sleep or time.sleep, echo=echo)
        summary = s if summary is None else summary.merge(s)
    return summary


def assemble(store: RawStore) -> dict[str, pd.DataFrame]:
    """Parse everything in the raw store into bundle tables (those it can provide)."""
    out = TableParts()
    add = out.add

    if (c := store.read("calendar", "SSE")) is not None and len(c):
        add("calendar", parse_trade_cal(c))
    if (lst := store.read("etf_list", "E")) is not None and len(lst):
        add("etf_list", parse_fund_basic(lst))
    for df in store.frames("index_list").values():
        add("index_list", parse_index_basic(df))
    for df in store.frames("etf_bars").values():
        add("etf_bars", parse_fund_daily(df))
    for df in store.frames("index_bars").values():
        add("index_bars", parse_index_daily(df))
    for df in store.frames("index_weights").values():
        add("index_weights", parse_index_weight(df))
    names = store.frames("stock_names")
    nm = pd.concat([parse_namechange(v) for v in names.values()], ignore_index=True) if names else None
    for df in store.frames("stock_bars").values():
        add("stock_bars", parse_daily(df, names=nm))
    for df in store.frames("stock_flows").values():
        add("flows", parse_moneyflow(df))
    for df in store.frames("northbound").values():
        add("macro", parse_moneyflow_hsgt(df))
    for df in store.frames("sf_month").values():
        add("macro", parse_sf_month(df))
    return out.tables()


def map_benchmark_to_index(benchmark: pd.Series, index_list: pd.DataFrame) -> pd.Series:
    """Tracked index of an ETF from fund_basic's ``benchmark`` text (e.g. '沪深300指数收益率×95%+…'):
    the text before '指数'/'收益率' must equal an index_basic short name or full name exactly (no
    fuzzy matching: an unmatched ETF stays unmapped)."""
    head = benchmark.astype("string").str.split(r"[*×+（(]", regex=True).str[0].str.strip()
    head = head.str.replace(r"(价格)?指数收益率$|收益率$|指数$", "", regex=True).str.strip()
    names = {}
    for _, r in index_list.iterrows():  # a few thousand index names, once
        for n in (r["name"], r.get("fullname")):
            if isinstance(n, str) and n:
                names.setdefault(n.replace("指数", "").strip(), r["code"])
    return head.map(lambda h: names.get(h) if isinstance(h, str) else None).astype("string")
