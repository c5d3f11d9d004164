"""AKShare adapter (SPEC §1.3): fetch layer (library calls run by :mod:`._fetch`) and parse layer.

Parse functions take AKShare's own output frames — its Chinese column names, its units — and
return bundle tables. Units (AKShare docs and the sources behind them):

============================== ============================================ ==========================
function                        columns used                                 units → bundle
============================== ============================================ ==========================
tool_trade_date_hist_sina       trade_date                                   —
fund_etf_spot_em                代码, 名称                                    —
fund_etf_category_sina          代码 ('sh510300'), 名称                       —
fund_etf_hist_em                日期 开盘 收盘 最高 最低 成交量 成交额          成交量 lots ×100 → shares; 成交额 CNY
stock_zh_index_daily_em         date open close high low volume amount       volume lots ×100; amount CNY
index_hist_sw                   代码 日期 收盘 开盘 最高 最低 成交量 成交额      成交量 1e8 shares; 成交额 1e8 CNY
stock_zh_index_hist_csindex     日期 指数代码 开盘 最高 最低 收盘 成交量 成交金额  成交量 1e4 lots (1e6 shares); 成交金额 1e8 CNY
                                (滚动市盈率 → valuation.pe_ttm where present)
index_stock_cons_weight_csindex 日期 指数代码 成分券代码 交易所 权重             权重 % → fraction (renormalised)
stock_zh_a_hist                 日期 股票代码 开盘 收盘 最高 最低 成交量 成交额 涨跌额  成交量 lots ×100; pre_close = 收盘 − 涨跌额
stock_individual_fund_flow      日期 主力净流入-净额                            CNY
============================== ============================================ ==========================

Known limits: Eastmoney's adjusted ETF prices are *additive* (distributions subtracted from past
prices), so ``adj_factor`` = hfq close / raw close is only approximately dividend-correct; prefer the
tushare adapter for ETF returns. Eastmoney omits suspension days and has no ST flag (is_st False).
"""

from __future__ import annotations

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

SOURCE = "akshare"


# =============================================================================================== parse
def parse_trade_dates(df: pd.DataFrame) -> pd.DataFrame:
    """tool_trade_date_hist_sina → calendar (SSE trading days)."""
    require_columns(df, ["trade_date"], "tool_trade_date_hist_sina")
    return calendar_frame(to_dates(df["trade_date"]))


def parse_fund_etf_spot_em(df: pd.DataFrame) -> pd.DataFrame:
    """fund_etf_spot_em → ETF list (code, name)."""
    require_columns(df, ["代码", "名称"], "fund_etf_spot_em")
    return pd.DataFrame({"code": etf_code(df["代码"]), "name": df["名称"].astype("string")}).drop_duplicates("code")


def parse_fund_etf_category_sina(df: pd.DataFrame) -> pd.DataFrame:
    """fund_etf_category_sina('ETF基金') → ETF list (code, name); codes like 'sh510300'."""
    require_columns(df, ["代码", "名称"], "fund_etf_category_sina")
    return pd.DataFrame({"code": etf_code(df["代码"]), "name": df["名称"].astype("string")}).drop_duplicates("code")


def parse_fund_etf_hist_em(df: pd.DataFrame, code: str, hfq: pd.DataFrame | None = None,
                           volume_unit: str = "lot", amount_unit: str = "cny") -> pd.DataFrame:
    """fund_etf_hist_em(adjust='') → etf_bars of one ETF.

    adj_factor = 收盘(hfq) / 收盘(raw) on the same day where the hfq frame is given (else 1); aum NaN
    (the source has no size history).
    """
    require_columns(df, ["日期", "开盘", "收盘", "最高", "最低", "成交量", "成交额"], "fund_etf_hist_em")
    vm, am = unit(volume_unit, VOLUME_UNITS, "volume"), unit(amount_unit, AMOUNT_UNITS, "amount")
    d = to_dates(df["日期"])
    close = to_float(df["收盘"])
    adj = pd.Series(1.0, index=df.index)
    if hfq is not None and len(hfq):
        require_columns(hfq, ["日期", "收盘"], "fund_etf_hist_em(adjust='hfq')")
        h = pd.Series(to_float(hfq["收盘"]).to_numpy(), index=to_dates(hfq["日期"]))
        h = h[~h.index.duplicated(keep="last")]
        f = (h.reindex(d).to_numpy() / close.to_numpy())
        adj = pd.Series(np.where(np.isfinite(f) & (f > 0), f, 1.0), index=df.index)
    code_s = pd.Series(etf_code(pd.Series([code])).iloc[0], index=df.index, dtype="string")
    out = bars_frame(d, code_s, to_float(df["开盘"]), to_float(df["最高"]), to_float(df["最低"]), close,
                     to_float(df["成交量"]) * vm, to_float(df["成交额"]) * am, adj_factor=adj, aum=np.nan)
    return out[out["close"].notna() & (out["close"] > 0)].reset_index(drop=True)


def parse_stock_zh_index_daily_em(df: pd.DataFrame, code: str, volume_unit: str = "lot",
                                  amount_unit: str = "cny") -> pd.DataFrame:
    """stock_zh_index_daily_em('sh000300') → index_bars (volume in lots → shares)."""
    require_columns(df, ["date", "open", "close", "high", "low", "volume", "amount"], "stock_zh_index_daily_em")
    vm, am = unit(volume_unit, VOLUME_UNITS, "volume"), unit(amount_unit, AMOUNT_UNITS, "amount")
    c = index_code(pd.Series([code])).iloc[0]
    out = bars_frame(to_dates(df["date"]), pd.Series(c, index=df.index, dtype="string"), to_float(df["open"]),
                     to_float(df["high"]), to_float(df["low"]), to_float(df["close"]), to_float(df["volume"]) * vm,
                     to_float(df["amount"]) * am)
    return out[out["close"].notna() & (out["close"] > 0)].reset_index(drop=True)


def parse_index_hist_sw(df: pd.DataFrame) -> pd.DataFrame:
    """index_hist_sw('801010') → index_bars (801010.SI); 成交量 in 1e8 shares, 成交额 in 1e8 CNY."""
    require_columns(df, ["代码", "日期", "收盘", "开盘", "最高", "最低", "成交量", "成交额"], "index_hist_sw")
    code = df["代码"].astype("string").str.strip().str.zfill(6) + ".SI"
    out = bars_frame(to_dates(df["日期"]), code, to_float(df["开盘"]), to_float(df["最高"]), to_float(df["最低"]),
                     to_float(df["收盘"]), to_float(df["成交量"]) * VOLUME_UNITS["100m_share"],
                     to_float(df["成交额"]) * AMOUNT_UNITS["100m_cny"])
    return out[out["close"].notna() & (out["close"] > 0)].reset_index(drop=True)


def parse_stock_zh_index_hist_csindex(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """stock_zh_index_hist_csindex('H00300') → {'index_bars', 'valuation'}.

    成交量 is in 1e4 lots (1e6 shares) and 成交金额 in 1e8 CNY on csindex.com.cn; 滚动市盈率 (when the
    AKShare version returns it) becomes valuation.pe_ttm.
    """
    require_columns(df, ["日期", "指数代码", "开盘", "最高", "最低", "收盘"], "stock_zh_index_hist_csindex")
    code = index_code(df["指数代码"].astype("string").str.strip())
    d = to_dates(df["日期"])
    vol = to_float(df["成交量"]) * VOLUME_UNITS["10k_lot"] if "成交量" in df else np.nan
    amt = to_float(df["成交金额"]) * AMOUNT_UNITS["100m_cny"] if "成交金额" in df else np.nan
    bars = bars_frame(d, code, to_float(df["开盘"]), to_float(df["最高"]), to_float(df["最低"]), to_float(df["收盘"]),
                      vol, amt)
    bars = bars[bars["close"].notna() & (bars["close"] > 0)].reset_index(drop=True)
    out = {"index_bars": bars}
    if "滚动市盈率" in df.columns:
        v = pd.DataFrame({"date": d, "code": code, "pe_ttm": to_float(df["滚动市盈率"]), "pb": np.nan})
        out["valuation"] = v[v["pe_ttm"].notna()].sort_values(["date", "code"]).reset_index(drop=True)
    return out


def parse_index_stock_cons_weight_csindex(df: pd.DataFrame) -> pd.DataFrame:
    """index_stock_cons_weight_csindex('000300') → index_weights; 权重 in % → fractions renormalised to 1."""
    require_columns(df, ["日期", "指数代码", "成分券代码", "权重"], "index_stock_cons_weight_csindex")
    ex = df["交易所"].astype("string") if "交易所" in df else pd.Series(pd.NA, index=df.index, dtype="string")
    digits = df["成分券代码"].astype("string").str.strip().str.zfill(6)
    suffix = np.where(ex.str.contains("上海").fillna(False), ".SH", np.where(ex.str.contains("深圳").fillna(False), ".SZ", ""))
    stock = pd.Series(np.where(suffix == "", stock_code(digits), digits + suffix), index=df.index, dtype="string")
    out = pd.DataFrame({"date": to_dates(df["日期"]), "index_code": index_code(df["指数代码"].astype("string").str.zfill(6)),
                        "stock_code": stock, "weight": to_float(df["权重"]) / 100.0})
    return renormalise_weights(out)


def renormalise_weights(w: pd.DataFrame) -> pd.DataFrame:
    """weight / Σ weight per (date, index_code) snapshot; NaN or negative weights dropped."""
    w = w[w["weight"].notna() & (w["weight"] >= 0)].copy()
    s = w.groupby(["date", "index_code"])["weight"].transform("sum")
    w["weight"] = w["weight"] / s.where(s > 0)
    return w[w["weight"].notna()].sort_values(["date", "index_code", "stock_code"]).reset_index(drop=True)


def parse_stock_zh_a_hist(df: pd.DataFrame, code: str | None = None, volume_unit: str = "lot",
                          amount_unit: str = "cny") -> pd.DataFrame:
    """stock_zh_a_hist(adjust='') → stock_bars.

    pre_close = 收盘 − 涨跌额 (Eastmoney's change is against the ex-right reference price), so
    adj_factor = Π close_{t−1}/pre_close_t is dividend-correct. The source skips suspension days
    (is_suspended False on every row it has) and has no ST flag (is_st False); limit flags use the
    board rules of :func:`._common.limit_flags` (no limit on a code's first row).
    """
    require_columns(df, ["日期", "开盘", "收盘", "最高", "最低", "成交量", "成交额", "涨跌额"], "stock_zh_a_hist")
    vm, am = unit(volume_unit, VOLUME_UNITS, "volume"), unit(amount_unit, AMOUNT_UNITS, "amount")
    raw = df["股票代码"] if "股票代码" in df.columns else pd.Series(code, index=df.index)
    c = stock_code(raw.astype("string"))
    d = to_dates(df["日期"])
    close = to_float(df["收盘"])
    pre = (close - to_float(df["涨跌额"])).round(4)
    t = pd.DataFrame({"code": c, "date": d, "close": close, "pre": pre}).sort_values(["code", "date"], kind="stable")
    adj = adj_factor_from_pre_close(t["code"], t["close"], t["pre"])
    st = pd.Series(False, index=t.index)
    first = ~t["code"].duplicated()
    up, dn = limit_flags(t["code"], t["date"], t["close"], t["pre"], st, pd.Series(True, index=t.index), first)
    src = df.loc[t.index]
    return bars_frame(t["date"], t["code"], to_float(src["开盘"]), to_float(src["最高"]), to_float(src["最低"]), t["close"],
                      to_float(src["成交量"]) * vm, to_float(src["成交额"]) * am, adj_factor=adj, is_st=False,
                      is_suspended=False, limit_up=up, limit_down=dn)


def parse_stock_individual_fund_flow(df: pd.DataFrame, code: str) -> pd.DataFrame:
    """stock_individual_fund_flow → flows: main_net_inflow = 主力净流入-净额 (CNY); other columns NaN."""
    require_columns(df, ["日期", "主力净流入-净额"], "stock_individual_fund_flow")
    c = stock_code(pd.Series([code])).iloc[0]
    out = pd.DataFrame({"date": to_dates(df["日期"]), "code": pd.Series(c, index=df.index, dtype="string"),
                        "net_buy_amount": np.nan, "net_active_buy_amount": np.nan,
                        "main_net_inflow": to_float(df["主力净流入-净额"]), "large_order_net_volume": np.nan,
                        "northbound_value": np.nan})
    return out.sort_values(["date", "code"]).reset_index(drop=True)


# =============================================================================================== fetch
DEFAULT_INDICES = ("000300.SH", "000905.SH", "000852.SH", "000016.SH", "000906.SH", "399006.SZ", "000688.SH")
DEFAULT_TR = ("H00300", "H00905", "H00852")
SW_L1 = ("801010", "801030", "801040", "801050", "801080", "801110", "801120", "801130", "801140", "801150",
         "801160", "801170", "801180", "801200", "801210", "801230", "801710", "801720", "801730", "801740",
         "801750", "801760", "801770", "801780", "801790", "801880", "801890", "801950", "801960", "801970", "801980")
KINDS = ("calendar", "etf_list", "etf_bars", "index_bars", "sw_bars", "tr_index", "index_weights", "stock_bars",
         "stock_flows")
DEFAULT_KINDS = ("calendar", "etf_list", "etf_bars", "index_bars", "sw_bars", "tr_index", "index_weights")


def _ymd(t: pd.Timestamp | None, default: str = "19900101") -> str:
    return default if t is None else pd.Timestamp(t).strftime("%Y%m%d")


def plan(ak, kinds=DEFAULT_KINDS, *, etfs=None, stocks=None, indices=DEFAULT_INDICES, store: RawStore | None = None):
    """The list of :class:`Task` for ``kinds``. ETF codes default to the stored ETF list (fetch
    'etf_list' first, or pass ``etfs``)."""
    tasks: list[Task] = []
    kinds = tuple(kinds)
    if "calendar" in kinds:
        tasks.append(Task("calendar", "sse", lambda s, e: ak.tool_trade_date_hist_sina()))
    if "etf_list" in kinds:
        tasks.append(Task("etf_list", "spot", lambda s, e: ak.fund_etf_spot_em()))
    if "etf_bars" in kinds:
        if etfs is None and store is not None and (lst := store.read("etf_list", "spot")) is not None:
            etfs = list(parse_fund_etf_spot_em(lst)["code"])
        for c in etfs or ():
            c6 = str(c)[:6]
            tasks.append(Task("etf_bars", c, lambda s, e, c6=c6: ak.fund_etf_hist_em(
                symbol=c6, period="daily", start_date=_ymd(s), end_date=_ymd(e), adjust=""), date_col="日期"))
            tasks.append(Task("etf_bars_hfq", c, lambda s, e, c6=c6: ak.fund_etf_hist_em(
                symbol=c6, period="daily", start_date=_ymd(s), end_date=_ymd(e), adjust="hfq"), date_col="日期"))
    if "index_bars" in kinds:
        for c in indices:
            sym = ("sh" if c.endswith(".SH") else "sz") + c[:6]
            tasks.append(Task("index_bars", c, lambda s, e, sym=sym: ak.stock_zh_index_daily_em(
                symbol=sym, start_date=_ymd(s), end_date=_ymd(e)), date_col="date"))
    if "sw_bars" in kinds:
        for c in SW_L1:
            tasks.append(Task("sw_bars", c, lambda s, e, c=c: ak.index_hist_sw(symbol=c, period="day"), date_col="日期"))
    if "tr_index" in kinds:
        for c in DEFAULT_TR:
            tasks.append(Task("tr_index", c, lambda s, e, c=c: ak.stock_zh_index_hist_csindex(
                symbol=c, start_date=_ymd(s, "20050101"), end_date=_ymd(e)), date_col="日期"))
    if "index_weights" in kinds:
        tasks.append(Task("index_weights", "000300", lambda s, e: ak.index_stock_cons_weight_csindex(symbol="000300"),
                          date_col="日期", dedupe_on=("日期", "成分券代码")))
    for c in stocks or ():
        c6 = str(c)[:6]
        if "stock_bars" in kinds:
            tasks.append(Task("stock_bars", c, lambda s, e, c6=c6: ak.stock_zh_a_hist(
                symbol=c6, period="daily", start_date=_ymd(s), end_date=_ymd(e), adjust=""), date_col="日期"))
        if "stock_flows" in kinds:
            mkt = "sh" if str(c).upper().endswith("SH") or c6.startswith("6") else "sz"
            tasks.append(Task("stock_flows", c, lambda s, e, c6=c6, mkt=mkt: ak.stock_individual_fund_flow(
                stock=c6, market=mkt), date_col="日期"))
    return tasks


def fetch(out, *, kinds=DEFAULT_KINDS, etfs=None, stocks=None, start=None, end=None, per_minute: float = 60,
          retries: int = 4, progress: bool = True, client=None, sleep=None, echo=None):
    """Download ``kinds`` into ``<out>/raw/akshare`` (resumable) and return the FetchSummary."""
    import time

    ak = client if client is not None else require("akshare")
    store = RawStore(__import__("pathlib").Path(out) / "raw", SOURCE)
    end = pd.Timestamp(end) if end is not None else pd.Timestamp.today().normalize()
    summary = None
    # the ETF list first, so that the bar tasks can be planned from it
    first = [k for k in kinds if k in ("calendar", "etf_list")]
    rest = [k for k in kinds if k not in first]
    for group in (first, rest):
        if not group:
            continue
        tasks = plan(ak, group, etfs=etfs, stocks=stocks, store=store)
        s = run_tasks(tasks, store, start=start, end=end, limiter=RateLimiter(per_minute, sleep=sleep or time.sleep),
                      retries=retries, progress=progress, sleep=sleep or time.sleep, echo=echo)
        summary = s if summary is None else summary.merge(s)
    return summary


def assemble(store: RawStore) -> dict[str, pd.DataFrame]:
    """Parse everything in the raw store into bundle tables (those it can provide)."""
    out = TableParts()
    add = out.add

    if (c := store.read("calendar", "sse")) is not None and len(c):
        add("calendar", parse_trade_dates(c))
    hfq = store.frames("etf_bars_hfq")
    for key, df in store.frames("etf_bars").items():
        add("etf_bars", parse_fund_etf_hist_em(df, key, hfq.get(key)))
    if (lst := store.read("etf_list", "spot")) is not None and len(lst):
        add("etf_list", parse_fund_etf_spot_em(lst))
    for key, df in store.frames("index_bars").items():
        add("index_bars", parse_stock_zh_index_daily_em(df, key))
    for df in store.frames("sw_bars").values():
        add("index_bars", parse_index_hist_sw(df))
    for df in store.frames("tr_index").values():
        for name, t in parse_stock_zh_index_hist_csindex(df).items():
            add(name, t)
    for df in store.frames("index_weights").values():
        add("index_weights", parse_index_stock_cons_weight_csindex(df))
    for key, df in store.frames("stock_bars").items():
        add("stock_bars", parse_stock_zh_a_hist(df, key))
    for key, df in store.frames("stock_flows").items():
        add("flows", parse_stock_individual_fund_flow(df, key))
    return out.tables()
