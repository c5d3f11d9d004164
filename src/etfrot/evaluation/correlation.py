"""Factor correlation matrix (SPEC §3; seed 001 figure 4): the mean over dates of the cross-sectional
rank (Spearman) correlation of each pair of factors, on the codes where both are known that date."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.evaluation.ic import row_corr


def factor_correlation(factors: dict[str, pd.DataFrame], dates, *, method: str = "spearman", min_obs: int = 3,
                       universe: pd.DataFrame | None = None) -> pd.DataFrame:
    """Symmetric matrix of mean_t corr(f_a(t), f_b(t)) across codes (diagonal 1)."""
    dates = pd.DatetimeIndex(dates)
    names = list(factors)
    if not names:
        return pd.DataFrame()
    codes = factors[names[0]].columns
    for p in factors.values():
        codes = codes.union(p.columns, sort=False)
    mask = None
    if universe is not None:
        mask = universe.reindex(index=dates, columns=codes).fillna(False).to_numpy(bool)
    arr = {}
    for n in names:
        a = factors[n].reindex(index=dates, columns=codes).to_numpy(float)
        arr[n] = np.where(mask, a, np.nan) if mask is not None else a
    out = np.eye(len(names))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            c = row_corr(arr[a], arr[names[j]], method, min_obs)
            out[i, j] = out[j, i] = np.nanmean(c) if np.isfinite(c).any() else np.nan
    return pd.DataFrame(out, index=names, columns=names)
