"""Exclusion filters of seed 002 (SPEC §6): none / exclude crowded / exclude valuation bubble / double.

A code is flagged when its factor's cross-sectional percentile on the date exceeds the threshold:
pct_i = rank_i / M (average ranks for ties; M = codes with a value), flagged if pct_i > threshold.
E.g. threshold 0.8 drops the most crowded 20 % (seed 002: "剔除拥挤度及高估值ETF"). A NaN factor
value is not flagged (we cannot tell it is crowded) unless ``flag_missing=True``.
Works on one date (Series over codes) or on panels (date × code, percentiles within each row).
"""

from __future__ import annotations

import pandas as pd

from etfrot.errors import ConfigError

MODES = ("none", "crowded", "bubble", "double")


def cross_sectional_percentile(x: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """rank / count within the cross-section (a Series, or each row of a panel), in (0, 1]; NaN stays NaN."""
    if isinstance(x, pd.DataFrame):
        return x.astype(float).rank(axis=1, pct=True, method="average")
    return x.astype(float).rank(pct=True, method="average")


def _flag(x, threshold: float, flag_missing: bool):
    if not 0 <= threshold <= 1:
        raise ConfigError(f"exclusion percentile threshold must be in [0, 1], got {threshold}")
    p = cross_sectional_percentile(x)
    return (p > threshold) | (p.isna() if flag_missing else False)


def exclusion_flags(
    mode: str = "none",
    *,
    crowding: pd.Series | pd.DataFrame | None = None,
    valuation: pd.Series | pd.DataFrame | None = None,
    crowding_pct: float = 0.8,
    bubble_pct: float = 0.8,
    flag_missing: bool = False,
) -> pd.Series | pd.DataFrame:
    """Bool (Series or panel) of codes to exclude under ``mode`` ∈ {none, crowded, bubble, double}.

    ``crowding``: crowding factor (higher = more crowded); ``valuation``: valuation-bubble factor
    (higher = more expensive vs its own history). "double" flags the union of both.
    """
    if mode not in MODES:
        raise ConfigError(f"unknown exclusion mode {mode!r}; use one of {list(MODES)}")
    need = {"crowded": ["crowding"], "bubble": ["valuation"], "double": ["crowding", "valuation"]}.get(mode, [])
    given = {"crowding": crowding, "valuation": valuation}
    missing = [k for k in need if given[k] is None]
    if missing:
        raise ConfigError(f"exclusion mode {mode!r} needs the {missing} factor(s)")
    if crowding is None and valuation is None:
        raise ConfigError("exclusion_flags needs at least one factor to know the codes (crowding or valuation)")
    parts = []
    if crowding is not None:
        parts.append(_flag(crowding, crowding_pct, flag_missing) if mode in ("crowded", "double")
                     else crowding.astype(float).notna() & False)
    if valuation is not None:
        parts.append(_flag(valuation, bubble_pct, flag_missing) if mode in ("bubble", "double")
                     else valuation.astype(float).notna() & False)
    out = parts[0]
    for p in parts[1:]:
        if isinstance(out, pd.DataFrame):
            idx, cols = out.index.union(p.index), out.columns.union(p.columns)
            out = out.reindex(index=idx, columns=cols, fill_value=False) | p.reindex(index=idx, columns=cols,
                                                                                        fill_value=False)
        else:
            idx = out.index.union(p.index)
            out = out.reindex(idx, fill_value=False) | p.reindex(idx, fill_value=False)
    return out.astype(bool)


def apply_exclusions(scores: pd.Series | pd.DataFrame, mode: str = "none", **kwargs) -> pd.Series | pd.DataFrame:
    """Scores with the flagged codes set to NaN (so no selector can pick them); see :func:`exclusion_flags`."""
    if mode == "none":
        return scores
    flags = exclusion_flags(mode, **kwargs)
    f = flags.reindex_like(scores).fillna(False).astype(bool) if isinstance(scores, pd.DataFrame) else \
        flags.reindex(scores.index).fillna(False).astype(bool)
    return scores.mask(f)
