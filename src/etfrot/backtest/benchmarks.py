"""Benchmarks (SPEC §7) as NAV series (1.0 at the first date): an index or ETF, a total-return index,
the equal weight of a universe (seed 001: 等权基准), the industry equal weight (seed 002: 行业等权组合).

* index: the index's close level from ``index_bars`` (index levels need no adjustment).
* ETF: the ETF's adjusted close (``close × adj_factor``, dividends reinvested).
* total return (seed 000: 沪深300全收益): the index whose ``index_info.total_return_of`` is the given
  price index (e.g. H00300.CSI for 000300.SH).
* equal weight: ``rebalance="daily"`` ⇒ r_t = mean_i r_ti over the eligible codes with a return on t
  (eligibility as of t−1: no look-ahead); ``"weekly"``/``"monthly"`` ⇒ equal weights set at each period's
  last close (``same_close``) over the eligible codes, drifting in between, through the backtest engine.
* industry equal weight: ``source="index"`` ⇒ equal weight of the cn ``industry_theme`` indices of
  ``index_info`` (the default; seed 002 uses the industry ETF pool); ``source="sw"`` ⇒ equal weight of
  SW level-1 industries, each industry the equal-weighted mean return of its stocks (industry as known
  on t−1 from ``stock_industry``/``stock_info``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError

KINDS = ("index", "etf", "total_return", "equal_weight", "industry_equal_weight", "none")


def _as_nav(r: pd.Series, name: str) -> pd.Series:
    nav = (1.0 + r.fillna(0.0)).cumprod()
    return (nav / nav.iloc[0]).rename(name)


def total_return_code(bundle, price_code: str) -> str:
    """Code of the total-return index whose ``index_info.total_return_of`` equals ``price_code``."""
    info = bundle.table("index_info")
    hit = info.loc[info["total_return_of"] == price_code, "code"]
    if hit.empty:
        raise DataMissingError(f"table 'index_info' has no total-return index of '{price_code}' "
                               f"(no row with total_return_of == '{price_code}'); use kind 'index' with the price "
                               "index, or import the total-return index (e.g. H00300) into index_bars/index_info.")
    return str(hit.iloc[0])


def index_nav(bundle, code: str) -> pd.Series:
    """Close level of one index (or, if ``code`` is an ETF, its adjusted close) on the bundle calendar."""
    if code in set(bundle.table("index_info")["code"]):
        p = bundle.panel("index_bars", "close")
    elif code in set(bundle.table("etf_info")["code"]):
        p = bundle.panel("etf_bars", "close", adjusted=True)
    else:
        raise DataMissingError(f"benchmark code '{code}' is neither in 'index_info' nor in 'etf_info'; "
                               "use `etfrot data info` to list the codes of the bundle.")
    if code not in p.columns or p[code].notna().sum() == 0:
        raise DataMissingError(f"benchmark '{code}' has no bars in the bundle; choose another benchmark.")
    return p[code].rename(code)


def equal_weight_nav(prices: pd.DataFrame, eligible: pd.DataFrame | None = None, rebalance: str = "daily",
                     name: str = "equal_weight") -> pd.Series:
    """NAV of the equal weight of the codes of ``prices`` (adjusted closes; NaN = no price).

    daily: r_t = mean over codes with a return on t and eligible on t−1; weekly/monthly: equal weights
    at each period's last close over codes eligible and priced that day (engine, same_close, no costs).
    """
    px = prices.astype(float)
    elig = (eligible.reindex(index=px.index, columns=px.columns, fill_value=False).fillna(False).astype(bool)
            if eligible is not None else pd.DataFrame(True, index=px.index, columns=px.columns))
    ok = px.notna() & elig
    if rebalance == "daily":
        r = px / px.ffill().shift(1) - 1  # across a gap: the move since the last price
        valid = r.notna() & elig.shift(1, fill_value=False)
        rv = r.where(valid)
        mean = rv.sum(axis=1) / valid.sum(axis=1).replace(0, np.nan)
        return _as_nav(mean, name)
    from etfrot.backtest.engine import run_backtest
    from etfrot.data.calendar import rebalance_dates

    rd = rebalance_dates(px.index, rebalance).union(px.index[:1])  # invested from the first day
    w = ok.loc[rd].astype(float)
    w = w.div(w.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    first = int(np.argmax(w.sum(axis=1).to_numpy() > 0))
    res = run_backtest(w.iloc[first:], px, execution="same_close", fee=0.0, start=px.index[0])
    return res.nav.rename(name)


def industry_equal_weight_nav(bundle, source: str = "index", dates: pd.DatetimeIndex | None = None) -> pd.Series:
    """Industry equal-weight NAV (seed 002): ``index`` = equal weight of cn industry_theme indices (daily);
    ``sw`` = equal weight of SW level-1 industries from stock returns (industry as of t−1)."""
    if source == "index":
        info = bundle.table("index_info")
        codes = info.loc[(info["category"] == "industry_theme") & (info["region"] == "cn") & info["total_return_of"].isna(), "code"]
        px = bundle.panel("index_bars", "close").reindex(columns=pd.Index(codes))
        px = px.loc[:, px.notna().any()]
        if px.shape[1] == 0:
            raise DataMissingError("no cn industry_theme index with bars in 'index_bars'; use source='sw' (stocks) "
                                   "or another benchmark.")
        nav = equal_weight_nav(px, rebalance="daily", name="industry_equal_weight")
    elif source == "sw":
        r = bundle.returns("stock_bars")
        ind = bundle.industry_panel(r.index).reindex(columns=r.columns).shift(1)
        rv = r.to_numpy()
        lab, uniq = pd.factorize(pd.Series(ind.to_numpy().ravel(), dtype=object), use_na_sentinel=True)
        lab = lab.reshape(rv.shape)
        ok = np.isfinite(rv) & (lab >= 0)
        K = len(uniq)
        rows = np.broadcast_to(np.arange(rv.shape[0])[:, None], rv.shape)
        key = rows[ok] * K + lab[ok]
        sums = np.bincount(key, weights=rv[ok], minlength=rv.shape[0] * K).reshape(-1, K)
        cnt = np.bincount(key, minlength=rv.shape[0] * K).reshape(-1, K)
        ind_ret = np.divide(sums, cnt, out=np.full(sums.shape, np.nan), where=cnt > 0)
        n_ind = (cnt > 0).sum(axis=1)
        tot = np.where(cnt > 0, ind_ret, 0.0).sum(axis=1)
        mean = pd.Series(np.divide(tot, n_ind, out=np.full(len(tot), np.nan), where=n_ind > 0), index=r.index)
        nav = _as_nav(mean, "industry_equal_weight")
    else:
        raise ConfigError(f"unknown industry benchmark source {source!r}; use 'index' or 'sw'")
    return nav if dates is None else nav.reindex(dates)


def benchmark_nav(bundle, kind: str, code: str | None = None, *, universe: pd.DataFrame | None = None,
                  eligible: pd.DataFrame | None = None, rebalance: str = "daily", source: str = "index") -> pd.Series | None:
    """The benchmark NAV a config asks for (``kind`` in KINDS); ``universe`` = price panel for equal weight."""
    if kind == "none":
        return None
    if kind in ("index", "etf"):
        if not code:
            raise ConfigError(f"benchmark kind '{kind}' needs a code (e.g. 000300.SH or 510300.SH)")
        return index_nav(bundle, code)
    if kind == "total_return":
        tr = total_return_code(bundle, code or "000300.SH")
        return index_nav(bundle, tr).rename(tr)
    if kind == "equal_weight":
        if universe is None:
            raise ConfigError("benchmark kind 'equal_weight' needs the universe's price panel")
        return equal_weight_nav(universe, eligible, rebalance)
    if kind == "industry_equal_weight":
        return industry_equal_weight_nav(bundle, source)
    raise ConfigError(f"unknown benchmark kind {kind!r}; use one of {list(KINDS)}")
