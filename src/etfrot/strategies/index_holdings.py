"""How selected indices become held instruments (seed 000 §3.5; issue "hold what an investor can hold").

``holders``: date × index → the code held for it: its ETF where one passes the screen, else its total-return
index (``index_info.total_return_of``), else the index itself; ``etf_weights`` maps index weights onto the
holders, ``index_scores_on`` the scores; ``held_instruments`` is the price panel of a mixed holding (ETFs at
adjusted prices, indices at their levels), ``price_index_share`` the weight held in price indices (which earn no
dividends: the excess against a total-return benchmark is understated by that share of the dividend yield).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError


def holders(bundle, etf_for_index: pd.DataFrame) -> pd.DataFrame:
    """``etf_for_index`` (date × index → ETF code or NaN) with each gap filled by the index's total-return index
    where the bundle has its bars, else by the index itself."""
    info = bundle.table("index_info")
    with_bars = pd.unique(bundle.table("index_bars")["code"].astype(str))
    tr = info[info["total_return_of"].notna() & info["code"].astype(str).isin(with_bars)]
    tr_of = dict(zip(tr["total_return_of"].astype(str), tr["code"].astype(str), strict=True))
    cols = etf_for_index.columns.astype(str)
    fill = np.array([tr_of.get(c, c) for c in cols], dtype=object)
    h = etf_for_index.to_numpy(object).copy()
    gap = pd.isna(h)
    h[gap] = np.broadcast_to(fill, h.shape)[gap]
    return pd.DataFrame(h, index=etf_for_index.index, columns=etf_for_index.columns)


def etf_weights(index_w: pd.DataFrame, etf_for_index: pd.DataFrame) -> pd.DataFrame:
    """Map weights on indices (date × index) to the ETF chosen for each index on that date (date × ETF or other holder)."""
    w = index_w.reindex(index=etf_for_index.index.intersection(index_w.index))
    e = etf_for_index.reindex(index=w.index, columns=w.columns)
    W, E = w.to_numpy(float), e.to_numpy(object)
    d, j = np.nonzero(np.nan_to_num(W) > 0)
    etf = E[d, j]
    if (pd.isna(etf)).any():
        k = int(np.flatnonzero(pd.isna(etf))[0])
        raise DataMissingError(f"index {w.columns[j[k]]} was selected on {w.index[d[k]]:%Y-%m-%d} but has no ETF then")
    codes = pd.Index(sorted(set(etf)), name="code")
    out = np.zeros((len(w), len(codes)))
    np.add.at(out, (d, codes.get_indexer(etf)), W[d, j])
    return pd.DataFrame(out, index=w.index, columns=codes)


def index_scores_on(index_scores: pd.DataFrame, etf_for_index: pd.DataFrame) -> pd.DataFrame:
    """Scores on the held instruments: each ETF (or other holder) carries its index's factor value."""
    e = etf_for_index.reindex(index=index_scores.index, columns=index_scores.columns).to_numpy(object)
    d, j = np.nonzero(pd.notna(e) & np.isfinite(index_scores.to_numpy(float)))
    codes = pd.Index(sorted(set(e[d, j])), name="code")
    out = np.full((len(index_scores), len(codes)), np.nan)
    out[d, codes.get_indexer(e[d, j])] = index_scores.to_numpy(float)[d, j]
    return pd.DataFrame(out, index=index_scores.index, columns=codes)


def held_instruments(bundle, codes):
    """Instruments of a mixed holding: ETFs (adjusted prices, listed flags, delist dates) and indices (levels,
    tradable where they have a level) side by side, for ``codes``."""
    from etfrot.strategies.runner import Instruments

    codes = [str(c) for c in codes]
    e_info, i_info = bundle.info("etf"), bundle.info("index")
    etfs = [c for c in codes if c in e_info.index]
    idx = [c for c in codes if c not in e_info.index]
    unknown = [c for c in idx if c not in i_info.index]
    if unknown:
        raise DataMissingError(f"held codes neither in etf_info nor in index_info: {unknown[:5]}")
    ep = bundle.panel("etf_bars", "close", adjusted=True).reindex(columns=etfs)
    eo = bundle.panel("etf_bars", "open", adjusted=True).reindex(columns=etfs)
    ip = bundle.panel("index_bars", "close").reindex(columns=idx)
    io = bundle.panel("index_bars", "open").reindex(columns=idx)
    prices = pd.concat([ep, ip], axis=1)[codes]
    opens = pd.concat([eo, io], axis=1)[codes]
    listed = bundle.listed("etf", prices.index).reindex(columns=etfs, fill_value=False)
    tradable = pd.concat([listed, ip.notna()], axis=1)[codes]
    names = pd.concat([e_info["name"].reindex(etfs), i_info["name"].reindex(idx)])
    return Instruments("mixed", prices, opens, tradable, e_info["delist_date"].reindex(etfs).dropna(), names, bundle)


def _kinds(bundle, codes) -> np.ndarray:
    """Per code: 'etf', 'total_return' or 'price'."""
    e = set(bundle.info("etf").index.astype(str))
    info = bundle.table("index_info")
    tr = set(info.loc[info["total_return_of"].notna(), "code"].astype(str))
    return np.array(["etf" if c in e else "total_return" if c in tr else "price" for c in map(str, codes)])


def _kind_shares(bundle, w: pd.DataFrame) -> dict[str, float]:
    """Mean share of the portfolio's weight per kind of holder ('etf', 'total_return', 'price') over the rebalance
    dates that hold anything."""
    k = _kinds(bundle, w.columns)
    W = w.to_numpy(float)
    tot = W.sum(axis=1)
    live = tot > 0
    return {n: float((W[live][:, k == n].sum(axis=1) / tot[live]).mean()) if live.any() else 0.0
            for n in ("etf", "total_return", "price")}


def price_index_share(bundle, w: pd.DataFrame) -> float:
    """Mean share of the portfolio's weight held in price indices over the rebalance dates (0 … 1)."""
    return _kind_shares(bundle, w)["price"]


def held_mix(bundle, w: pd.DataFrame) -> str:
    """Words for the mean weight by kind of holder, e.g. "ETFs 42 %, total-return indices 0 %, price indices 58 %"."""
    part = _kind_shares(bundle, w)
    return (f"mean weight in ETFs {part['etf']:.0%}, total-return indices {part['total_return']:.0%}, "
            f"price indices {part['price']:.0%}")


def weight_set_table(bundle, cov: pd.DataFrame) -> pd.DataFrame:
    """Per index with a factor value: name, category, first / last date with one, dates, median coverage (the share
    of its constituent weight whose stocks are scored) — the weight sets behind an index factor."""
    info = bundle.info("index")
    live = (cov > 0).to_numpy()
    cols = np.flatnonzero(live.any(axis=0))
    first = cov.index[live.argmax(axis=0)[cols]]
    last = cov.index[len(cov) - 1 - live[::-1].argmax(axis=0)[cols]]
    codes = cov.columns[cols]
    out = pd.DataFrame({"index": codes, "name": info["name"].reindex(codes).to_numpy(),
                        "category": info["category"].reindex(codes).astype(str).to_numpy(), "first": first, "last": last,
                        "dates": live[:, cols].sum(axis=0), "coverage": np.nanmedian(cov.to_numpy()[:, cols], axis=0)})
    return out.sort_values(["category", "index"]).reset_index(drop=True)


def weight_sets(table: pd.DataFrame) -> str:
    """Words for :func:`weight_set_table`, per category, e.g. "broad (3): 000300.SH 2017-01-06 → 2022-12-30 …"."""
    parts = []
    for cat, g in table.groupby("category", sort=True):
        spans = [f"{r.index} {r.first:%Y-%m-%d} → {r.last:%Y-%m-%d}" for r in g.head(4).itertuples()]
        more = f" and {len(g) - 4} more" if len(g) > 4 else ""
        parts.append(f"{cat} ({len(g)}, median coverage {g['coverage'].median():.0%}): " + ", ".join(spans) + more)
    return "; ".join(parts)
