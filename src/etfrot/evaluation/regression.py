"""Per-period cross-sectional regression t-values (seed 001 table 4: mean |t|, share of |t| > 2).

On each date, OLS of the forward return on the factor with an intercept, r_i = a + b·f_i + e_i, over the
codes where both are known: b = S_fr / S_ff, s² = (S_rr − b·S_fr) / (n − 2), t = b / √(s² / S_ff).
Vectorised over dates (row-wise sums), no loop. (t = ρ·√(n−2)/√(1−ρ²) with ρ the day's Pearson IC.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.evaluation.ic import align


def regression_tstats(factor: pd.DataFrame, fwd: pd.DataFrame, *, min_obs: int = 5,
                      universe: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-date slope ``beta``, its ``t`` value and the number of codes ``n``."""
    f, r = align(factor, fwd, universe)
    ok = np.isfinite(f) & np.isfinite(r)
    n = ok.sum(1).astype(float)
    f0, r0 = np.where(ok, f, 0.0), np.where(ok, r, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mf, mr = f0.sum(1) / n, r0.sum(1) / n
        df = np.where(ok, f0 - mf[:, None], 0.0)
        dr = np.where(ok, r0 - mr[:, None], 0.0)
        sff, sfr, srr = (df * df).sum(1), (df * dr).sum(1), (dr * dr).sum(1)
        b = sfr / sff
        s2 = np.maximum(srr - b * sfr, 0.0) / (n - 2)
        t = b / np.sqrt(s2 / sff)
    bad = (n < max(min_obs, 3)) | ~(sff > 0)
    b[bad], t[bad] = np.nan, np.nan
    t[np.isinf(t)] = np.nan  # perfect fit: t undefined
    return pd.DataFrame({"beta": b, "t": t, "n": n}, index=fwd.index)


def tstat_summary(t: pd.Series) -> dict:
    """mean |t|, share of |t| > 2, mean t (seed 001 table 4's t columns)."""
    s = pd.Series(t, dtype=float).dropna()
    if not len(s):
        return {"abs_t_mean": float("nan"), "abs_t_gt2": float("nan"), "t_mean": float("nan")}
    return {"abs_t_mean": float(s.abs().mean()), "abs_t_gt2": float((s.abs() > 2).mean()), "t_mean": float(s.mean())}
