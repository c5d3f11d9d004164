"""Incremental update of a bundle written by ``import-qlib``: a newer dump adds only the days after the bundle's
last day. Rows of earlier days never change (point in time: what a past run saw stays); where the newer dump
disagrees on them (revised values, rows the bundle lacks), the disagreement is counted in the quality report.
Static tables (stock_info, index_info, index_members) take the newer dump's rows — an interval open before may
now have an end, a stock may now be delisted — and keep the old rows the newer dump no longer has.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from etfrot.data.bundle import Bundle
from etfrot.data.quality import examples as _ex
from etfrot.data.real.context import Ctx
from etfrot.data.schema import coerce_table

DAILY = ("stock_bars", "index_bars")
STATIC_KEYS = {"stock_info": ["code"], "index_info": ["code"], "index_members": ["index_code", "stock_code", "start_date"]}


def _revisions(old: pd.DataFrame, new: pd.DataFrame, cols: list[str]) -> tuple[int, int, list[str]]:
    """(rows on common keys whose values differ, rows of ``new`` the old table lacks, examples)."""
    m = new.merge(old, on=["date", "code"], how="left", suffixes=("", "_old"), indicator=True)
    lacking = int((m["_merge"] == "left_only").sum())
    both = m[m["_merge"] == "both"]
    diff = np.zeros(len(both), bool)
    for c in cols:
        a, b = both[c].to_numpy(dtype=float), both[c + "_old"].to_numpy(dtype=float)
        diff |= ~(np.isclose(a, b, rtol=1e-9, atol=0, equal_nan=True))
    ex = [f"{c} {d:%Y-%m-%d}" for d, c in zip(both["date"][diff][:6], both["code"][diff][:6])]
    return int(diff.sum()), lacking, ex


def append_new_days(ctx: Ctx, old: Bundle, new: dict[str, pd.DataFrame], meta: dict) -> tuple[dict, int, dict]:
    """(tables to write, days appended, meta) for an update of ``old`` with the freshly imported ``new`` tables."""
    rep = ctx.report
    old_cal = old.calendar
    end = old_cal[-1]
    new_cal = pd.DatetimeIndex(new["calendar"]["date"])
    added = new_cal[new_cal > end]
    common = new_cal[(new_cal >= old_cal[0]) & (new_cal <= end)]
    mism = common.symmetric_difference(old_cal[old_cal >= new_cal[0]])
    rep.add("qlib_update_calendar", "qlib (update)", "calendar days of the newer dump vs the bundle on their common span",
            _ex([f"{d:%Y-%m-%d}" for d in mism]), len(mism), 0,
            f"bundle's days kept; {len(added)} new days after {end:%Y-%m-%d} appended")
    out = {"calendar": pd.DataFrame({"date": old_cal.append(added)})}
    for t in DAILY:
        o, n = old.table(t), new[t]
        cols = [c for c in ("open", "high", "low", "close", "volume", "adj_factor") if c in n.columns]
        rev, lacking, ex = _revisions(o, n[n["date"] <= end], cols)
        rep.add(f"qlib_update_{t}", "qlib (update)", f"{t} on days already in the bundle: rows the newer dump revises "
                "and rows the bundle lacks (e.g. stocks new to the dump)", _ex(ex), rev + lacking, 0,
                f"not changed (append only): {rev} revised rows kept as they were, {lacking} rows not added — "
                "import with --full into a new folder to take them")
        out[t] = pd.concat([o, n[n["date"] > end]], ignore_index=True)
    for t, key in STATIC_KEYS.items():
        o, n = old.table(t), coerce_table(t, new[t])
        keep_old = o.merge(n[key], on=key, how="left", indicator=True)["_merge"].to_numpy() == "left_only"
        both = pd.concat([n, o[keep_old]], ignore_index=True)
        if t == "stock_info":  # a listing date seen before stays (the newer dump may start later)
            ld = o.set_index("code")["list_date"]
            both["list_date"] = both["code"].map(ld).fillna(both["list_date"])
        out[t] = both.sort_values(key).reset_index(drop=True)
    for t in ("etf_bars", "etf_info"):
        out[t] = old.table(t)
    om = old.manifest.get("meta") or {}
    meta = {**meta, "window": [om.get("window", [f"{old_cal[0]:%Y-%m-%d}"])[0], f"{out['calendar']['date'].iloc[-1]:%Y-%m-%d}"],
            "calendar": [f"{old_cal[0]:%Y-%m-%d}", f"{out['calendar']['date'].iloc[-1]:%Y-%m-%d}"],
            "updates": [*om.get("updates", []), {"src": meta["src"], "days_added": len(added),
                                                  "after": f"{end:%Y-%m-%d}",
                                                  "at": datetime.now(UTC).isoformat(timespec="seconds")}]}
    return out, len(added), meta
