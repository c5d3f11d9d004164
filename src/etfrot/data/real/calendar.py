"""The SSE trading calendar of the real bundle, from the exchange index files (no date of its own).

A day is a trading day when it is a weekday and at least half (and at least one) of the index files whose
span (first → last bar) covers it have a bar on it. The calendar starts on CSI 300's first day (the first
bar of its files) and ends on the last day the files cover, whatever cut of the data is given; a day
covered by a single file (the others have ended) is reported, as is every file's last day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.data.real.context import Ctx

#: The exchange index files that vote on the trading days: (dataset folder, file); CSI 300 marks the start.
CALENDAR_FILES = (("index_csindex_tr", "sh000001.csv"), ("index_csindex_tr", "sz399001.csv"),
                  ("index_csindex_tr", "sh000300.csv"), ("index_broad_11", "sh000300.csv"))


def build_calendar(ctx: Ctx) -> pd.DatetimeIndex:
    names, sets = [], []
    for folder, f in CALENDAR_FILES:
        d = pd.DatetimeIndex(pd.to_datetime(pd.read_csv(ctx.folder(folder) / f, usecols=["date"])["date"])).unique()
        names.append(f"{ctx.folder(folder).name}/{f}")
        sets.append(d.sort_values())
    start = min(s[0] for s, (_, f) in zip(sets, CALENDAR_FILES) if f == "sh000300.csv")
    days = pd.DatetimeIndex(sorted(set().union(*[set(s) for s in sets])))
    days = days[days >= start]
    has = np.stack([days.isin(s) for s in sets])                                    # files × days
    covers = np.stack([(days >= s[0]) & (days <= s[-1]) for s in sets])
    votes, n_cov = has.sum(axis=0), covers.sum(axis=0)
    weekday = days.day_of_week < 5
    keep = weekday & (votes >= np.maximum(1, np.ceil(n_cov / 2)))
    cal = days[keep]
    dropped = days[~keep]
    single = cal[n_cov[keep] == 1]
    ends = ", ".join(f"{n}: {s[-1]:%Y-%m-%d}" for n, s in zip(names, sets))
    ctx.report.add("calendar", ", ".join(names), "SSE trading days: weekdays with a bar in at least half of the exchange "
                   "index files that cover the day (from CSI 300's first day to the files' last day)", _span(cal),
                   len(cal), len(sets), "calendar built",
                   note=(f"{len(dropped)} date(s) dropped (weekend, or in too few files): "
                         f"{_ex(dropped.strftime('%Y-%m-%d'))}; " if len(dropped) else "") + f"last day per file: {ends}")
    if len(single):
        ctx.report.add("calendar_single_source", ", ".join(names), "days covered by one index file only (the others "
                       "end earlier: a source end, not a holiday)", _span(single), len(single), 1,
                       "kept: the one file that goes on decides")
    ctx.note_span("calendar", cal)
    return cal
