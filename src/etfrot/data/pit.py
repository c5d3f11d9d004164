"""Point-in-time access (SPEC §1.2): the one as-of helper every lagged join goes through.

``asof_panel(events, dates)``: for each target date t and code, the value of the event row with the
latest ``effective`` date ≤ t (ties: the last row in input order wins). Fundamentals use
``announce_date`` as effective date, macro ``release_date``, index weights their snapshot date,
industries their 计入日期. Written with numpy ``searchsorted`` over (code, date) keys rather than a
per-code loop or a (dates × codes) ``merge_asof`` frame, so it stays O((E + D·C) log E).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def asof_panel(
    events: pd.DataFrame,
    dates: pd.DatetimeIndex,
    *,
    effective: str,
    code: str,
    value: str,
    codes: pd.Index | None = None,
) -> pd.DataFrame:
    """Panel (dates × codes) of ``value`` as known at each date: latest row with ``effective`` ≤ date.

    Formula: out[t, c] = value[r*], r* = argmax_{r: code_r = c, effective_r ≤ t} (effective_r, order_r).
    A date before a code's first effective date gives NaN (or None for text values).
    """
    dates = pd.DatetimeIndex(dates)
    ev = events[[code, effective, value]].dropna(subset=[code, effective])
    if codes is None:
        codes = pd.Index(pd.unique(ev[code]), name="code").sort_values()
    codes = pd.Index(codes)
    ci = codes.get_indexer(ev[code])
    keep = ci >= 0
    ev, ci = ev[keep], ci[keep]
    eff = ev[effective].to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)  # days: no overflow below
    order = np.lexsort((np.arange(len(ev)), eff, ci))  # by code, then date, then input order
    ci, eff = ci[order], eff[order]
    vals = ev[value].to_numpy()[order]

    d = dates.to_numpy("datetime64[ns]").astype("datetime64[D]").astype(np.int64)
    # Compose (code, date) into one sortable key: code index in the high part. Dates are replaced by
    # their rank among all distinct dates first, so code × span cannot overflow int64.
    uniq = np.unique(np.concatenate([eff, d]))
    span = np.int64(len(uniq) + 1)
    eff_r, d_r = np.searchsorted(uniq, eff).astype(np.int64), np.searchsorted(uniq, d).astype(np.int64)
    ev_key = ci.astype(np.int64) * span + eff_r
    grid_key = (np.arange(len(codes), dtype=np.int64)[None, :] * span + d_r[:, None]).ravel()
    pos = np.searchsorted(ev_key, grid_key, side="right") - 1
    grid_code = np.tile(np.arange(len(codes)), len(d))
    ok = (pos >= 0) & (ci[np.clip(pos, 0, None)] == grid_code) if len(ci) else np.zeros(grid_key.shape, bool)
    if vals.dtype.kind in "fiu":
        out = np.full(grid_key.shape, np.nan)
        out[ok] = vals[pos[ok]].astype(float)
        frame = pd.DataFrame(out.reshape(len(d), len(codes)), index=dates, columns=codes)
    else:
        out = np.full(grid_key.shape, None, dtype=object)
        out[ok] = vals[pos[ok]]
        frame = pd.DataFrame(out.reshape(len(d), len(codes)), index=dates, columns=codes)
    frame.index.name = "date"
    frame.columns.name = "code"
    return frame


def snapshot_expiry(snaps: pd.DatetimeIndex) -> pd.Timestamp:
    """The day after which a series of weight snapshots is no longer in force: its last snapshot plus
    max(31 days, 2 × the median gap between snapshots). Inside the series a snapshot stays in force until the
    next one (a missing month keeps the previous weights); after the series ends — a source that stops, e.g.
    CSI 500 weights that exist only for 2016–2019 — the last snapshot does not go on for years."""
    snaps = pd.DatetimeIndex(snaps).sort_values()
    gap = pd.Series(snaps).diff().median() if len(snaps) > 1 else pd.Timedelta(0)
    return snaps[-1] + max(pd.Timedelta(days=31), 2 * gap)


def active_snapshot(snaps: pd.DatetimeIndex, dates) -> np.ndarray:
    """Position of the snapshot in force on each date: the latest on or before it; −1 before the first and
    after :func:`snapshot_expiry`."""
    snaps = pd.DatetimeIndex(snaps)
    dates = pd.DatetimeIndex(dates)
    pos = snaps.searchsorted(dates, side="right") - 1
    if len(snaps):
        pos[dates > snapshot_expiry(snaps)] = -1
    return pos
