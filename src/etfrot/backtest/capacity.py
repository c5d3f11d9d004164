"""Capacity of a backtest (SPEC §7 "capacity of each trade against the ETF's traded amount"; seed 000 §3.5:
small ETFs cap what the strategy can hold).

Per executed trade: its value in CNY against the ETF's average traded amount over the ``window`` trading
days up to the signal date (``etf_bars.amount``, CNY per day) and against its fund size (``etf_bars.aum``, CNY,
the last value known on the signal date, where the bundle has one):

    participation = |trade value| / amount20,   size share = |trade value| / aum.

Trade values scale with the account: per CNY of starting capital a trade is ``traded · nav_before`` (fractions
of NAV × NAV relative to the start), so the capital at which a statistic (median, worst) of the participation
reaches a level L is ``C_L = L / stat(participation per CNY)`` — exact for the weight-based engine, whose trades
do not depend on capital; for a lot-based run it is the first-order estimate from the trades it made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

LEVELS = (0.05, 0.20)


def trade_participation(result, amount: pd.DataFrame, aum: pd.DataFrame | None = None, *, capital: float = 1e6,
                        window: int = 20) -> pd.DataFrame:
    """One row per executed trade: signal/exec date, code, value (CNY at ``capital``; a lot run uses its own
    capital and values), amount20, participation, per_cny (participation per CNY of capital), aum, aum_share."""
    t = result.trades[result.trades["status"] == "traded"]
    lot_capital = (result.lot_settings or {}).get("capital")
    cap = float(lot_capital) if lot_capital else float(capital)
    vpre = result.rebalances.set_index("signal_date")["nav_before"]
    per_cny_value = t["traded"].to_numpy() * vpre.reindex(t["signal_date"]).to_numpy()
    value = t["value"].abs().to_numpy() if "value" in t.columns else per_cny_value * cap
    dates = pd.DatetimeIndex(t["signal_date"])
    codes = pd.Index(t["code"].astype(str))
    a20 = amount.astype(float).rolling(window, min_periods=1).mean()
    a_at = _lookup(a20, dates, codes)
    size = _lookup(aum.astype(float).ffill(), dates, codes) if aum is not None else np.full(len(t), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(a_at > 0, value / a_at, np.nan)
        per_cny = np.where(a_at > 0, per_cny_value / a_at, np.nan)
        share = np.where(size > 0, value / size, np.nan)
        share_per_cny = np.where(size > 0, per_cny_value / size, np.nan)
    return pd.DataFrame({
        "signal_date": t["signal_date"].to_numpy(), "exec_date": t["exec_date"].to_numpy(),
        "code": pd.array(codes.to_numpy(), dtype="string"), "value": value, "amount20": a_at,
        "participation": part, "per_cny": per_cny, "aum": size, "aum_share": share,
        "aum_per_cny": share_per_cny,
    })


def capacity_thresholds(part: pd.DataFrame, levels=LEVELS) -> pd.DataFrame:
    """Capital (CNY) at which the median / 90th percentile / worst trade reaches each participation level
    of the 20-day average amount (and of fund size where known): ``C_L = L / stat(per-CNY participation)``."""
    rows = []
    per = part["per_cny"].to_numpy(float)
    per = per[np.isfinite(per)]
    aum_per = part["aum_per_cny"].to_numpy(float)
    aum_per = aum_per[np.isfinite(aum_per)]
    for stat, f in (("median trade", np.median), ("90th percentile trade", lambda x: np.quantile(x, 0.9)),
                    ("worst trade", np.max)):
        row = {"trade": stat}
        for lv in levels:
            row[f"capital at {lv:.0%} of amount20"] = lv / f(per) if per.size else np.nan
        for lv in levels:
            row[f"capital at {lv:.0%} of fund size"] = lv / f(aum_per) if aum_per.size else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index("trade")


def _lookup(panel: pd.DataFrame, dates: pd.DatetimeIndex, codes: pd.Index) -> np.ndarray:
    """panel[date, code] for each (date, code) pair, NaN where absent (one vectorised gather)."""
    r = panel.index.get_indexer(dates)
    c = panel.columns.get_indexer(codes)
    v = panel.to_numpy(dtype=float)
    ok = (r >= 0) & (c >= 0)
    out = np.full(len(dates), np.nan)
    out[ok] = v[r[ok], c[ok]]
    return out
