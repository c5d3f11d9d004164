"""Information coefficients (SPEC §3; seed 001 table 4): forward returns, IC / Rank IC per date,
their summary (mean, std, ICIR, IC>0 share, t-stat, Newey–West t-stat).

Everything is row-wise numpy over (dates × codes) arrays: a Rank IC is the Pearson correlation of
within-row average ranks computed on the pairs where both factor and return are known — the same
number as ``scipy.stats.spearmanr`` on each date's dropped-NaN cross-section (and alphalens'
``factor_information_coefficient``), without a per-date ``groupby.apply``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, ValidationError

METHODS = ("pearson", "spearman")


# ---------------------------------------------------------------------- forward returns
def forward_returns(prices: pd.DataFrame, dates, horizon: int | None = None, *, entry_lag: int = 0) -> pd.DataFrame:
    """Return from the close of t (+ ``entry_lag`` days) to the close of the next rebalance date
    (``horizon=None``) or of ``horizon`` trading days later, for each t in ``dates``.

    fwd(t) = P̃_end / P_entry − 1, where P_entry must be a real close (traded on the entry day) and
    P̃ is the close carried forward over suspensions and after a delisting (the position is valued at
    its last price). NaN where the end lies beyond the data.
    """
    prices = _panel(prices, "prices")
    dates = _dates_on(prices.index, dates)
    if horizon is not None and (int(horizon) != horizon or horizon < 1):
        raise ConfigError(f"horizon must be a positive number of trading days or None, got {horizon!r}")
    if entry_lag < 0:
        raise ConfigError(f"entry_lag must be >= 0, got {entry_lag}")
    cal = prices.index
    pos = cal.get_indexer(dates)
    entry = pos + entry_lag
    if horizon is None:
        end = np.append(pos[1:], -1) + entry_lag
        end[-1] = -1
    else:
        end = entry + int(horizon)
    px = prices.to_numpy(float)
    T = len(cal)
    ok = (entry < T) & (end >= 0) & (end < T) & (end > entry)
    out = np.full((len(dates), px.shape[1]), np.nan)
    e, z = entry[ok], end[ok]
    px_end = _rows(px, z)
    if np.isnan(px_end).any():  # carry closes forward only when an end day lacks one
        px_end = prices.ffill().to_numpy(float)[z]
    with np.errstate(invalid="ignore", divide="ignore"):
        m = int(ok.sum())
        if ok[:m].all():  # the usual case: every date but the last (few) has its end inside the data
            np.divide(px_end, _rows(px, e), out=out[:m])
            out[:m] -= 1.0
        else:
            out[ok] = px_end / _rows(px, e) - 1
    return pd.DataFrame(out, index=pd.DatetimeIndex(dates, name="date"), columns=prices.columns, copy=False)


def _rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[idx] as a view when idx is a run of consecutive rows (daily tests), else a copy."""
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and (np.diff(idx) == 1).all():
        return a[idx[0]:idx[-1] + 1]
    return a[idx]


def overlap_lags(dates, calendar, horizon: int | None) -> int:
    """Newey–West lags for overlapping forward returns: ⌈horizon / step⌉ − 1, step = median days between dates."""
    if horizon is None or len(dates) < 2:
        return 0
    pos = pd.DatetimeIndex(calendar).get_indexer(pd.DatetimeIndex(dates))
    step = float(np.median(np.diff(pos)))
    return max(int(math.ceil(horizon / max(step, 1.0))) - 1, 0)


# ---------------------------------------------------------------------- row-wise kernels
def rank_rows(x: np.ndarray) -> np.ndarray:
    """Average ranks (1..n) within each row over its finite values; non-finite stay NaN (ties share the mean
    of their positions, as ``scipy.stats.rankdata``)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValidationError("ranks", None, f"expected a 2-d array, got shape {x.shape}")
    fin = np.isfinite(x)
    out = _ranks(x, fin)
    out[~fin] = np.nan
    return out


def _ranks(x: np.ndarray, fin: np.ndarray) -> np.ndarray:
    """Average ranks among the ``fin`` entries of each row; entries outside ``fin`` get arbitrary values."""
    T, N = x.shape
    if x.size == 0:
        return np.empty_like(x)
    # missing → +inf so they sort last (numpy's SIMD argsort is several times faster without NaN)
    xi = np.where(fin, x, np.inf)
    order = np.argsort(xi, axis=1)
    xs = np.take_along_axis(xi, order, axis=1)
    ranks = np.broadcast_to(np.arange(1, N + 1, dtype=float), (T, N)).copy()
    tie = xs[:, 1:] == xs[:, :-1]
    tie &= np.isfinite(xs[:, 1:])  # the +inf fillers are not ties
    if tie.any():
        start = np.ones((T, N), dtype=bool)
        start[:, 1:] = ~tie
        gid = np.cumsum(start.ravel()) - 1
        sums = np.bincount(gid, weights=ranks.ravel())
        cnts = np.bincount(gid)
        ranks = (sums / cnts)[gid].reshape(T, N)
    out = np.empty_like(ranks)
    np.put_along_axis(out, order, ranks, axis=1)
    return out


def row_corr(a: np.ndarray, b: np.ndarray, method: str = "pearson", min_obs: int = 3, *,
             threads: int | None = None) -> np.ndarray:
    """Per-row correlation of ``a`` and ``b`` over the columns where both are finite.

    Spearman = Pearson of average ranks taken among those jointly finite columns. NaN where fewer
    than ``min_obs`` pairs or a constant row. Two-pass (centred) sums, in place, no per-row loop.
    Large inputs are cut into blocks of rows run on ``threads`` threads (default: up to 4 CPUs;
    numpy's sorts and gathers release the GIL), which also keeps each block in cache.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown correlation method {method!r}; use one of {METHODS}")
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValidationError("ic", None, f"factor and returns have different shapes {a.shape} vs {b.shape}",
                              fix="align both panels to the same dates and codes")
    rows = a.shape[0]
    block = max(1, 200_000 // max(a.shape[1], 1)) if a.ndim == 2 else rows  # ~1.6 MB blocks: cache-sized
    if a.ndim == 2 and rows > block:
        import os
        from concurrent.futures import ThreadPoolExecutor

        n_thr = threads if threads is not None else min(4, os.cpu_count() or 1)
        starts = range(0, rows, block)
        out = np.empty(rows)

        def run(i: int) -> None:
            out[i:i + block] = _row_corr(a[i:i + block], b[i:i + block], method, min_obs)

        if n_thr > 1:
            with ThreadPoolExecutor(n_thr) as ex:
                list(ex.map(run, starts))
        else:
            for i in starts:
                run(i)
        return out
    return _row_corr(a, b, method, min_obs)


def _row_corr(a: np.ndarray, b: np.ndarray, method: str, min_obs: int) -> np.ndarray:
    ok = np.isfinite(a) & np.isfinite(b)
    n = ok.sum(1)
    if method == "spearman":
        m = ((n + 1) / 2.0)[:, None]  # mean of ranks 1..n (ties keep the mean)
        a0 = _ranks(a, ok)
        a0 -= m
        b0 = _ranks(b, ok)
        b0 -= m
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            a0 = np.where(ok, a, 0.0)
            b0 = np.where(ok, b, 0.0)
            a0 -= np.nan_to_num(a0.sum(1) / n)[:, None]
            b0 -= np.nan_to_num(b0.sum(1) / n)[:, None]
    a0[~ok] = 0.0
    b0[~ok] = 0.0
    cov = np.einsum("ij,ij->i", a0, b0)
    va = np.einsum("ij,ij->i", a0, a0)
    vb = np.einsum("ij,ij->i", b0, b0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / np.sqrt(va * vb)
    r[(n < min_obs) | ~(va > 0) | ~(vb > 0)] = np.nan
    return np.clip(r, -1.0, 1.0, out=r, where=np.isfinite(r))


# ---------------------------------------------------------------------- IC
def ic_series(factor: pd.DataFrame, fwd: pd.DataFrame, method: str = "pearson", *, min_obs: int = 3,
              universe: pd.DataFrame | None = None) -> pd.Series:
    """IC_t = corr(factor_t, fwd_t) across codes on each date of ``fwd`` (Pearson or Spearman = Rank IC).

    ``factor`` is read on ``fwd``'s dates and codes; ``universe`` (bool, same layout) masks codes out.
    """
    f, r = align(factor, fwd, universe)
    ic = row_corr(f, r, method, min_obs)
    return pd.Series(ic, index=fwd.index, name="rank_ic" if method == "spearman" else "ic")


def align(factor: pd.DataFrame, fwd: pd.DataFrame, universe: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Factor values on ``fwd``'s dates × codes (and universe mask applied) as two float arrays."""
    _panel(factor, "factor")
    _panel(fwd, "forward returns")
    missing = pd.DatetimeIndex(fwd.index).difference(factor.index)
    if len(missing):
        raise ValidationError("factor", None, "factor panel lacks dates of the test",
                              examples=[d.strftime("%Y-%m-%d") for d in missing[:5]], count=len(missing),
                              fix="compute the factor on the bundle calendar (compute_factor does)")
    f = factor.reindex(index=fwd.index, columns=fwd.columns).to_numpy(float)
    r = fwd.to_numpy(float)
    if universe is not None:
        m = universe.reindex(index=fwd.index, columns=fwd.columns).fillna(False).to_numpy(bool)
        f = np.where(m, f, np.nan)
    return f, r


def newey_west_se(x, lags: int) -> float:
    """Newey–West standard error of the mean: √(S/n), S = γ₀ + 2 Σ_{l=1..L} (1 − l/(L+1)) γ_l, γ_l = (1/n) Σ x̃_t x̃_{t−l}."""
    x = np.asarray(pd.Series(x).dropna(), dtype=float)
    n = len(x)
    if n < 2:
        return float("nan")
    lags = max(0, min(int(lags), n - 1))
    d = x - x.mean()
    s = d @ d / n
    for lag in range(1, lags + 1):
        s += 2 * (1 - lag / (lags + 1)) * (d[lag:] @ d[:-lag]) / n
    return float(np.sqrt(max(s, 0.0) / n))


def ic_summary(ic: pd.Series, *, nw_lags: int = 0) -> dict:
    """mean, std, ICIR = mean/std, share of IC > 0, t = mean / (std/√n), Newey–West t with ``nw_lags``."""
    s = pd.Series(ic, dtype=float).dropna()
    n = len(s)
    mean = float(s.mean()) if n else float("nan")
    std = float(s.std(ddof=1)) if n > 1 else float("nan")
    icir = mean / std if n > 1 and std > 0 else float("nan")
    t = mean / (std / math.sqrt(n)) if n > 1 and std > 0 else float("nan")
    se_nw = newey_west_se(s, nw_lags) if n > 1 else float("nan")
    t_nw = mean / se_nw if se_nw and se_nw > 0 else float("nan")
    return {"n": n, "mean": mean, "std": std, "icir": icir, "pos_share": float((s > 0).mean()) if n else float("nan"),
            "t": t, "t_nw": t_nw, "nw_lags": int(nw_lags)}


# ---------------------------------------------------------------------- helpers
def _panel(p, what: str) -> pd.DataFrame:
    if not isinstance(p, pd.DataFrame):
        raise ValidationError(what, None, f"expected a date × code DataFrame, got {type(p).__name__}")
    if not isinstance(p.index, pd.DatetimeIndex):
        raise ValidationError(what, None, "index is not a DatetimeIndex", fix="index the panel by trading date")
    if not p.index.is_monotonic_increasing or p.index.has_duplicates:
        raise ValidationError(what, None, "dates are unsorted or duplicated", fix="sort the panel by date, one row per date")
    return p


def _dates_on(index: pd.DatetimeIndex, dates) -> pd.DatetimeIndex:
    dates = pd.DatetimeIndex(dates)
    bad = dates.difference(index)
    if len(bad):
        raise ValidationError("dates", None, "rebalance dates that are not on the price panel's calendar",
                              examples=[d.strftime("%Y-%m-%d") for d in bad[:5]], count=len(bad),
                              fix="use etfrot.data.calendar.rebalance_dates(bundle.calendar, freq)")
    if not dates.is_monotonic_increasing or dates.has_duplicates:
        raise ValidationError("dates", None, "rebalance dates unsorted or duplicated", fix="sort and deduplicate them")
    return dates
