"""Composite scores from several factor panels (seed 001 §4: 等权合成; seed 002: z-scored composite).

composite_t = Σ_f w_f · z_f,t / Σ_f w_f·1[z_f,t finite],   z_f,t = cross-sectional z-score of
direction_f × factor_f over the codes eligible on t (``mask``). A code needs at least
``min_factors`` factors with a value, else NaN.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def zscore(panel: pd.DataFrame, mask: pd.DataFrame | None = None, clip: float | None = None) -> pd.DataFrame:
    """Cross-sectional z-score per date over finite values inside ``mask``: (x − mean_t) / std_t (ddof 0)."""
    x = panel.to_numpy(dtype=float, na_value=np.nan, copy=True)
    if mask is not None:
        x[~mask.reindex(index=panel.index, columns=panel.columns, fill_value=False).to_numpy(bool)] = np.nan
    x[~np.isfinite(x)] = np.nan
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN dates give NaN, as they should
        mu = np.nanmean(x, axis=1, keepdims=True) if x.shape[1] else x
        sd = np.nanstd(x, axis=1, keepdims=True) if x.shape[1] else x
        z = np.where(sd > 0, (x - mu) / np.where(sd > 0, sd, 1.0), np.where(np.isfinite(x), 0.0, np.nan))
    if clip is not None:
        z = np.clip(z, -clip, clip)
    return pd.DataFrame(z, index=panel.index, columns=panel.columns)


def composite_scores(panels: dict[str, pd.DataFrame], directions: dict[str, int] | None = None,
                     weights: dict[str, float] | None = None, *, mask: pd.DataFrame | None = None,
                     min_factors: int = 1, clip: float | None = None) -> pd.DataFrame:
    """Weighted mean of direction-signed cross-sectional z-scores (see module docstring)."""
    if not panels:
        raise ValueError("composite_scores needs at least one factor panel")
    names = list(panels)
    first = panels[names[0]]
    idx = first.index
    cols = first.columns
    if mask is not None:
        idx, cols = mask.index, mask.columns
    zs, ws = [], []
    for n in names:
        d = (directions or {}).get(n, 1)
        zs.append(zscore(panels[n].reindex(index=idx, columns=cols) * d, mask, clip).to_numpy())
        ws.append(float((weights or {}).get(n, 1.0)))
    z = np.stack(zs)
    have = np.isfinite(z)
    w = np.asarray(ws)[:, None, None] * have
    tot = w.sum(axis=0)
    out = np.where((tot > 0) & (have.sum(axis=0) >= min_factors),
                   np.nansum(np.where(have, z, 0.0) * w, axis=0) / np.where(tot > 0, tot, 1.0), np.nan)
    res = pd.DataFrame(out, index=idx, columns=cols)
    res.index.name, res.columns.name = "date", "code"
    return res
