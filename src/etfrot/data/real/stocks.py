"""Stock bars (BaoStock layout), listing days and stock_info."""

from __future__ import annotations

import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.real.context import Ctx, cal_align, read_many, source_end
from etfrot.data.sources import baostock as bs
from etfrot.data.sources._common import (
    repair_ohlc,
    stock_code,
    to_float,
)


def build_stocks(ctx: Ctx, cal, stocks=None, ipo: dict | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """(stock bars, delisted stocks: code → last traded day)."""
    rep = ctx.report
    folder = ctx.folder("stocks_csi300_bao") / "bao"
    paths = sorted(folder.glob("*.csv.gz"))
    if stocks is not None:
        want = {str(s)[:6] for s in stocks}
        paths = [p for p in paths if p.name[:6] in want]
    raw = read_many(paths, lambda p: p.name[:6], strings=("date", "code"))
    raw = ctx.dedupe(raw, ["code", "date"], "stocks_csi300_bao")
    allv = raw if stocks is None else read_many(sorted(folder.glob("*.csv.gz")), lambda p: p.name[:6],
                                                strings=("date", "code"), columns=["date", "code", "tradestatus"])
    traded = pd.to_datetime(allv["date"]).where(to_float(allv["tradestatus"]).to_numpy() == 1)
    last = traded.groupby(stock_code(allv["code"]).to_numpy()).max().dropna()
    delisted, end = source_end(ctx, "stocks_csi300_bao", last)
    ctx.note_span("stocks_csi300_bao", [pd.to_datetime(allv["date"]).min(), end])
    for c in ("close", "preclose", "volume", "tradestatus"):
        raw[c + "_f"] = to_float(raw[c])
    raw["code_n"] = stock_code(raw["code"])
    raw["date_d"] = pd.to_datetime(raw["date"])
    raw = raw.sort_values(["code_n", "date_d"]).reset_index(drop=True)
    prev = raw.groupby("code_n")["close_f"].shift(1)
    susp = raw["tradestatus_f"] == 0
    anomaly = susp & prev.notna() & ((prev - raw["preclose_f"]).abs() > 1e-6)
    rep.add("stock_suspended_preclose", "stocks_csi300_bao", "suspension rows whose preclose differs from the previous "
            "close (e.g. 601607 on 2010-03-05: +227 % on a suspended day)",
            _ex(sorted(raw.loc[anomaly, "code_n"].unique())), int(anomaly.sum()), int(raw.loc[anomaly, "code_n"].nunique()),
            "fixed: adj_factor does not step on suspension days (their preclose is not a trading reference)")
    vnan = raw["volume_f"].isna()
    rep.add("stock_volume_nan", "stocks_csi300_bao", "rows without volume/amount (all suspension days)",
            _ex(sorted(raw.loc[vnan, "code_n"].unique())), int(vnan.sum()), int(raw.loc[vnan, "code_n"].nunique()),
            "volume = amount = 0")
    ret = raw["close_f"] / raw["preclose_f"] - 1
    first = ~raw["code_n"].duplicated()
    big = (ret.abs() > 0.5) & ~susp
    rep.add("stock_listing_jumps", "stocks_csi300_bao", "first-day returns of new listings and relisting jumps "
            "(|close/preclose − 1| > 50 %)", _ex([f"{c} {d:%Y-%m-%d} {r:+.0%}" for c, d, r in
                                                 zip(raw.loc[big, "code_n"], raw.loc[big, "date_d"], ret[big])]),
            int(big.sum()), int(raw.loc[big, "code_n"].nunique()),
            f"kept (real prices); {int((big & first).sum())} are a series' first row, which has no return in the bundle",
            readme=True, readme_count="e.g. +202 %, +374 %")
    hs = pd.read_csv(ctx.folder("stocks_csi300_bao") / "hs300_stocks.csv", dtype=str)
    rep.add("stock_universe_bias", "stocks_csi300_bao", "universe = CSI 300 list of 2024-08 without ChiNext "
            "(survivorship-biased as a historical universe)", f"{len(paths)} stock files; list of {len(hs)}", 0,
            len(paths), "flagged: use index_weights / index_members (point in time) as the universe", readme=True)
    bars = bs.parse_k_data(raw[["date", "code", "open", "high", "low", "close", "preclose", "volume", "amount",
                                "tradestatus", "isST"]], list_dates=ipo or None)
    bars, n_bad = repair_ohlc(bars, nullable=False)
    if n_bad:
        rep.add("stock_ohlc_inconsistent", "stocks_csi300_bao", "high < low or close outside [low, high]", "", n_bad, 0,
                "high/low widened to contain open and close")
    bars = cal_align(ctx, bars, cal, "stocks_csi300_bao")
    ctx.step("stocks")
    return bars, delisted


#: the stock universe's survivorship caveat of the BaoStock files (every output built on the bundle carries it)
BAO_CAVEAT = ("survivorship bias: the stocks are the CSI 300 list of 2024-08 without ChiNext (stocks_csi300_bao), "
              "not the historical universe; index_weights / index_members give point-in-time membership")


def qlib_stocks(ctx: Ctx, cal, stocks=None) -> tuple[pd.DataFrame, pd.Series, pd.Timestamp, list[str]]:
    """``build-real --stock-source qlib``: (stock bars, delisted: code → last traded day, the bars' first day,
    caveats) from the folder's qlib dump (``qlib_cn_*``: every CSI 300/500 member of its window, raw prices,
    no amount / VWAP / ST flags) instead of the BaoStock files; read by :func:`etfrot.data.qlib_import.read_qlib`,
    its quality rules reported with the build's."""
    import numpy as np

    from etfrot.data.qlib_import import read_qlib
    from etfrot.data.sources.qlib import read_calendar

    d = ctx.folder("qlib_cn_2014_2022")
    cal_q = read_calendar(d)
    q = read_qlib(ctx, d, cal_q, np.ones(len(cal_q), dtype=bool))
    bars = q.tables["stock_bars"]
    if stocks is not None:
        bars = bars[bars["code"].isin({str(c) for c in stocks})].reset_index(drop=True)
    info = q.tables["stock_info"].set_index("code")
    delisted = (info["delist_date"].dropna() - pd.Timedelta(days=1)).rename("last")
    bars = cal_align(ctx, bars, cal, "qlib stock_bars")
    ctx.step("stocks (qlib)")
    have = pd.unique(bars["code"])  # the distinct codes: isin over 2 M Arrow strings walks them one by one
    return bars, delisted[delisted.index.isin(list(have))], pd.Timestamp(bars["date"].min()), q.caveats



def build_stock_info(ctx: Ctx, codes: set, bars: pd.DataFrame, industry: pd.DataFrame, members: pd.DataFrame,
                     fundamentals: pd.DataFrame, ipo: dict, delisted: pd.Series, bars_start) -> pd.DataFrame:
    names = {}
    snap = pd.read_csv(ctx.folder("sw_classification") / "SwClass_2014_snapshot.csv", dtype=str)
    names.update(dict(zip(stock_code(snap["股票代码"]), snap["股票名称"])))
    hs = pd.read_csv(ctx.folder("stocks_csi300_bao") / "hs300_stocks.csv", dtype=str)
    names.update(dict(zip(stock_code(hs["code"]), hs["code_name"])))
    first_seen = pd.concat([
        bars.groupby("code")["date"].min(),
        industry.groupby("code")["date"].min(),
        members.groupby("stock_code")["start_date"].min(),
    ]).groupby(level=0).min().dt.normalize()
    # last resort for stocks known only from their reports (e.g. filed before listing): the first announcement
    first_report = fundamentals.groupby("code")["announce_date"].min()
    only_reports = first_report.index.difference(first_seen.index)
    first_seen = pd.concat([first_seen, first_report[only_reports].dt.normalize()])
    latest_ind = industry.sort_values("date").groupby("code")["industry_l1"].last()
    codes = sorted(codes)
    ld = [ipo.get(c) if c in ipo else first_seen.get(c, bars_start) for c in codes]
    dl = (delisted + pd.Timedelta(days=1)).reindex(codes)
    no_name = [c for c in codes if c not in names]
    ctx.report.add("stock_info_sources", "stock_info", "stocks referenced by bars, weights, memberships or fundamentals; "
                   "names from the SW2014 snapshot / CSI 300 list; list_date = first bar for listings inside the bar "
                   "window, else the earliest SW, membership or announcement date (approximate); delist_date = the day after the last "
                   "traded bar of a stock whose bars stop while the source goes on, else unknown (stocks without bars "
                   "included)", f"{len(no_name)} without a name (name = code); {len(only_reports)} known only from reports "
                   f"(list_date = first announcement: {_ex(only_reports)})", len(codes), len(codes),
                   f"built; {int(dl.notna().sum())} delist dates")
    return pd.DataFrame({"code": codes, "name": [names.get(c) or c for c in codes], "list_date": ld,
                         "delist_date": dl.to_numpy(), "industry_l1": [latest_ind.get(c) for c in codes]})


def ipo_days(ctx: Ctx, bars: pd.DataFrame, industry: pd.DataFrame, bars_start) -> dict:
    """Listing day of stocks that listed inside the bar window (their series starts after the source's first
    day ``bars_start``): their first traded bar, when their SW history also starts near it (else they listed
    earlier and the window starts later)."""
    if bars.empty:
        return {}
    traded = bars[~bars["is_suspended"]]
    first = traded.groupby("code")["date"].min()
    first_all = bars.groupby("code")["date"].min()
    sw_first = industry.groupby("code")["date"].min()
    out = {}
    for c, d in first.items():
        if first_all[c] <= bars_start:
            continue
        s = sw_first.get(c)
        if s is None or s >= d - pd.Timedelta(days=120):
            out[c] = d
    return out


def relimit(bars: pd.DataFrame, ipo: dict) -> pd.DataFrame:
    """Switch limit flags off on the listing days of ``ipo`` stocks (no price limit there)."""
    if not ipo or bars.empty:
        return bars
    b = bars.sort_values(["date", "code"]).reset_index(drop=True)
    rows = b.index[b["code"].isin(list(ipo))]  # only the listing stocks' rows can change
    sub = b.loc[rows, ["code", "date"]].sort_values(["code", "date"])
    ld = sub["code"].map(pd.Series(ipo, dtype="datetime64[ns]"))
    hit = sub.index[bs.no_limit_rows(sub["code"], sub["date"], ld)]
    b.loc[hit, ["limit_up", "limit_down"]] = False
    return b
