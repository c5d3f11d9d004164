"""Stock → index aggregation (SPEC §2.5, seed 000 §3.2) and index → ETF mapping.

index_factor(t) = Σ_i w_i(s) · f_i(t) / Σ_{i: f_i(t) known} w_i(s), where s is the latest weight
snapshot on or before t and the sum runs over its constituents that have a value on t;
coverage(t) = Σ_{i: f_i(t) known} w_i(s) / Σ_i w_i(s). An index whose coverage is below
``min_coverage`` gets NaN. Each snapshot segment [s_k, s_{k+1}) is one pair of matrix products
(values · weights, known-mask · weights), so the cost is O(dates × constituents) per index with no
Python loop over rows.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
import pandas as pd

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
    """Per index code: (snapshot dates, row offsets into codes/weights, stock codes, weights), cached per bundle."""
    if bundle not in _GROUPS:
        w = bundle.table("index_weights")
        w = w.assign(index_code=w["index_code"].astype(str)).sort_values(["index_code", "date"], kind="stable")
        out = {}
        for k, g in w.groupby("index_code", sort=False):
            d = g["date"].to_numpy("datetime64[ns]")
            snaps, first = np.unique(d, return_index=True)
            bounds = np.append(first, len(g))
            out[str(k)] = (pd.DatetimeIndex(snaps), bounds, g["stock_code"].astype(str).to_numpy(object),
                           g["weight"].to_numpy(float))
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
        snaps, bounds, scodes, sweights = groups[src]
        starts = dates.searchsorted(snaps, side="left")
        ends = np.append(starts[1:], len(dates))
        cols_all = stocks.get_indexer(scodes)
        for k, (a, b) in enumerate(zip(starts, ends)):
            if a >= b:
                continue
            w = sweights[bounds[k]:bounds[k + 1]]
            if transform is not None:
                w = np.asarray(transform(w), dtype=float)
            total = w.sum()
            if total <= 0:
                continue
            col = cols_all[bounds[k]:bounds[k + 1]]
            ok = col >= 0
            wv, cv = w[ok], col[ok]
            num = F[a:b][:, cv] @ wv
            den = knownf[a:b][:, cv] @ wv
            with np.errstate(invalid="ignore", divide="ignore"):
                out[a:b, j] = np.where(den > 0, num / den, np.nan)
            cov[a:b, j] = den / total
    cov_df = pd.DataFrame(cov, index=dates, columns=pd.Index(index_codes, name="code"))
    val = pd.DataFrame(out, index=dates, columns=pd.Index(index_codes, name="code"))
    val = val.where(cov_df >= min_coverage - 1e-12)
    return val, cov_df


def top_k_equal(k: int) -> Callable[[np.ndarray], np.ndarray]:
    """Weight transform: 1/k on the k largest weights of a snapshot, 0 elsewhere (leader portfolios)."""
    if k < 1:
        raise ConfigError(f"k must be >= 1, got {k}")

    def f(w: np.ndarray) -> np.ndarray:
        out = np.zeros_like(w, dtype=float)
        kk = min(k, len(w))
        top = np.argsort(-w, kind="stable")[:kk]
        out[top] = 1.0 / kk
        return out

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
