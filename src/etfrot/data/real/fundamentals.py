"""Quarterly fundamentals (BaoStock profit and growth data)."""

from __future__ import annotations

import pandas as pd

from etfrot.data.real.context import Ctx
from etfrot.data.sources import baostock as bs


def build_fundamentals(ctx: Ctx) -> pd.DataFrame:
    f = ctx.src / "fundamentals_bao_670"
    p = pd.read_csv(f / "profit_data.csv.gz", dtype=str)
    g = pd.read_csv(f / "growth_data.csv.gz", dtype=str)
    out = bs.parse_profit_growth(p, g)
    ctx.report.add("fundamentals_derived", "fundamentals_bao_670", "roe_ttm, roe_q and single-quarter eps derived from "
                   "year-to-date roeAvg / netProfit; announce_date = pubDate (max of the reports used)",
                   f"{out['code'].nunique()} stocks", len(out), out["code"].nunique(),
                   f"derived (rows without the earlier quarter have NaN roe_q/roe_ttm: "
                   f"{int(out['roe_q'].isna().sum())}/{int(out['roe_ttm'].isna().sum())})", readme=True)
    ctx.step("fundamentals")
    return out
