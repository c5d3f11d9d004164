"""The real bundle: every dataset of ``../shared/data/real`` through the source parsers, each known
defect of its README detected by a rule and listed in a data-quality report (SPEC §1.3).

``build_real(src, out)`` reads the folder (layouts of tushare, AKShare, BaoStock, Wind and qlib), maps
each file to its library's own column layout, parses it with :mod:`etfrot.data.sources`, applies the
defect rules (drop, fix or flag — never silently), derives what the data lacks but the strategies need,
and writes a validated bundle plus ``quality_report.csv`` / ``quality_report.md`` (and the crosswalks
used) beside its tables. Choices, each a rule in the report:

* **Calendar** — SSE trading days from 2005-01-04 (CSI 300's first day): the dates on which at least
  two of the exchange index files (SSE Composite, SZSE Component, CSI 300 from two sources) have a
  bar; a date in one file only is a holiday row and is dropped from every table.
* **ETFs** — the tushare set (unadjusted, with the exchange's ex-right ``pre_close``):
  adj_factor_t = Π_{s≤t} close_{s−1}/pre_close_s, so close·adj_factor gives dividend- and split-correct
  returns (it matches tushare's own ``fund_adj`` to its 3 decimals). An ETF is listed from its first
  traded day (rows before it — NaN prices and NAV placeholders — are dropped) and delisted the day
  after its last bar when its source goes on after it (a series that ends with its source is not). The Eastmoney set is used only where it adds
  days the tushare set lacks (flagged: additively adjusted prices). ``aum`` is NaN: the only sizes are
  a 2025 snapshot, and using them for past dates would be look-ahead (screen on traded amount).
  ``tracked_index`` comes from the 2025 snapshot mapping (static metadata), or for ETFs missing from
  it, from an exact name match; ETFs with no known index and non-equity ETFs (money-market, bond,
  commodity) are dropped and listed. A tracked index without bars still gets an ``index_info`` row
  (category and region from its name) so the ETF stays.
* **Stocks** — BaoStock bars: is_suspended = tradestatus 0, is_st = isST, limit flags from preclose
  and the board rule; industry history from the SW change history with both SW2014 (and older) and
  SW2021 codes mapped to the 31 SW2021 level-1 names (crosswalk learned from the stocks' own
  reclassifications, written beside the bundle). ``stock_source="qlib"`` (``--stock-source qlib``) takes the
  stock bars from the folder's qlib dump instead (every CSI 300/500 member of its window it holds — so the
  CSI 500 and SSE 50 weights find their constituents — without amount, VWAP or ST flags); either way the
  universe's survivorship caveat goes into the manifest and every output.
* **Industry weights** — the real data has no SW index constituents: for every CSI 300 weight
  snapshot, each SW level-1 index 801xxx.SI gets the weights of the CSI 300 members classified in it
  (as of that date), renormalised to 1. A derived proxy, documented as such.
* **Macro** — monthly series with conservative release dates (PMI: the month's last day; CPI/PPI: the
  10th of the next month; money, loans, social financing: the 15th; industrial profits: the 27th;
  others: see :data:`RELEASE_DAY`); daily market series (northbound flows, margin balances) are
  macro series too, visible from their publication day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etfrot.data.bundle import Bundle, write_bundle
from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.real.calendar import build_calendar
from etfrot.data.real.context import Ctx
from etfrot.data.real.etfs import build_etfs, etf_mapping
from etfrot.data.real.fundamentals import build_fundamentals
from etfrot.data.real.indices import build_indices
from etfrot.data.real.industry import derived_sw_weights, sw_industry_history
from etfrot.data.real.macro import RELEASE_DAY, build_macro
from etfrot.data.real.members import build_members, build_weights
from etfrot.data.real.stocks import (
    BAO_CAVEAT,
    build_stock_info,
    build_stocks,
    ipo_days,
    qlib_stocks,
    relimit,
)
from etfrot.data.sources._assemble import index_info_frame
from etfrot.errors import SourceError


def _codes(col: pd.Series) -> set:
    """The distinct values of a code column (pd.unique first: a set over millions of Arrow strings walks them)."""
    return set(pd.unique(col.dropna()))


@dataclass
class RealBuild:
    bundle: Bundle
    report: QualityReport
    timings: dict
    dropped_etfs: pd.DataFrame


def build_real(src: str | Path, out: str | Path, *, etfs=None, stocks=None, stock_source: str = "bao",
               echo=None) -> RealBuild:
    """Build the real bundle at ``out`` from the shared real-data folder ``src``.

    ``etfs`` / ``stocks`` restrict the ETF and stock files read (codes like '510300.SH', '600519.SH'),
    for quick builds; everything else (indices, weights, macro, …) is always complete. ``stock_source``: ``bao``
    (stocks_csi300_bao: 263 stocks of today's CSI 300 list, 2010 on, with amount and ST flags) or ``qlib`` (the qlib
    dump qlib_cn_*: every CSI 300/500 member of its window that it holds, no amount / VWAP / ST flags), so that the
    CSI 500 and SSE 50 weights find their constituents (:func:`etfrot.data.real.stocks.qlib_stocks`).
    """
    if stock_source not in ("bao", "qlib"):
        raise SourceError(f"stock_source must be 'bao' or 'qlib', got {stock_source!r}")
    src, out = Path(src).resolve(), Path(out)
    if not (src / "README.md").exists() or not any(src.glob("etf_tushare_unadj_*")):
        raise SourceError(f"{src} does not look like the real-data folder (../shared/data/real): no README.md or "
                          "etf_tushare_unadj_*/ inside")
    rep = QualityReport()
    ctx = Ctx(src, rep, echo)
    cal = build_calendar(ctx)
    ctx.step("calendar")
    etf = build_etfs(ctx, cal, etfs)
    kept, dropped = etf_mapping(ctx, sorted(etf.bars["code"].unique()), etf.names)
    ctx.step("etf mapping")
    etf_bars = etf.bars[etf.bars["code"].isin(kept["code"])].reset_index(drop=True)
    index_bars, valuation, idx_names = build_indices(ctx, cal)
    industry, crosswalk = sw_industry_history(ctx)
    ctx.step("industries")
    weights = build_weights(ctx)
    members = build_members(ctx)
    # IPO days need the bars' first days: parse, derive the listing days, then switch their limits off
    if stock_source == "qlib":
        sb0, stock_delisted, bars_start, caveats = qlib_stocks(ctx, cal, stocks)
    else:
        sb0, stock_delisted = build_stocks(ctx, cal, stocks)
        bars_start, caveats = pd.Timestamp(ctx.ends["stocks_csi300_bao"]["first"]), [BAO_CAVEAT]
    ipo = ipo_days(ctx, sb0, industry, bars_start)
    stock_bars = relimit(sb0, ipo)
    fundamentals = build_fundamentals(ctx)
    macro = build_macro(ctx, cal)
    sw_w = derived_sw_weights(weights[weights["index_code"] == "000300.SH"], industry)
    rep.add("derived_sw_weights", "csi300_weights × sw_classification", "SW level-1 indices have no constituent weights: "
            "derived from CSI 300 weights of the members in each industry, renormalised per snapshot",
            f"{sw_w['index_code'].nunique()} industries × {sw_w['date'].nunique()} snapshots", len(sw_w),
            sw_w["index_code"].nunique(), "derived (a CSI 300 sub-portfolio proxy, not SW's own constituents)", readme=True)
    index_weights = pd.concat([weights, sw_w], ignore_index=True)
    # index_info: indices with bars + tracked indices (+ members' / weights' indices)
    idx_codes = _codes(index_bars["code"]) | _codes(kept["tracked_index"]) | _codes(index_weights["index_code"]) | _codes(members["index_code"])
    tracked_names = dict(zip(kept["tracked_index"], kept["tracked_name"]))
    allnames = {**{k: v for k, v in tracked_names.items() if isinstance(v, str)}, **{k: v for k, v in idx_names.items() if v}}
    # an index tracked only through a QDII / cross-border ETF (e.g. 中国互联网50 via 513050) is overseas
    xb = kept.loc[kept["category"] == "cross_border", "tracked_index"]
    index_info = index_info_frame(idx_codes, names=allnames, regions={c: "overseas" for c in xb if isinstance(c, str)})
    rep.add("index_region_from_etf", "etf_meta_snapshot_2025", "indices tracked by a cross-border (QDII) ETF whose name "
            "does not say so: region set to overseas", _ex(sorted(set(xb.dropna()))), 0, int(xb.nunique()),
            "region = overseas (the universe screen then excludes them, SPEC §5)")
    nobars = sorted(idx_codes - _codes(index_bars["code"]))
    rep.add("index_without_bars", "index_info", "tracked indices with no bars in the data (category and region inferred "
            "from the name)", _ex(nobars), 0, len(nobars), "index_info row added so their ETFs stay; strategies that "
            "need index bars use the ETF's own prices or skip them")
    # etf_info
    g = etf_bars.groupby("code")["date"].agg(["min", "max"])
    ei = kept.set_index("code").loc[g.index]
    etf_info = pd.DataFrame({"code": g.index, "name": ei["name"].to_numpy(), "tracked_index": ei["tracked_index"].to_numpy(),
                             "list_date": g["min"].to_numpy(),
                             "delist_date": (etf.delisted + pd.Timedelta(days=1)).reindex(g.index).to_numpy(),
                             "manager": ei["manager"].to_numpy(), "fee_rate": ei["fee_rate"].to_numpy(dtype=float),
                             "category": ei["category"].to_numpy()})
    etf_info["delist_date"] = pd.to_datetime(etf_info["delist_date"])
    # stock_info from every referenced stock
    codes = _codes(stock_bars["code"]) | _codes(index_weights["stock_code"]) | _codes(members["stock_code"]) | _codes(fundamentals["code"])
    stock_info = build_stock_info(ctx, codes, stock_bars, industry, members, fundamentals, ipo, stock_delisted,
                                  bars_start)
    industry = industry[industry["code"].isin(codes)].reset_index(drop=True)
    tables = {
        "calendar": pd.DataFrame({"date": cal}),
        "etf_bars": etf_bars, "etf_info": etf_info, "index_bars": index_bars, "index_info": index_info,
        "index_weights": index_weights, "index_members": members, "stock_bars": stock_bars, "stock_info": stock_info,
        "stock_industry": industry, "fundamentals": fundamentals, "valuation": valuation, "macro": macro,
    }
    rep.add("no_fund_flows", "—", "no per-stock or per-index fund flows (主力净流入, 大单净买入) and no ETF size history in "
            "the real data", "", 0, 0, "table 'flows' absent: flow factors are skipped on this bundle; northbound and "
            "margin are market-level macro series", readme=True)
    ctx.step("assemble")
    meta = {"src": str(src), "stock_source": stock_source, "restricted": {"etfs": list(etfs) if etfs is not None else None,
                                            "stocks": list(stocks) if stocks is not None else None},
            "calendar": [f"{cal[0]:%Y-%m-%d}", f"{cal[-1]:%Y-%m-%d}"], "quality_report": "quality_report.md",
            "datasets_read": sorted(ctx.read), "inputs": ctx.ends,
            "notes": f"real A-share data {cal[0]:%Y-%m-%d} → {cal[-1]:%Y-%m-%d} from {src}; aum unknown (NaN); "
                     "SW industry weights derived from CSI 300"}
    bundle = write_bundle(out, tables, source=f"real:{src}", meta=meta, caveats=caveats)
    ctx.step("write")
    rep.write(out)
    crosswalk.to_csv(out / "sw_crosswalk.csv", index=False)
    dropped.to_csv(out / "dropped_etfs.csv", index=False)
    (out / "build_timings.json").write_text(json.dumps(ctx.timings, indent=1))
    return RealBuild(bundle=bundle, report=rep, timings=ctx.timings, dropped_etfs=dropped)


__all__ = ["build_real", "RealBuild", "QualityReport", "derived_sw_weights", "RELEASE_DAY"]
