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

    import sklearn.cluster  # noqa: F401  (load its OpenMP runtime first: threadpoolctl only limits loaded libraries)
    import sklearn.metrics  # noqa: F401
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


GAP_RULES = ("1se", "global_se", "max")


def gap_choice(table: pd.DataFrame, rule: str = "1se") -> int:
    """K from the gap curve (Tibshirani, Walther & Hastie 2001; names as in R ``cluster::clusGap``):

    * "1se" (Tib2001SEmax, default): smallest k with Gap(k) ≥ Gap(k+1) − s_{k+1} (argmax if none);
    * "global_se" (globalSEmax, Dudoit & Fridlyand 2002): smallest k with Gap(k) ≥ Gap(k*) − s_{k*},
      k* the global maximum — robust to a flat start of the curve (one strong common factor);
    * "max": the global maximum k*.
    """
    if rule not in GAP_RULES:
        raise ConfigError(f"unknown gap rule {rule!r}; use one of {list(GAP_RULES)}")
    ks, g, s = table.index.to_numpy(), table["gap"].to_numpy(), table["gap_s"].to_numpy()
    j = int(np.nanargmax(g))
    if rule == "max":
        return int(ks[j])
    if rule == "global_se":
        return int(ks[int(np.flatnonzero(g >= g[j] - s[j])[0])])
    for i in range(len(ks) - 1):
        if ks[i + 1] == ks[i] + 1 and g[i] >= g[i + 1] - s[i + 1]:
            return int(ks[i])
    return int(ks[j])


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
    notes: list = field(default_factory=list)

    def labels_of(self, k: int | None = None) -> pd.Series:
        k = self.k if k is None else k
        return pd.Series(self.labels[k] + 1, index=self.codes, name="cluster")


def scan_k(X: pd.DataFrame | np.ndarray, ks=range(1, 16), *, n_init: int = 10, seed: int = 0, refs: int = 10,
           reference: str = "pca", ref_n_init: int | None = None, threads: int | None = 1, min_k: int = 1,
           gap_rule: str = "1se") -> KScan:
    """K-means for each K in ``ks`` with WSS, silhouette and gap statistic; recommended K.

    The recommendation: the gap statistic's K if at least one other criterion (elbow, best
    silhouette) agrees or none agree with each other; otherwise the K that elbow and silhouette share.
    Seed 001 §2.1 weighs all three ("综合考量了间隔统计量、轮廓系数和肘部算法").
    ``threads``: OpenMP/BLAS threads for K-means (1 is fastest at this size; None = library default).
    ``min_k``: the criteria choose among K ≥ min_k (2 when a partition is wanted even where the gap
    rule over all K would say "one cluster"; that case is noted in ``notes``). ``gap_rule``: "1se"
    (Tibshirani's standard-error rule, default) or "max" (see :func:`gap_choice`).
    """
    if gap_rule not in GAP_RULES:
        raise ConfigError(f"unknown gap rule {gap_rule!r}; use one of {list(GAP_RULES)}")
    with _threads(threads):
        return _scan(X, ks, n_init, seed, refs, reference, ref_n_init, min_k, gap_rule)


def _scan(X, ks, n_init, seed, refs, reference, ref_n_init, min_k, gap_rule) -> KScan:
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
    sub = table[table.index >= min_k]
    if len(sub) < 2:
        raise ConfigError(f"need at least two K values ≥ min_k={min_k} in {ks}")
    choices = {"gap": gap_choice(sub, gap_rule), "elbow": elbow_choice(sub.index, sub["wss"])}
    if sub["silhouette"].notna().any():
        choices["silhouette"] = int(sub["silhouette"].idxmax())
    notes = []
    if min_k > 1 and table.index[0] < min_k and (g_all := gap_choice(table, gap_rule)) < min_k:
        notes.append(f"the gap statistic's 1-SE rule over all K picks K={g_all}: no clear cluster structure; "
                     f"choosing among K ≥ {min_k}")
    others = [v for key, v in choices.items() if key != "gap"]
    if choices["gap"] in others or len(set(others)) == len(others):
        k = choices["gap"]
    else:
        k = others[0]
    return KScan(table, choices, k, labels, codes,
                 dict(n_init=n_init, seed=seed, refs=refs, reference=reference, ks=ks, min_k=min_k,
                      gap_rule=gap_rule), notes)


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


_CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei", "PingFang SC")


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    have = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in _CJK_FONTS if f in have), None)


def _finish(fig, title: str, label: str):
    """Title with the data label; SYNTHETIC data get a red title suffix and a diagonal watermark."""
    synthetic = "SYNTHETIC" in label.upper()
    fig.suptitle(title + (f" — {label}" if label else ""), color="#c0392b" if synthetic else "#222")
    if synthetic:
        fig.text(0.5, 0.5, "SYNTHETIC", fontsize=60, color="#c0392b", alpha=0.12, ha="center", va="center",
                 rotation=25, weight="bold")
    return fig


def plot_k_scan(scan: KScan, label: str = ""):
    """Three panels: WSS (elbow), mean silhouette, gap with ±s_k bars; each criterion's K marked."""
    from matplotlib.figure import Figure

    t = scan.table
    fig = Figure(figsize=(13, 3.8), layout="constrained")
    ax = fig.subplots(1, 3)
    ax[0].plot(t.index, t["wss"], "o-")
    ax[0].axvline(scan.choices["elbow"], color="grey", ls="--")
    ax[0].set(title=f"Elbow: WSS (K={scan.choices['elbow']})", xlabel="K")
    ax[1].plot(t.index, t["silhouette"], "o-", color="C1")
    if "silhouette" in scan.choices:
        ax[1].axvline(scan.choices["silhouette"], color="grey", ls="--")
    ax[1].set(title=f"Mean silhouette (K={scan.choices.get('silhouette', '—')})", xlabel="K")
    ax[2].errorbar(t.index, t["gap"], yerr=t["gap_s"], fmt="o-", color="C2", capsize=3)
    ax[2].axvline(scan.choices["gap"], color="grey", ls="--")
    ax[2].set(title=f"Gap statistic ±s_k (K={scan.choices['gap']})", xlabel="K")
    for a in ax:
        a.grid(True, color="#e6e6e6")
    return _finish(fig, f"K-means: choosing K (recommended K={scan.k})", label)


def plot_dendrogram(h: HClust, names: pd.Series | None = None, label: str = ""):
    """Dendrogram of a hierarchical clustering (leaves ``code name`` where a CJK font exists), coloured
    at the cut into K."""
    from matplotlib.figure import Figure
    from scipy.cluster.hierarchy import dendrogram

    n = len(h.codes)
    font = _cjk_font()
    use_names = names is not None and font is not None
    leaves = [f"{c} {names.get(c, '')}" if use_names else str(c) for c in h.codes]
    fig = Figure(figsize=(10, max(4.0, 0.2 * n + 1)), layout="constrained")
    ax = fig.subplots()
    hts = h.linkage[:, 2]
    thr = (hts[-h.k] + hts[-(h.k - 1)]) / 2 if 1 < h.k < n else (0 if h.k >= n else None)
    dendrogram(h.linkage, labels=leaves, orientation="left", ax=ax, color_threshold=thr, leaf_font_size=7)
    if use_names:
        for t in ax.get_yticklabels():
            t.set_fontfamily([font, "DejaVu Sans"])
    ax.set_xlabel("merge distance (Euclidean)")
    return _finish(fig, f"Hierarchical clustering ({h.method}), cut into K={h.k}", label)


@dataclass
class PoolClusters:
    """Everything :func:`cluster_etfs` found: the screened ETFs (``pool``), the return matrix used,
    the K scan, the K-means and hierarchical labels at ``k``, representatives and the seed 001
    table-1 style ``table`` (ETF, name, fund size in 亿元, manager, top SW industries, clusters)."""

    date: pd.Timestamp
    pool: pd.DataFrame
    X: pd.DataFrame
    dropped: pd.Index
    scan: KScan
    k: int
    hclust: HClust
    reps: pd.DataFrame
    table: pd.DataFrame
    shares: pd.DataFrame | None
    label: str


def index_returns(bundle) -> pd.DataFrame:
    """Daily close-to-close returns of every index in ``index_bars`` (price indices carry no adj_factor)."""
    px = bundle.panel("index_bars", "close")
    return px / px.shift(1) - 1


def cluster_etfs(bundle, date, *, window: int = 250, ks=range(1, 16), k: int | None = None, n_init: int = 10,
                 refs: int = 10, reference: str = "pca", seed: int = 0, linkage: str = "ward",
                 representative: str = "centroid", per_cluster: int = 1, standardize: bool = True,
                 min_coverage: float = 0.8, top_industries_n: int = 2, screen_kwargs: dict | None = None,
                 threads: int | None = 1, min_k: int = 2, gap_rule: str = "1se") -> PoolClusters:
    """Seed 001 §2: screen the ETFs on ``date`` (:func:`etfrot.universe.screen.screen_etfs`), cluster
    their tracked indices' daily returns over the last ``window`` days (K-means scan → K, hierarchical
    cut into the same K), pick representatives (``representative``: "centroid", "aum" or "amount") and
    map each ETF to its top SW level-1 industries. ``k`` overrides the recommended K.
    An index without ``index_bars`` is represented by its ETF's adjusted returns.
    """
    from etfrot.universe.industry import industry_shares, top_industries
    from etfrot.universe.screen import screen_etfs

    t = pd.Timestamp(date)
    kw = dict(screen_kwargs or {})
    if kw.pop("one_per_index", True) is not True:
        raise ConfigError("clustering works on one ETF per index; one_per_index must stay True")
    sr = screen_etfs(bundle, [t], **kw)
    pool = sr.at(t)
    if len(pool) < 3:
        raise DataMissingError(f"only {len(pool)} ETFs pass screening on {t:%Y-%m-%d}; clustering needs ≥ 3 "
                               "(relax --min-aum / --categories or pick a later date).")
    t = sr.dates[-1]
    idx_codes = pd.Index(pool["index"].astype(str))
    ir = index_returns(bundle).reindex(columns=idx_codes)
    er = bundle.returns("etf_bars").reindex(columns=pd.Index(pool["etf"].astype(str)))
    er.columns = idx_codes
    rets = ir.copy()
    no_bars = ~ir.loc[:t].iloc[-window:].notna().any().to_numpy()
    if no_bars.any():
        rets.loc[:, no_bars] = er.loc[:, no_bars].to_numpy()
    X, dropped = return_matrix(rets, end=t, window=window, min_coverage=min_coverage, standardize=standardize)
    ks = [kk for kk in ks if kk <= len(X) - 1]
    scan = scan_k(X, ks, n_init=n_init, seed=seed, refs=refs, reference=reference, threads=threads, min_k=min_k,
                  gap_rule=gap_rule)
    kk = int(k or scan.k)
    if kk not in scan.labels:
        with _threads(threads):
            scan.labels[kk] = _kmeans(_pca_scores(X.to_numpy()), kk, n_init, seed)[0]
    h = hierarchical(X, kk, method=linkage)
    km = scan.labels_of(kk)
    pool_i = pool.set_index("index")
    if representative == "centroid":
        reps = representatives(X, km, per_cluster=per_cluster)
    elif representative in ("aum", "amount"):
        col = "aum_used" if representative == "aum" else "amount20"
        reps = representatives(X, km, by=pool_i[col].rename(col), per_cluster=per_cluster)
    else:
        raise ConfigError(f"representative must be 'centroid', 'aum' or 'amount', got {representative!r}")

    info = bundle.info("etf")
    iinfo = bundle.info("index")
    try:
        shares = industry_shares(bundle, idx_codes, t)
        top = top_industries(shares, top_industries_n)
    except DataMissingError:
        shares, top = None, pd.DataFrame(index=idx_codes, data={"top_industries": ""})
    X_codes = X.index
    etf = pool_i.loc[X_codes, "etf"].astype(str).to_numpy(object)
    table = pd.DataFrame({
        "etf": etf,
        "name": info["name"].reindex(etf).to_numpy(object),
        "aum_yi": pool_i.loc[X_codes, "aum_used"].to_numpy(float) / 1e8,
        "aum_source": pool_i.loc[X_codes, "aum_source"].to_numpy(object),
        "manager": info["manager"].reindex(etf).to_numpy(object) if "manager" in info.columns else None,
        "index": X_codes.to_numpy(object),
        "index_name": iinfo["name"].reindex(X_codes).to_numpy(object),
        "top_industry": top["top_industries"].reindex(X_codes).fillna("").to_numpy(object),
        "kmeans": km.reindex(X_codes).to_numpy(int),
        "hier": h.labels.reindex(X_codes).to_numpy(int),
        "representative": np.isin(X_codes, reps["code"].to_numpy(object)),
    })
    table = table.sort_values(["kmeans", "aum_yi"], ascending=[True, False]).reset_index(drop=True)
    return PoolClusters(t, pool, X, dropped, scan, kk, h, reps, table, shares, bundle.label)
