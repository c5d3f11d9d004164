"""Weights for one rebalance date (SPEC §6): equal weight and alpha-weighted with caps (seed 002).

A weights Series is indexed by code, non-negative, and sums to ≤ 1 (the rest is cash).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError


def equal_weights(codes) -> pd.Series:
    """w_i = 1/n over the selected codes (seed 000, seed 001)."""
    codes = pd.Index(codes)
    if codes.has_duplicates:
        raise ConfigError(f"duplicate codes in the selection: {list(codes[codes.duplicated()][:5])}")
    return pd.Series(1.0 / len(codes) if len(codes) else [], index=codes, dtype=float)


def cap_weights(weights: pd.Series, cap: float | None, *, max_iter: int = 1000) -> pd.Series:
    """Cap each weight at ``cap`` and give the excess to the uncapped names in proportion to their weight.

    Iterates w ← min(w, cap); excess spread over names below the cap ∝ their weight, until no weight
    exceeds the cap. The total is kept when feasible (n·cap ≥ total); otherwise every positive name
    gets ``cap`` and the rest stays in cash.
    """
    w = weights.astype(float).copy()
    if cap is None or len(w) == 0:
        return w
    if not 0 < cap <= 1:
        raise ConfigError(f"weight cap must be in (0, 1], got {cap}")
    v = w.to_numpy()
    if (v < 0).any() or not np.isfinite(v).all():
        raise ConfigError("cap_weights needs finite non-negative weights")
    total = v.sum()
    pos = v > 0
    if pos.sum() * cap <= total + 1e-12:  # infeasible (or exactly tight): everyone at the cap
        return pd.Series(np.where(pos, cap, 0.0), index=w.index)
    capped = np.zeros(len(v), bool)
    for _ in range(max_iter):
        over = (v > cap + 1e-15) & ~capped
        if not over.any():
            break
        capped |= over
        free = ~capped & pos
        rest = total - cap * capped.sum()
        v = np.where(capped, cap, v)
        v[free] = v[free] / v[free].sum() * rest
    return pd.Series(v, index=w.index)


def alpha_weights(scores: pd.Series, codes=None, cap: float | None = None, fallback: str = "equal") -> pd.Series:
    """w_i ∝ max(α_i, 0) over the selected codes, capped at ``cap`` with redistribution (seed 002 §6:
    "权重分布" by Alpha). The seed's own table is not reproduced and cannot be by any rule monotone in
    alpha: it prints 2.519 → 24.2 % but 2.395 → 25.4 %; proportional weights give 25.6 % / 24.3 %.

    Names with α ≤ 0 or NaN get 0. If no selected name has α > 0: ``fallback="equal"`` gives equal
    weights (fully invested), ``"cash"`` gives all zeros.
    """
    if fallback not in ("equal", "cash"):
        raise ConfigError(f"alpha_weights fallback must be 'equal' or 'cash', got {fallback!r}")
    s = scores.astype(float) if codes is None else scores.astype(float).reindex(pd.Index(codes))
    a = np.where(np.isfinite(s.to_numpy()), s.to_numpy(), 0.0).clip(min=0.0)
    if a.sum() <= 0:
        w = equal_weights(s.index) if fallback == "equal" else pd.Series(0.0, index=s.index)
    else:
        w = pd.Series(a / a.sum(), index=s.index)
    return cap_weights(w, cap)
