"""Trailing pairwise Pearson correlation of daily returns, updated incrementally between dates.

corr_ij(t) = (n·Σxy − Σx·Σy) / sqrt((n·Σx² − (Σx)²)(n·Σy² − (Σy)²)) over the last ``window`` trading
days up to and including t, on the days where both i and j have a return (pairwise complete, like
``DataFrame.corr``); pairs with fewer than ``min_overlap`` common days get NaN.
Used by MMR (SPEC §6, seed 000 §3.4: "将指数过去5年日度收益率计算两两相关性").

Why by hand: MMR needs a 5-year correlation matrix at every weekly date. Recomputing it from scratch
costs four N×T×N products per date (T = 1250); here the five sums n, Σx, Σx², Σxy for every pair
are kept for the current window and, when the window moves forward by s days, updated with the s
new and the s dropped rows — O(N²·s) per step. The full state is rebuilt every ``refresh_every``
steps (and on any backward or long jump) so that rounding never accumulates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError


class TrailingCorrelation:
    """Incremental trailing correlation over a returns panel (trading date × code).

    ``at(date, codes)`` returns the correlation among ``codes`` over the ``window`` rows ending at the
    last row ≤ ``date``. Dates are best queried in increasing order (the cheap path); any order is
    correct.
    """

    def __init__(self, returns: pd.DataFrame, window: int = 1250, min_overlap: int = 250, refresh_every: int = 104,
                 threads: int | None = 1):
        if window < 2:
            raise ConfigError(f"correlation window must be >= 2 days, got {window}")
        if not 2 <= min_overlap <= window:
            raise ConfigError(f"min_overlap must be in [2, window={window}], got {min_overlap}")
        if not isinstance(returns.index, pd.DatetimeIndex) or not returns.index.is_monotonic_increasing:
            raise ConfigError("returns must be a panel indexed by increasing trading dates")
        self.window, self.min_overlap, self.refresh_every = int(window), int(min_overlap), int(refresh_every)
        self.threads = threads
        self.index = returns.index
        self.codes = pd.Index(returns.columns, dtype=object)
        x = returns.to_numpy(dtype=float, na_value=np.nan)
        self._m = np.isfinite(x)
        self._x = np.where(self._m, x, 0.0)
        self._mf = self._m.astype(float)
        self._lo = self._hi = -1
        self._steps = 0
        self._s: tuple[np.ndarray, ...] | None = None
        self.rebuilds = 0

    # sums over rows [lo, hi): n_ij, sx_ij = Σ x_i m_j, sxx_ij = Σ x_i² m_j, sxy_ij = Σ x_i x_j
    def _sums(self, lo: int, hi: int) -> tuple[np.ndarray, ...]:
        x, m = self._x[lo:hi], self._mf[lo:hi]
        return m.T @ m, x.T @ m, (x * x).T @ m, x.T @ x

    def _move(self, lo: int, hi: int) -> None:
        with _blas_threads(self.threads):
            self._move_sums(lo, hi)

    def _move_sums(self, lo: int, hi: int) -> None:
        step_ok = (self._s is not None and lo >= self._lo and hi >= self._hi and hi - self._hi < self.window
                   and self._steps < self.refresh_every)
        if not step_ok:
            self._s = self._sums(lo, hi)
            self._steps = 0
            self.rebuilds += 1
        elif (lo, hi) != (self._lo, self._hi):
            add = self._sums(self._hi, hi) if hi > self._hi else None
            sub = self._sums(self._lo, lo) if lo > self._lo else None
            s = list(self._s)
            for k in range(4):
                if add is not None:
                    s[k] += add[k]
                if sub is not None:
                    s[k] -= sub[k]
            self._s = tuple(s)
            self._steps += 1
        self._lo, self._hi = lo, hi

    def bounds(self, date) -> tuple[int, int]:
        hi = int(self.index.searchsorted(pd.Timestamp(date), side="right"))
        return max(0, hi - self.window), hi

    def at(self, date, codes=None) -> pd.DataFrame:
        """Correlation matrix among ``codes`` (default all) as of ``date``; NaN below ``min_overlap``."""
        lo, hi = self.bounds(date)
        if hi == 0:
            raise DataMissingError(f"no returns on or before {pd.Timestamp(date):%Y-%m-%d} to correlate")
        self._move(lo, hi)
        if codes is None:
            idx = np.arange(len(self.codes))
            codes = self.codes
        else:
            codes = pd.Index(codes, dtype=object)
            idx = self.codes.get_indexer(codes)
            if (idx < 0).any():
                raise DataMissingError(f"no returns for codes {list(codes[idx < 0][:5])} (returns panel has "
                                       f"{len(self.codes)} codes); pass the returns of every candidate.")
        c = corr_from_sums(*(a[np.ix_(idx, idx)] for a in self._s), min_overlap=self.min_overlap)
        return pd.DataFrame(c, index=codes, columns=codes)

    def overlap(self, date, codes=None) -> pd.DataFrame:
        """Number of common return days per pair in the window as of ``date``."""
        lo, hi = self.bounds(date)
        self._move(lo, hi)
        idx = np.arange(len(self.codes)) if codes is None else self.codes.get_indexer(pd.Index(codes, dtype=object))
        names = self.codes[idx]
        return pd.DataFrame(self._s[0][np.ix_(idx, idx)], index=names, columns=names)


_CONTROLLER = None


def _blas_threads(threads: int | None):
    """Cap BLAS threads while updating sums. The weekly updates are tiny (N×s×N, s ≈ 5) products
    between idle periods; a multi-threaded BLAS wakes its pool for each one, which cost ~5 ms instead
    of ~0.3 ms per product on 2 shared cores (measured). ``None`` leaves the library default."""
    global _CONTROLLER
    from contextlib import nullcontext

    if threads is None:
        return nullcontext()
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=threads, user_api="blas")


def corr_from_sums(n, sx, sxx, sxy, min_overlap: int = 2) -> np.ndarray:
    """Pearson correlation from pairwise sums (sx_ij = Σ x_i over days where j is present, sy = sx.T)."""
    sy, syy = sx.T, sxx.T
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * sxy - sx * sy
        vx = n * sxx - sx * sx
        vy = n * syy - sy * sy
        c = cov / np.sqrt(vx * vy)
    scale = np.maximum(np.abs(n * sxx), 1e-300)
    bad = (n < min_overlap) | (vx <= 1e-12 * scale) | (vy <= 1e-12 * scale.T) | ~np.isfinite(c)
    c = np.clip(c, -1.0, 1.0)
    c[bad] = np.nan
    d = np.diag_indices_from(c)
    c[d] = np.where(np.diag(n) >= min_overlap, 1.0, np.nan)
    return c


def trailing_corr(returns: pd.DataFrame, date, codes=None, window: int = 1250, min_overlap: int = 250) -> pd.DataFrame:
    """One-off trailing correlation at ``date`` among ``codes`` (from scratch; see TrailingCorrelation)."""
    r = returns if codes is None else returns.reindex(columns=pd.Index(codes))
    return TrailingCorrelation(r, window=window, min_overlap=min_overlap).at(date)
