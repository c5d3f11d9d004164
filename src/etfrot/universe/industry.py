"""SW level-1 industry mapping of indices and ETFs by constituent weights (SPEC §5; seed 001 §2.3, table 2).

share_{idx, ind}(t) = Σ_{i ∈ idx, industry_i(t) = ind} w_i(t) / Σ_{i ∈ idx, industry known} w_i(t)
with w the index's latest weight snapshot on or before t, while its snapshots are in force
(:func:`etfrot.data.pit.snapshot_expiry`; point-in-time) and industry_i(t) the stock's
SW level-1 industry as known on t. ``coverage`` is the weight share whose industry is known.
Vectorised over all indices at once (one group-by over the snapshot rows), equivalent to calling
``bundle.index_weights_panel(code, [t])`` per index and grouping by ``bundle.industry_panel([t])``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.pit import snapshot_expiry
from etfrot.errors import DataMissingError


def industry_shares_from_tables(weights: pd.DataFrame, industry: pd.Series, date, index_codes=None) -> pd.DataFrame:
    """Index × industry share matrix (rows sum to 1 where any industry is known) plus ``coverage``.

    ``weights``: long table (date, index_code, stock_code, weight); ``industry``: Series stock →
    SW level-1 name as known on ``date``.
    """
    t = pd.Timestamp(date)
    w = weights[weights["date"] <= t]
    if index_codes is not None:
        w = w[w["index_code"].isin(list(index_codes))]
    if w.empty:
        cols = pd.Index([], name="industry")
        out = pd.DataFrame(index=pd.Index(index_codes if index_codes is not None else [], name="index"), columns=cols,
                           dtype=float)
        out["coverage"] = np.nan
        return out
    last = w.groupby("index_code")["date"].transform("max")
    w = w[w["date"].to_numpy() == last.to_numpy()]
    # an index whose snapshots have ended (last snapshot past its expiry) maps to nothing on ``date``
    exp = weights[weights["index_code"].isin(pd.unique(w["index_code"]))].groupby("index_code")["date"].agg(
        lambda d: snapshot_expiry(pd.DatetimeIndex(pd.unique(d))))
    w = w[(w["index_code"].map(exp) >= t).to_numpy()]
    ind = w["stock_code"].map(industry)
    wt = w["weight"].to_numpy(dtype=float)
    known = ind.notna().to_numpy()
    frame = pd.DataFrame({"index": w["index_code"].to_numpy(object)[known],
                          "industry": ind.to_numpy(object)[known], "w": wt[known]})
    mat = frame.pivot_table(index="index", columns="industry", values="w", aggfunc="sum", fill_value=0.0)
    total = pd.Series(wt, index=w["index_code"].to_numpy(object)).groupby(level=0).sum()
    mat = mat.div(mat.sum(axis=1), axis=0)
    mat.columns.name = "industry"
    mat.index.name = "index"
    mat["coverage"] = (frame.groupby("index")["w"].sum() / total).reindex(mat.index)
    if index_codes is not None:
        mat = mat.reindex(pd.Index(list(index_codes), name="index"))
    return mat


def industry_shares(bundle, index_codes, date) -> pd.DataFrame:
    """:func:`industry_shares_from_tables` from a bundle's ``index_weights`` and stock industries."""
    if not bundle.has("index_weights"):
        raise DataMissingError("bundle has no 'index_weights' table: cannot map indices to SW industries.")
    t = pd.Timestamp(date)
    ind = bundle.industry_panel([t]).iloc[0].dropna()
    return industry_shares_from_tables(bundle.table("index_weights"), ind, t, index_codes)


def top_industries(shares: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    """Per index: the ``top`` industries with their shares, and a label like "有色金属 45%; 煤炭 20%"."""
    mat = shares.drop(columns=["coverage"], errors="ignore")
    vals = mat.to_numpy(dtype=float, na_value=np.nan)
    order = np.argsort(-np.nan_to_num(vals, nan=-1.0), axis=1, kind="stable")[:, :top]
    names = np.asarray(mat.columns, dtype=object)
    out = pd.DataFrame(index=mat.index)
    labels = []
    for k in range(order.shape[1]):
        v = np.take_along_axis(vals, order[:, k : k + 1], axis=1)[:, 0]
        ok = np.isfinite(v) & (v > 0)
        out[f"industry_{k + 1}"] = np.where(ok, names[order[:, k]], None)
        out[f"share_{k + 1}"] = np.where(ok, v, np.nan)
        labels.append(np.where(ok, [f"{n} {x:.0%}" for n, x in zip(names[order[:, k]], np.nan_to_num(v))], ""))
    out["top_industries"] = ["; ".join(p for p in parts if p) for parts in zip(*labels)] if labels else ""
    if "coverage" in shares.columns:
        out["coverage"] = shares["coverage"]
    return out


def etf_industries(bundle, etf_codes, date, top: int = 3) -> pd.DataFrame:
    """Per ETF: its tracked index and the index's top SW level-1 industries (seed 001 table 1 "重仓行业")."""
    info = bundle.info("etf").reindex(pd.Index(etf_codes))
    idx = info["tracked_index"]
    sh = industry_shares(bundle, pd.unique(idx.dropna()), date)
    t = top_industries(sh, top)
    out = t.reindex(idx.to_numpy(object))
    out.index = pd.Index(etf_codes, name="etf")
    out.insert(0, "index", idx.to_numpy(object))
    return out


def industry_to_etfs(etf_shares: pd.DataFrame, min_share: float = 0.2) -> pd.DataFrame:
    """Seed 001 table 2: for every industry, the ETFs whose index holds ≥ ``min_share`` of it (or
    has it as top industry), largest share first. ``etf_shares``: ETF × industry share matrix."""
    mat = etf_shares.drop(columns=["coverage"], errors="ignore").fillna(0.0)
    top = mat.idxmax(axis=1) if len(mat) else pd.Series(dtype=object)
    long = mat.stack().rename("share").reset_index()
    long.columns = ["etf", "industry", "share"]
    keep = (long["share"] >= min_share) | (long["industry"].to_numpy() == top.reindex(long["etf"]).to_numpy())
    long = long[keep & (long["share"] > 0)].sort_values(["industry", "share"], ascending=[True, False])
    g = long.groupby("industry", sort=True)
    return pd.DataFrame({
        "n_etfs": g.size(),
        "etfs": g.apply(lambda d: ", ".join(f"{e} ({s:.0%})" for e, s in zip(d["etf"], d["share"])),
                        include_groups=False),
    })
