"""Trading calendar helpers: rebalance dates (SPEC §3: last trading day of each week / month)."""

from __future__ import annotations

import pandas as pd

from etfrot.errors import ConfigError

FREQS = ("daily", "weekly", "monthly")


def rebalance_dates(calendar: pd.DatetimeIndex, freq: str, start=None, end=None) -> pd.DatetimeIndex:
    """Last trading day of each week (``weekly``) or month (``monthly``), or every day (``daily``).

    The last period in the calendar may be incomplete; its last available day is included, so that
    ``etfrot signal`` can act on the latest data.
    """
    cal = pd.DatetimeIndex(calendar).sort_values()
    if start is not None:
        cal = cal[cal >= pd.Timestamp(start)]
    if end is not None:
        cal = cal[cal <= pd.Timestamp(end)]
    if freq == "daily":
        return cal.rename("date")
    if freq == "weekly":
        key = cal.to_period("W-SUN")
    elif freq == "monthly":
        key = cal.to_period("M")
    else:
        raise ConfigError(f"unknown rebalance frequency {freq!r}; use one of {FREQS}")
    s = pd.Series(cal, index=cal)
    last = s.groupby(key.to_numpy()).max()
    return pd.DatetimeIndex(last.to_numpy(), name="date")


def periods_per_year(freq: str) -> float:
    """Rebalance periods per year: 252 daily, 52 weekly, 12 monthly."""
    return {"daily": 252.0, "weekly": 52.0, "monthly": 12.0}[freq]
