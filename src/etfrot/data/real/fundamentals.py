"""Quarterly fundamentals (BaoStock profit and growth data)."""

from __future__ import annotations

import pandas as pd

from etfrot.data.real.context import Ctx
from etfrot.data.sources import baostock as bs


def build_fundamentals(ctx: Ctx) -> pd.DataFrame:
    f = ctx.folder("fundamentals_bao_670")
    p = pd.read_csv(f / "profit_data.csv.gz", dtype=str)
    g = pd.read_csv(f / "growth_data.csv.gz", dtype=str)
    # one row per (stock, period): a period announced twice (a restatement) keeps its first announcement — the
    # value as first reported, visible from its own pubDate; a later restatement would rewrite the past
    first = dict(keep="first", rule="the first announcement kept (as first reported; the restatement is not used)")
    p = ctx.dedupe(p.sort_values("pubDate", kind="stable"), ["code", "statDate"], "fundamentals_bao_670/profit_data",
                   **first)
    g = ctx.dedupe(g.sort_values("pubDate", kind="stable"), ["code", "statDate"], "fundamentals_bao_670/growth_data",
                   **first)
    out = bs.parse_profit_growth(p, g)
    ctx.note_span("fundamentals_bao_670", out["announce_date"])
    ctx.report.add("fundamentals_derived", "fundamentals_bao_670", "roe_ttm, roe_q and single-quarter eps derived from "
                   "year-to-date roeAvg / netProfit; announce_date = pubDate (max of the reports used)",
                   f"{out['code'].nunique()} stocks", len(out), out["code"].nunique(),
                   f"derived (rows without the earlier quarter have NaN roe_q/roe_ttm: "
                   f"{int(out['roe_q'].isna().sum())}/{int(out['roe_ttm'].isna().sum())})", readme=True)
    ctx.step("fundamentals")
    return out
