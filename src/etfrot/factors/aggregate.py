"""Stock → index aggregation (SPEC §2.5, seed 000 §3.2) and index → ETF mapping.

index_factor(t) = Σ_i w_i(s) · f_i(t) / Σ_{i: f_i(t) known} w_i(s), where s is the latest weight
snapshot on or before t (while the snapshots are in force: ``data.pit.active_snapshot``) and the sum runs over
its constituents that have a value on t;
coverage(t) = Σ_{i: f_i(t) known} w_i(s) / Σ_i w_i(s). An index whose coverage is below
``min_coverage`` gets NaN. Per index, its snapshots form a dense (snapshots × constituents ever)
weight matrix; each date takes its active snapshot's row, and two row-wise dot products (values ·
weights, known-mask · weights) give numerator and denominator for all dates at once: O(dates ×
constituents) per index, no Python loop over dates, rows or snapshots.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

from etfrot.data.pit import active_snapshot
from etfrot.errors import ConfigError, DataMissingError

DEFAULT_MIN_COVERAGE = 0.5


def weight_source(bundle, index_code: str) -> str | None:
    """The index whose snapshots give ``index_code``'s constituents: itself, else the price index of a
    total-return index (index_info.total_return_of), else None."""
    if not bundle.has("index_weights"):
        return None
    have = _weight_groups(bundle)
    if index_code in have:
        return index_code
    info = bundle.table("index_info")
    tr = info.loc[info["code"].astype(str) == index_code, "total_return_of"]
    if len(tr) and pd.notna(tr.iloc[0]) and str(tr.iloc[0]) in have:
        return str(tr.iloc[0])
    return None


_GROUPS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _weight_groups(bundle) -> dict[str, tuple]:
    """Per index code: (snapshot dates, constituent codes ever, dense weights snapshots × codes), cached per bundle."""
    if bundle not in _GROUPS:
        w = bundle.table("index_weights")
        w = w.assign(index_code=w["index_code"].astype(str)).sort_values(["index_code", "date"], kind="stable")
        out = {}
        for k, g in w.groupby("index_code", sort=False):
            d = g["date"].to_numpy("datetime64[ns]")
            snaps, snap_id = np.unique(d, return_inverse=True)
            codes, code_id = np.unique(g["stock_code"].astype(str).to_numpy(object), return_inverse=True)
            W = np.zeros((len(snaps), len(codes)))
            W[snap_id, code_id] = g["weight"].to_numpy(float)
            out[str(k)] = (pd.DatetimeIndex(snaps), pd.Index(codes), W)
        _GROUPS[bundle] = out
    return _GROUPS[bundle]


def aggregate_to_index(
    stock_panel: pd.DataFrame,
    bundle,
    index_codes=None,
    *,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Weighted average of a stock panel over each index's point-in-time constituents.

    Returns ``(panel, coverage)``, both dates × index codes on ``stock_panel``'s dates. ``transform``
    maps a snapshot's weight vector to the weights actually used (e.g. top-k equal weights for the
    leader effect); coverage is then measured against the transformed weights.
    """
    if not 0 <= min_coverage <= 1:
        raise ConfigError(f"min_coverage must be within [0, 1], got {min_coverage}")
    if not bundle.has("index_weights"):
        raise DataMissingError("aggregating a stock factor to indices needs table 'index_weights' "
                               f"(bundle {bundle.path} has {bundle.tables}); add constituent weights.")
    groups = _weight_groups(bundle)
    if index_codes is None:
        index_codes = list(groups)
    index_codes = [str(c) for c in index_codes]
    dates = pd.DatetimeIndex(stock_panel.index)
    stocks = pd.Index(stock_panel.columns.astype(str))
    F = stock_panel.to_numpy(dtype=float, copy=True)
    known = np.isfinite(F)
    F[~known] = 0.0
    knownf = known.astype(float)
    out = np.full((len(dates), len(index_codes)), np.nan)
    cov = np.full((len(dates), len(index_codes)), np.nan)
    for j, code in enumerate(index_codes):
        src = weight_source(bundle, code)
        if src is None:
            continue
        snaps, codes, W = groups[src]
        if transform is not None:
            W = np.asarray(transform(W), dtype=float)
        total = W.sum(1)
        pos = active_snapshot(snaps, dates)  # snapshot in force on each date (−1: none yet, or the series ended)
        col = stocks.get_indexer(codes)
        ok = col >= 0
        Wd = W[np.clip(pos, 0, None)][:, ok]
        num = np.einsum("ds,ds->d", F[:, col[ok]], Wd)
        den = np.einsum("ds,ds->d", knownf[:, col[ok]], Wd)
        tot = np.where(pos >= 0, total[np.clip(pos, 0, None)], 0.0)
        live = tot > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            out[:, j] = np.where(live & (den > 0), num / den, np.nan)
            cov[:, j] = np.where(live, den / tot, np.nan)
    cov_df = pd.DataFrame(cov, index=dates, columns=pd.Index(index_codes, name="code"))
    val = pd.DataFrame(out, index=dates, columns=pd.Index(index_codes, name="code"))
    val = val.where(cov_df >= min_coverage - 1e-12)
    return val, cov_df


def top_k_equal(k: int) -> Callable[[np.ndarray], np.ndarray]:
    """Weight transform: 1/k on the k largest weights of each snapshot row, 0 elsewhere (leader portfolios).

    Rows are snapshots (zeros = not a member); a snapshot with fewer than k members weights all of
    them equally; ties at the k-th weight go to the lower stock code.
    """
    if int(k) != k or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")

    def f(W: np.ndarray) -> np.ndarray:
        W = np.atleast_2d(np.asarray(W, dtype=float))
        members = (W > 0).sum(1)
        kk = np.minimum(k, members)
        order = np.argsort(-W, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(W.shape[1])[None, :].repeat(len(W), 0), axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((rank < kk[:, None]) & (W > 0), 1.0 / kk[:, None], 0.0)

    return f


def etf_level(index_panel: pd.DataFrame, bundle, etf_codes=None, *, mask_listed: bool = True) -> pd.DataFrame:
    """ETF panel: each ETF takes its tracked index's value (etf_info.tracked_index); NaN while not listed."""
    info = bundle.table("etf_info")
    codes = info["code"].astype(str) if etf_codes is None else pd.Series([str(c) for c in etf_codes])
    tracked = info.assign(code=info["code"].astype(str)).set_index("code")["tracked_index"].astype(str)
    unknown = [c for c in codes if c not in tracked.index]
    if unknown:
        raise ConfigError(f"ETF codes not in etf_info: {unknown[:5]} ({len(unknown)}); check the codes.")
    idx = pd.Index(index_panel.columns.astype(str))
    pos = idx.get_indexer(tracked.reindex(codes).to_numpy())
    vals = index_panel.to_numpy(dtype=float)
    out = np.full((len(index_panel), len(codes)), np.nan)
    ok = pos >= 0
    out[:, ok] = vals[:, pos[ok]]
    res = pd.DataFrame(out, index=index_panel.index, columns=pd.Index(list(codes), name="code"))
    if mask_listed:
        listed = bundle.listed("etf", res.index).reindex(columns=res.columns, fill_value=False)
        res = res.where(listed.to_numpy())
    return res


def tracked_indices(bundle, etf_codes=None) -> list[str]:
    """Distinct tracked indices of the given ETFs (all ETFs by default)."""
    info = bundle.table("etf_info")
    if etf_codes is not None:
        info = info[info["code"].astype(str).isin([str(c) for c in etf_codes])]
    return list(dict.fromkeys(info["tracked_index"].astype(str)))
