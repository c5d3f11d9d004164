"""The SSE trading calendar of the real bundle, from the exchange index files."""

from __future__ import annotations

import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.data.real.context import Ctx

CAL_START = pd.Timestamp("2005-01-04")

DATA_END = pd.Timestamp("2022-12-30")



def build_calendar(ctx: Ctx) -> pd.DatetimeIndex:
    src = ctx.src
    files = {"index_csindex_tr/sh000001.csv": None, "index_csindex_tr/sz399001.csv": None,
             "index_csindex_tr/sh000300.csv": None, "index_broad_11/sh000300.csv": None}
    sets = []
    for f in files:
        d = pd.to_datetime(pd.read_csv(src / f, usecols=["date"])["date"])
        sets.append(pd.DatetimeIndex(d[d >= CAL_START]))
    allv = pd.concat([pd.Series(1, index=s) for s in sets]).groupby(level=0).sum()
    cal = pd.DatetimeIndex(allv.index[allv >= 2]).sort_values()
    cal = cal[cal <= DATA_END]
    single = allv.index[allv < 2]
    ctx.report.add("calendar", ", ".join(files), "SSE trading days: dates with a bar in ≥ 2 of 4 exchange index files",
                   _span(cal), len(cal), 4, "calendar built",
                   note=f"{len(single)} date(s) in one file only dropped: {_ex(single.strftime('%Y-%m-%d'))}" if len(single) else "")
    return cal
