"""Clustering of the candidate pool on daily index returns (SPEC §5; seed 001 §2.1–2.2).

* :func:`return_matrix` – codes × days matrix of the tracked indices' daily returns over a window.
* :func:`scan_k` – K-means (scikit-learn, ``n_init`` restarts, fixed seed) for every K in a range with
  WSS (elbow), mean silhouette and the gap statistic, and a recommended K.
* :func:`hierarchical` – scipy linkage (Euclidean; Ward or average …) and a cut into K clusters.
* :func:`representatives` – per cluster the member closest to the centroid, or the largest / most liquid.
* :func:`plot_k_scan`, :func:`plot_dendrogram` – the figures (labelled SYNTHETIC where the data are).

Gap statistic (Tibshirani, Walther & Hastie 2001) is written here because no well-kept library ships
it: Gap(k) = E*[log W*_k] − log W_k with W_k the pooled within-cluster sum of squares, E* the mean over
``refs`` reference data sets drawn uniformly in the bounding box of the data ("box") or of its
principal components ("pca", their preferred variant); s_k = sd_k·sqrt(1 + 1/B); the chosen K is the
smallest k with Gap(k) ≥ Gap(k+1) − s_{k+1}.

Speed: K-means, WSS and silhouettes only depend on Euclidean distances, so with n series of T days
(T > n) all of them are computed on the n principal-component scores of the centred data (an exact
rotation, n ≤ T columns instead of T). The "pca" reference box lives in the same coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError

LINKAGES = ("ward", "average", "complete", "single")


def return_matrix(returns: pd.DataFrame, codes=None, end=None, window: int = 250, min_coverage: float = 0.8,
                  standardize: bool = True) -> tuple[pd.DataFrame, pd.Index]:
    """(codes × days) matrix of daily returns over the ``window`` trading days ending at ``end``.

    Codes with returns on fewer than ``min_coverage`` of the days are dropped (returned second);
    remaining gaps are filled with 0 (a day without a quote adds no co-movement). ``standardize``
    z-scores each series over the window, so that the squared Euclidean distance is 2·T·(1 − ρ) and
    clusters reflect co-movement rather than volatility; ``False`` clusters raw returns.
    """
    r = returns if codes is None else returns.reindex(columns=pd.Index(codes))
    if end is not None:
        r = r.loc[: pd.Timestamp(end)]
    r = r.iloc[-window:]
    if len(r) < 2:
        raise DataMissingError(f"fewer than 2 return days before {end}; widen the window or move the date")
    cov = r.notna().mean()
    keep = cov >= min_coverage
    dropped = pd.Index(r.columns[~keep.to_numpy()])
    x = r.loc[:, keep.to_numpy()].fillna(0.0).T
    if standardize:
        sd = x.std(axis=1, ddof=0)
        flat = sd <= 0
        if flat.any():
            dropped = dropped.append(pd.Index(x.index[flat.to_numpy()]))
            x = x.loc[~flat.to_numpy()]
            sd = sd[~flat]
        x = x.sub(x.mean(axis=1), axis=0).div(sd, axis=0)
    if len(x) < 2:
        raise DataMissingError(f"fewer than 2 series with ≥ {min_coverage:.0%} coverage in the window; "
                               f"dropped {list(dropped[:5])}")
    x.index.name = "code"
    return x, dropped


def _pca_scores(X: np.ndarray) -> np.ndarray:
    """Principal-component scores of the centred rows (an exact rotation of the centred data)."""
    Xc = X - X.mean(axis=0)
    U, s, _ = np.linalg.svd(Xc, full_matrices=False)
    keep = s > s.max(initial=0) * 1e-12
    return U[:, keep] * s[keep]


def _kmeans(X: np.ndarray, k: int, n_init: int, seed: int):
    from sklearn.cluster import KMeans

    if k == 1:
        c = X.mean(axis=0, keepdims=True)
        return np.zeros(len(X), int), c, float(((X - c) ** 2).sum())
    km = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit(X)
    return km.labels_, km.cluster_centers_, float(km.inertia_)


def _threads(threads: int | None):
    """Cap OpenMP/BLAS threads: on a few hundred series one thread is 10–25× faster than an
    oversubscribed pool (sklearn K-means, measured on 2 shared cores); ``None`` leaves them alone."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return nullcontext() if threads is None else threadpool_limits(limits=threads)


def gap_statistic(X: np.ndarray, ks, *, refs: int = 10, reference: str = "pca", n_init: int = 10,
                  ref_n_init: int | None = None, seed: int = 0, wss=None, threads: int | None = 1) -> pd.DataFrame:
    """Gap(k), sd_k, s_k for each k in ``ks`` (see module docstring). ``X``: rows = series."""
    with _threads(threads):
        return _gap(X, ks, refs, reference, n_init, ref_n_init, seed, wss)


def _gap(X, ks, refs, reference, n_init, ref_n_init, seed, wss) -> pd.DataFrame:
    if reference not in ("pca", "box"):
        raise ConfigError(f"gap reference must be 'pca' or 'box', got {reference!r}")
    if refs < 2:
        raise ConfigError(f"gap statistic needs refs >= 2 reference sets, got {refs}")
    ks = list(ks)
    Z = _pca_scores(X) if reference == "pca" else X
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    rng = np.random.default_rng(seed)
    if wss is None:
        wss = [_kmeans(Z, k, n_init, seed)[2] for k in ks]
    logw = np.log(np.asarray(wss, float))
    ref_logw = np.empty((refs, len(ks)))
    for b in range(refs):
        R = rng.uniform(lo, hi, size=Z.shape)
        if reference == "box" and Z.shape[1] > Z.shape[0]:
            R = _pca_scores(R)  # same distances, fewer columns
        for j, k in enumerate(ks):
            ref_logw[b, j] = np.log(_kmeans(R, k, ref_n_init or n_init, seed + 1 + b)[2])
    gap = ref_logw.mean(axis=0) - logw
    sd = ref_logw.std(axis=0, ddof=0)
    return pd.DataFrame({"gap": gap, "gap_sd": sd, "gap_s": sd * np.sqrt(1 + 1 / refs), "log_wss": logw,
                         "ref_log_wss": ref_logw.mean(axis=0)}, index=pd.Index(ks, name="k"))


def gap_choice(table: pd.DataFrame) -> int:
    """Smallest k with Gap(k) ≥ Gap(k+1) − s_{k+1} (Tibshirani's 1-SE rule); the argmax if none."""
    ks, g, s = table.index.to_numpy(), table["gap"].to_numpy(), table["gap_s"].to_numpy()
    for i in range(len(ks) - 1):
        if ks[i + 1] == ks[i] + 1 and g[i] >= g[i + 1] - s[i + 1]:
            return int(ks[i])
    return int(ks[int(np.nanargmax(g))])


def elbow_choice(ks, wss) -> int:
    """The elbow: the point of the (k, WSS) curve farthest from the chord joining its ends (both axes
    scaled to [0, 1]) — the "kneedle" reading of seed 001's 肘部法则."""
    ks, w = np.asarray(ks, float), np.asarray(wss, float)
    if len(ks) < 3:
        return int(ks[0])
    x = (ks - ks[0]) / (ks[-1] - ks[0])
    y = (w - w[-1]) / (w[0] - w[-1]) if w[0] != w[-1] else np.zeros_like(w)
    d = (1 - x) - y  # distance below the chord from (0, 1) to (1, 0), up to a constant factor
    return int(ks[int(np.argmax(d))])


@dataclass
class KScan:
    """Result of :func:`scan_k`: ``table`` (k × wss, silhouette, gap, gap_sd, gap_s), the K each
    criterion picks (``choices``), the recommended ``k`` and the K-means labels for every k."""

    table: pd.DataFrame
    choices: dict[str, int]
    k: int
    labels: dict[int, np.ndarray]
    codes: pd.Index
    params: dict = field(default_factory=dict)

    def labels_of(self, k: int | None = None) -> pd.Series:
        k = self.k if k is None else k
        return pd.Series(self.labels[k] + 1, index=self.codes, name="cluster")


def scan_k(X: pd.DataFrame | np.ndarray, ks=range(1, 16), *, n_init: int = 10, seed: int = 0, refs: int = 10,
           reference: str = "pca", ref_n_init: int | None = None, threads: int | None = 1) -> KScan:
    """K-means for each K in ``ks`` with WSS, silhouette and gap statistic; recommended K.

    The recommendation: the gap statistic's K if at least one other criterion (elbow, best
    silhouette) agrees or none agree with each other; otherwise the K that elbow and silhouette share.
    Seed 001 §2.1 weighs all three ("综合考量了间隔统计量、轮廓系数和肘部算法").
    ``threads``: OpenMP/BLAS threads for K-means (1 is fastest at this size; None = library default).
    """
    with _threads(threads):
        return _scan(X, ks, n_init, seed, refs, reference, ref_n_init)


def _scan(X, ks, n_init, seed, refs, reference, ref_n_init) -> KScan:
    from sklearn.metrics import silhouette_score

    codes = pd.Index(X.index) if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))
    A = np.asarray(X, dtype=float)
    if not np.isfinite(A).all():
        raise ConfigError("clustering input has NaN/inf; build it with return_matrix()")
    n = len(A)
    ks = sorted({int(k) for k in ks if 1 <= int(k) <= n - 1})
    if len(ks) < 2:
        raise ConfigError(f"need at least two K values in [1, {n - 1}] for {n} series")
    Z = _pca_scores(A)
    wss, sil, labels = [], [], {}
    for k in ks:
        lab, _, w = _kmeans(Z, k, n_init, seed)
        labels[k] = lab
        wss.append(w)
        sil.append(silhouette_score(Z, lab) if 2 <= k <= n - 1 and len(set(lab)) > 1 else np.nan)
    gap = _gap(Z if reference == "pca" else A, ks, refs, reference, n_init, ref_n_init, seed, wss)
    table = pd.DataFrame({"wss": wss, "silhouette": sil}, index=pd.Index(ks, name="k")).join(gap)
    choices = {"gap": gap_choice(table), "elbow": elbow_choice(ks, wss)}
    if table["silhouette"].notna().any():
        choices["silhouette"] = int(table["silhouette"].idxmax())
    others = [v for key, v in choices.items() if key != "gap"]
    if choices["gap"] in others or len(set(others)) == len(others):
        k = choices["gap"]
    else:
        k = others[0]
    return KScan(table, choices, k, labels, codes,
                 dict(n_init=n_init, seed=seed, refs=refs, reference=reference, ks=ks))


@dataclass
class HClust:
    """Hierarchical clustering: scipy ``linkage`` matrix, leaf codes, labels of the cut into ``k``."""

    linkage: np.ndarray
    codes: pd.Index
    labels: pd.Series
    method: str
    k: int


def hierarchical(X: pd.DataFrame | np.ndarray, k: int, method: str = "ward") -> HClust:
    """Agglomerative clustering on Euclidean distances (seed 001 §2.2), cut into ``k`` clusters."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if method not in LINKAGES:
        raise ConfigError(f"unknown linkage {method!r}; use one of {list(LINKAGES)}")
    codes = pd.Index(X.index) if isinstance(X, pd.DataFrame) else pd.RangeIndex(len(X))
    A = np.asarray(X, dtype=float)
    if not 1 <= k <= len(A):
        raise ConfigError(f"cannot cut {len(A)} series into k={k} clusters")
    Z = linkage(_pca_scores(A), method=method, metric="euclidean")
    lab = fcluster(Z, t=k, criterion="maxclust")
    return HClust(Z, codes, pd.Series(lab, index=codes, name="cluster"), method, k)


def representatives(X: pd.DataFrame, labels: pd.Series, *, by: str | pd.Series = "centroid",
                    per_cluster: int = 1) -> pd.DataFrame:
    """Representative members of each cluster: closest to the cluster centroid (``by="centroid"``),
    or with the largest value of a Series over codes (``by=aum`` or 20-day amount: largest / most liquid).

    Returns rows (cluster, rank, code, distance or value), ``per_cluster`` per cluster at most.
    """
    labels = labels.reindex(X.index)
    if labels.isna().any():
        raise ConfigError(f"labels missing for codes {list(labels.index[labels.isna()][:5])}")
    lab = labels.to_numpy()
    A = X.to_numpy(dtype=float)
    rows = []
    if isinstance(by, str):
        if by != "centroid":
            raise ConfigError(f"representatives by must be 'centroid' or a Series of sizes, got {by!r}")
        for c in np.unique(lab):
            m = lab == c
            d = np.sqrt(((A[m] - A[m].mean(axis=0)) ** 2).sum(axis=1))
            o = np.lexsort((X.index[m].astype(str), d))[:per_cluster]
            rows += [(c, r + 1, X.index[m][i], d[i]) for r, i in enumerate(o)]
        return pd.DataFrame(rows, columns=["cluster", "rank", "code", "distance"])
    v = by.reindex(X.index).to_numpy(dtype=float)
    for c in np.unique(lab):
        m = np.flatnonzero(lab == c)
        vv = np.where(np.isfinite(v[m]), v[m], -np.inf)
        o = np.lexsort((X.index[m].astype(str), -vv))[:per_cluster]
        rows += [(c, r + 1, X.index[m[i]], v[m[i]]) for r, i in enumerate(o)]
    return pd.DataFrame(rows, columns=["cluster", "rank", "code", by.name or "value"])


def _stamp(fig, label: str) -> None:
    if "SYNTHETIC" in label.upper():
        fig.text(0.5, 0.5, "SYNTHETIC", fontsize=48, color="red", alpha=0.12, ha="center", va="center", rotation=25)


def plot_k_scan(scan: KScan, label: str = ""):
    """Three panels: WSS (elbow), mean silhouette, gap with ±s_k bars; chosen K marked."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    t = scan.table
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.6))
    ax[0].plot(t.index, t["wss"], "o-")
    ax[0].axvline(scan.choices["elbow"], color="grey", ls="--")
    ax[0].set(title=f"Elbow: WSS (K={scan.choices['elbow']})", xlabel="K")
    ax[1].plot(t.index, t["silhouette"], "o-", color="C1")
    if "silhouette" in scan.choices:
        ax[1].axvline(scan.choices["silhouette"], color="grey", ls="--")
    ax[1].set(title=f"Mean silhouette (K={scan.choices.get('silhouette', '—')})", xlabel="K")
    ax[2].errorbar(t.index, t["gap"], yerr=t["gap_s"], fmt="o-", color="C2", capsize=3)
    ax[2].axvline(scan.choices["gap"], color="grey", ls="--")
    ax[2].set(title=f"Gap statistic (K={scan.choices['gap']})", xlabel="K")
    fig.suptitle(f"K-means: choosing K — recommended K={scan.k}" + (f"  [{label}]" if label else ""))
    fig.tight_layout()
    _stamp(fig, label)
    return fig


def plot_dendrogram(h: HClust, names: pd.Series | None = None, label: str = ""):
    """Dendrogram of a hierarchical clustering, leaves named ``code name``, coloured at the K cut."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import dendrogram

    n = len(h.codes)
    leaves = [f"{c} {names[c]}" if names is not None and c in names.index else str(c) for c in h.codes]
    fig, ax = plt.subplots(figsize=(10, max(4, 0.18 * n)))
    hts = h.linkage[:, 2]
    thr = (hts[-h.k] + hts[-(h.k - 1)]) / 2 if 1 < h.k < n else (0 if h.k >= n else None)
    dendrogram(h.linkage, labels=leaves, orientation="left", ax=ax, color_threshold=thr, leaf_font_size=7)
    ax.set_title(f"Hierarchical clustering ({h.method}, Euclidean), cut into K={h.k}" + (f"  [{label}]" if label else ""))
    fig.tight_layout()
    _stamp(fig, label)
    return fig
