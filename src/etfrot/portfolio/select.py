"""Selection at one rebalance date (SPEC §6): top-N, top-quantile and MMR.

Ordering convention everywhere: higher score first; ties by code (ascending) so results are
deterministic. NaN scores are never selected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError


def _clean(scores: pd.Series, universe=None) -> pd.Series:
    if not isinstance(scores, pd.Series):
        raise ConfigError(f"scores must be a pandas Series over codes, got {type(scores).__name__}")
    s = pd.Series(scores.to_numpy(dtype=float, na_value=np.nan), index=pd.Index(scores.index, dtype=object))
    if universe is not None:
        if isinstance(universe, pd.Series) and universe.dtype == bool:
            s = s[universe.reindex(s.index, fill_value=False).to_numpy(dtype=bool)]
        else:
            s = s[pd.Index(universe, dtype=object).get_indexer(s.index) >= 0]
    if s.index.has_duplicates:
        raise ConfigError(f"scores have duplicate codes {list(s.index[s.index.duplicated()][:5])}")
    return s[np.isfinite(s.to_numpy())]


def ranked(scores: pd.Series, universe=None) -> pd.Index:
    """All codes with a score, best first (ties by code)."""
    s = _clean(scores, universe)
    order = np.lexsort((s.index.astype(str).to_numpy(), -s.to_numpy()))
    return s.index[order]


def top_n(scores: pd.Series, n: int, universe=None) -> pd.Index:
    """The ``n`` highest-scoring codes, best first (fewer if fewer have a score)."""
    if n < 1:
        raise ConfigError(f"top_n needs n >= 1, got {n}")
    return ranked(scores, universe)[:n]


def top_quantile(scores: pd.Series, q: float = 0.1, universe=None, min_n: int = 1) -> pd.Index:
    """The top fraction ``q`` of scored codes: n = max(min_n, ceil(q·M)), M = codes with a score.

    Seed 000 §3.3 holds the top 10 % ("排名靠前的10％的指数"); ``ceil`` keeps at least the top decile.
    """
    if not 0 < q <= 1:
        raise ConfigError(f"top_quantile needs 0 < q <= 1, got {q}")
    r = ranked(scores, universe)
    n = max(min_n, math.ceil(q * len(r) - 1e-9))
    return r[:n]


def rank_normalize(scores: pd.Series) -> pd.Series:
    """s ↦ (rank − 1)/(M − 1) ∈ [0, 1] by cross-sectional rank (average ranks for ties; M = 1 ⇒ 1)."""
    s = scores.astype(float)
    r = s.rank(method="average")
    m = int(r.notna().sum())
    return (r - 1) / (m - 1) if m > 1 else r.where(r.isna(), 1.0)


@dataclass
class MMRResult:
    """``selected``: codes in pick order. ``trace``: MMR value of every still-available candidate in
    each round (rounds × candidates; NaN once picked or ineligible). ``scores``: the scores MMR used
    (normalised or not). ``max_corr``: per round, the penalty term max_{j∈S} corr(i, j) of every candidate.
    ``dropped``: candidates made ineligible (correlation above ``max_corr`` with a pick, or an unknown
    correlation with a pick under ``low_overlap="exclude"``), in candidate order. ``low_overlap_pairs``:
    candidate pairs (i < j) whose correlation was unknown (NaN) and so was filled per ``low_overlap``.
    """

    selected: pd.Index
    trace: pd.DataFrame
    scores: pd.Series
    max_corr: pd.DataFrame
    lam: float
    dropped: pd.Index = field(default_factory=lambda: pd.Index([], dtype=object))
    low_overlap_pairs: int = 0

    @property
    def candidates(self) -> pd.Index:
        """Every candidate, best score first."""
        return self.scores.index

    @property
    def picks(self) -> pd.DataFrame:
        """One row per pick: round, code, score, penalty and MMR value at the time it was picked."""
        rows = [(k + 1, c, self.scores[c], self.max_corr.iloc[k][c], self.trace.iloc[k][c])
                for k, c in enumerate(self.selected)]
        return pd.DataFrame(rows, columns=["round", "code", "score", "max_corr", "mmr"])


def corr_quantile(corr, q: float) -> float:
    """The q-quantile of the known off-diagonal pairwise correlations (each pair once; NaN if none):
    the per-date threshold of ``max_corr_quantile`` ("too correlated" = among the top 1 − q of pairs)."""
    c = np.asarray(corr, dtype=float)
    v = c[np.triu_indices_from(c, 1)]
    v = v[np.isfinite(v)]
    return float(np.quantile(v, q)) if v.size else float("nan")


def category_mean_corr(corr: np.ndarray, groups=None) -> np.ndarray:
    """Shrinkage targets for unknown correlations: value_ij = mean of the known off-diagonal correlations
    over pairs (k, l) whose categories are {g_i, g_j} (the pair's category block); where i or j has no
    category (``groups`` code < 0 or None) or the block has no known pair, the mean over every known
    off-diagonal pair (the cross-sectional mean); 0 when nothing is known.
    """
    c = np.asarray(corr, dtype=float)
    m = len(c)
    known = np.isfinite(c) & ~np.eye(m, dtype=bool)
    cz = np.where(known, c, 0.0)
    total = int(known.sum())
    overall = float(cz.sum() / total) if total else 0.0
    out = np.full((m, m), overall)
    if groups is None:
        return out
    g = np.asarray(groups, dtype=int)
    ok = g >= 0
    if not ok.any():
        return out
    k = int(g[ok].max()) + 1
    onehot = np.zeros((m, k))
    onehot[np.flatnonzero(ok), g[ok]] = 1.0
    sums = onehot.T @ cz @ onehot
    counts = onehot.T @ known.astype(float) @ onehot
    block = np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)
    gi = np.where(ok, g, 0)
    val = block[np.ix_(gi, gi)]
    use = ok[:, None] & ok[None, :] & np.isfinite(val)
    return np.where(use, val, out)


def mmr_select(
    scores: pd.Series,
    corr,
    n: int | None = None,
    lam: float = 0.5,
    *,
    candidates: str | float | pd.Index = "all",
    normalize: bool = True,
    low_overlap: float | str = 0.0,
    groups: pd.Series | None = None,
    universe=None,
    min_mmr: float | None = None,
    max_corr: float | None = None,
) -> MMRResult:
    """Maximal marginal relevance (SPEC §6; seed 000 §3.4): greedy argmax_i λ·s_i − (1−λ)·max_{j∈S} corr(i, j).

    ``candidates``: "all" scored codes, a float q (the top-q quantile, :func:`top_quantile`) or an
    explicit index. ``normalize``: scores → [0, 1] by rank within the candidate set
    (:func:`rank_normalize`; off for the seed's worked example, whose scores are used as given).
    ``corr``: DataFrame over codes (at least the candidates; extra codes only feed the "shrunk" means)
    or an array aligned with the candidates. The first pick has S = ∅, so the penalty is 0 and it is
    the best score. ``n``: picks to make (default: all candidates, i.e. the full MMR ordering).
    λ = 1 ⇒ plain top-N.

    ``low_overlap`` says how a NaN correlation (pair with fewer common days than the correlation's
    ``min_overlap``, or a flat return series) counts: a number is used as the correlation (default 0:
    no known co-movement, no penalty — it favours young indices; 1 is maximally cautious); "shrunk"
    uses the pair's category-block mean of the known correlations in ``corr``
    (:func:`category_mean_corr`, categories from ``groups``: code → category; without a category the
    cross-sectional mean); "exclude" makes a candidate ineligible while it has such a pair with a
    selected code. ``low_overlap_pairs`` in the result counts the candidate pairs concerned.
    ``min_mmr``: stop early when the best MMR value falls below it. ``max_corr``: drop (make
    ineligible for good) every candidate whose correlation with a pick exceeds it; the result's
    ``dropped`` lists them.
    """
    if not 0.0 <= lam <= 1.0:
        raise ConfigError(f"MMR lambda must be in [0, 1], got {lam}")
    if not (low_overlap in ("exclude", "shrunk") or isinstance(low_overlap, (int, float))):
        raise ConfigError(f"low_overlap must be a number, 'shrunk' or 'exclude', got {low_overlap!r}")
    s_all = _clean(scores, universe)
    if isinstance(candidates, str):
        if candidates != "all":
            raise ConfigError(f"candidates must be 'all', a quantile in (0, 1] or a list of codes, got {candidates!r}")
        cand = ranked(s_all)
    elif isinstance(candidates, float):
        cand = top_quantile(s_all, candidates)
    else:
        cand = ranked(s_all[pd.Index(candidates, dtype=object).get_indexer(s_all.index) >= 0])
    s = s_all.reindex(cand)
    if normalize:
        s = rank_normalize(s)
    m = len(cand)
    if n is None:
        n = m
    if n < 1:
        raise ConfigError(f"MMR needs n >= 1 picks, got {n}")

    if isinstance(corr, pd.DataFrame):
        rows, cols = pd.Index(corr.index, dtype=object), pd.Index(corr.columns, dtype=object)
        ri, ci = rows.get_indexer(cand), cols.get_indexer(cand)
        missing = cand[(ri < 0) | (ci < 0)]
        if len(missing):
            raise DataMissingError(f"correlation matrix lacks candidates {list(missing[:5])} ({len(missing)} codes); "
                                   "compute it over every candidate.")
        full = corr.to_numpy(dtype=float)
        if low_overlap == "shrunk":
            if not rows.equals(cols):
                raise ConfigError("low_overlap 'shrunk' needs a square correlation frame with the same codes on both axes")
            g = _group_codes(groups, rows)
            fill = category_mean_corr(full, g)[np.ix_(ri, ri)]
        c = full[np.ix_(ri, ci)]
    else:
        c = np.asarray(corr, dtype=float)
        if c.shape != (m, m):
            raise ConfigError(f"corr array has shape {c.shape}; expected ({m}, {m}) aligned with the candidates")
        if low_overlap == "shrunk":
            fill = category_mean_corr(c, _group_codes(groups, cand))
    unknown = ~np.isfinite(c)
    n_unknown = int(np.triu(unknown, 1).sum())
    if low_overlap == "shrunk":
        c = np.where(unknown, fill, c)
    elif low_overlap != "exclude":
        c = np.where(unknown, float(low_overlap), c)

    sv = s.to_numpy(dtype=float)
    available = np.ones(m, bool)
    blocked = np.zeros(m, bool)
    penalty = np.full(m, -np.inf)  # running max_{j∈S} corr(i, j)
    picks, trace, pens = [], [], []
    for _ in range(min(n, m)):
        ok = available & ~blocked
        if not ok.any():
            break
        pen = np.where(ok, penalty if picks else 0.0, np.nan)  # S = ∅: no penalty
        vals = lam * sv - (1.0 - lam) * pen
        best = np.nanmax(vals)
        if min_mmr is not None and best < min_mmr:
            break
        # candidates are in (score desc, code asc) order: the first of the (near-)ties wins
        j = int(np.flatnonzero(vals >= best - 1e-12 * max(1.0, abs(best)))[0])
        trace.append(vals)
        pens.append(pen)
        picks.append(j)
        available[j] = False
        cj = c[:, j]
        if low_overlap == "exclude":
            blocked |= unknown[:, j]
            cj = np.where(unknown[:, j], -np.inf, cj)
        penalty = np.maximum(penalty, cj)
        if max_corr is not None:
            blocked |= penalty > max_corr
    rounds = pd.RangeIndex(1, len(trace) + 1, name="round")
    return MMRResult(
        selected=cand[picks],
        trace=pd.DataFrame(np.array(trace).reshape(len(trace), m), index=rounds, columns=cand),
        scores=s,
        max_corr=pd.DataFrame(np.array(pens).reshape(len(pens), m), index=rounds, columns=cand),
        lam=lam,
        dropped=cand[blocked & available],
        low_overlap_pairs=n_unknown,
    )


def _group_codes(groups, codes: pd.Index) -> np.ndarray | None:
    """Integer category code per code (−1: none) from a code → category Series (None: no categories)."""
    if groups is None:
        return None
    if not isinstance(groups, pd.Series):
        raise ConfigError(f"groups must be a pandas Series code → category, got {type(groups).__name__}")
    g = groups.reindex(codes)
    cat = pd.Categorical(g.to_numpy(dtype=object, na_value=None))
    return np.asarray(cat.codes, dtype=int)
