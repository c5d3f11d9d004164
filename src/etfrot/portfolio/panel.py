"""From one-date selectors to a weights panel over all rebalance dates (SPEC §6, ARCHITECTURE "Weights").

``weights_panel(selector, dates)`` maps any ``date → weights Series`` function over the dates.
``select_weights(scores, dates, method=…, weighting=…)`` is the ready-made pipeline the strategies use:
scores on each date (row of the panel as of that date) → universe / exclusions → top-N, top-quantile
or MMR → equal or alpha weights. It only reads panel rows on or before each date (point-in-time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError
from etfrot.portfolio.correlation import TrailingCorrelation
from etfrot.portfolio.select import corr_quantile, mmr_select, top_n, top_quantile
from etfrot.portfolio.weights import alpha_weights, equal_weights

METHODS = ("top_n", "top_quantile", "mmr")
WEIGHTINGS = ("equal", "alpha")


def weights_panel(selector: Callable[[pd.Timestamp], pd.Series], dates, *, progress: bool = False) -> pd.DataFrame:
    """Weights panel (rebalance date × code, 0 where not held) from ``selector(date) → weights``.

    Checks every row: finite, ≥ 0, sum ≤ 1 (the rest is cash).
    """
    dates = pd.DatetimeIndex(dates, name="date")
    rows: list[pd.Series] = []
    it = dates
    if progress:
        from rich.progress import track

        it = track(dates, description="selecting")
    for d in it:
        w = selector(d)
        w = pd.Series(w, dtype=float) if not isinstance(w, pd.Series) else w.astype(float)
        v = w.to_numpy()
        if not np.isfinite(v).all() or (v < -1e-12).any() or v.sum() > 1 + 1e-9:
            raise ConfigError(f"selector returned invalid weights on {d:%Y-%m-%d} (need finite, >= 0, sum <= 1): "
                              f"sum={v.sum():.6f}, min={v.min() if len(v) else 0:.6f}")
        rows.append(w[w.to_numpy() > 0])
    codes = pd.Index(sorted(set().union(*[set(r.index) for r in rows])) if rows else [], name="code")
    out = np.zeros((len(dates), len(codes)))
    for i, r in enumerate(rows):
        out[i, codes.get_indexer(r.index)] = r.to_numpy()
    return pd.DataFrame(out, index=dates, columns=codes)


def _asof(panel: pd.DataFrame, dates: pd.DatetimeIndex, name: str) -> np.ndarray:
    pos = pd.DatetimeIndex(panel.index).searchsorted(dates, side="right") - 1
    if (pos < 0).any():
        raise DataMissingError(f"{name} panel has no row on or before {dates[pos < 0][0]:%Y-%m-%d} "
                               f"(it starts {panel.index[0]:%Y-%m-%d}).")
    return pos


def select_weights(
    scores: pd.DataFrame,
    dates=None,
    *,
    method: str = "top_n",
    n: int | None = None,
    q: float = 0.1,
    weighting: str = "equal",
    cap: float | None = None,
    alpha: pd.DataFrame | None = None,
    universe: pd.DataFrame | None = None,
    exclude: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
    lam: float = 0.5,
    candidates: str | float = "all",
    normalize: bool = True,
    window: int = 1250,
    min_overlap: int = 250,
    low_overlap: float | str = 0.0,
    groups: pd.Series | None = None,
    max_corr: float | None = None,
    max_corr_quantile: float | None = None,
    return_mmr: bool = False,
    progress: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Weights panel over ``dates`` (default: every row of ``scores``).

    ``method``: "top_n" (``n``), "top_quantile" (``q``), "mmr" (``n`` picks, default the size of the
    top-``q`` set; ``candidates`` "all" or a quantile — the top share, at least ``n`` codes; ``lam``; correlations of ``returns`` over
    ``window`` days with ``min_overlap``; ``max_corr`` drops names whose correlation with a pick exceeds
    it; ``max_corr_quantile`` q sets that threshold per date to the q-quantile of the known pairwise
    correlations among the date's eligible codes (:func:`etfrot.portfolio.select.corr_quantile`);
    ``low_overlap`` fills unknown correlations — a number, "exclude" or "shrunk" (category-block mean
    over the date's eligible codes, categories from ``groups``); see
    :func:`etfrot.portfolio.select.mmr_select`). ``return_mmr`` (MMR only): also return a table per
    date — candidates, held, dropped (by the threshold / "exclude"), low_overlap_pairs (candidate pairs
    with an unknown correlation), max_corr (the threshold used; NaN: none).
    ``weighting``: "equal" or "alpha" (∝ positive ``alpha`` — default the scores — capped at ``cap``).
    ``universe``: bool panel of eligible codes; ``exclude``: bool panel of codes to drop (e.g. from
    :func:`etfrot.portfolio.exclusions.exclusion_flags`). All panels are read as of each date.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown selection method {method!r}; use one of {list(METHODS)}")
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"unknown weighting {weighting!r}; use one of {list(WEIGHTINGS)}")
    if method == "top_n" and not n:
        raise ConfigError("method 'top_n' needs n (number of holdings)")
    dates = pd.DatetimeIndex(scores.index if dates is None else dates, name="date")
    codes = pd.Index(scores.columns, dtype=object)
    S = scores.to_numpy(dtype=float, na_value=np.nan)
    spos = _asof(scores, dates, "scores")
    upos = _asof(universe, dates, "universe") if universe is not None else None
    U = universe.reindex(columns=codes, fill_value=False).to_numpy(bool) if universe is not None else None
    epos = _asof(exclude, dates, "exclude") if exclude is not None else None
    X = exclude.reindex(columns=codes, fill_value=False).to_numpy(bool) if exclude is not None else None
    A = alpha.reindex(columns=codes).to_numpy(dtype=float, na_value=np.nan) if alpha is not None else None
    apos = _asof(alpha, dates, "alpha") if alpha is not None else None
    tc = None
    if return_mmr and method != "mmr":
        raise ConfigError(f"return_mmr needs method 'mmr', got {method!r}")
    if max_corr is not None and max_corr_quantile is not None:
        raise ConfigError("give max_corr (an absolute threshold) or max_corr_quantile (a per-date quantile), not both")
    if max_corr_quantile is not None and not 0.0 < max_corr_quantile <= 1.0:
        raise ConfigError(f"max_corr_quantile must be in (0, 1], got {max_corr_quantile}")
    if method == "mmr":
        if returns is None:
            raise ConfigError("method 'mmr' needs the daily returns panel of the candidates (returns=...)")
        missing = codes[~codes.isin(returns.columns)]
        if len(missing):
            raise DataMissingError(f"returns panel lacks {len(missing)} scored codes, e.g. {list(missing[:5])}")
        tc = TrailingCorrelation(returns.reindex(columns=codes), window=window, min_overlap=min_overlap)
    row_of = {d: i for i, d in enumerate(dates)}
    diag: dict[pd.Timestamp, tuple] = {}

    def one(d: pd.Timestamp) -> pd.Series:
        i = row_of[d]
        ok = np.isfinite(S[spos[i]])
        if U is not None:
            ok &= U[upos[i]]
        if X is not None:
            ok &= ~X[epos[i]]
        s = pd.Series(S[spos[i]][ok], index=codes[ok])
        if s.empty:
            return pd.Series(dtype=float)
        if method == "top_n":
            picks = top_n(s, n)
        elif method == "top_quantile":
            picks = top_quantile(s, q)
        else:
            k = n or len(top_quantile(s, q))
            cand = top_quantile(s, candidates, min_n=k) if isinstance(candidates, float) else s.index
            wide = low_overlap == "shrunk" or max_corr_quantile is not None  # statistics over all eligible codes
            corr = tc.at(d, s.index if wide else cand)
            thr = corr_quantile(corr, max_corr_quantile) if max_corr_quantile is not None else max_corr
            r = mmr_select(s, corr, n=k, lam=lam, candidates=cand, normalize=normalize, low_overlap=low_overlap,
                           groups=groups, max_corr=None if thr is None or np.isnan(thr) else thr)
            picks = r.selected
            diag[d] = (len(cand), len(picks), len(r.dropped), r.low_overlap_pairs, np.nan if thr is None else thr)
        if weighting == "equal":
            return equal_weights(picks)
        a = pd.Series(A[apos[i]], index=codes) if A is not None else s
        return alpha_weights(a, picks, cap=cap)

    w = weights_panel(one, dates, progress=progress)
    if not return_mmr:
        return w
    cols = ["candidates", "held", "dropped", "low_overlap_pairs", "max_corr"]
    table = pd.DataFrame([diag.get(d, (0, 0, 0, 0, np.nan)) for d in dates], index=dates, columns=cols)
    table = table.astype({c: int for c in cols[:4]})
    return w, table
