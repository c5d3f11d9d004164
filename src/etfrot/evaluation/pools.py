"""Test universes: stock pools (SPEC §3: all, CSI 300/500/1000 members point-in-time, excluding at each
rebalance stocks that are suspended, ST or closed at a limit) and ETF / index universes.

A universe is a bool panel (dates × codes: may this code be held from the close of t) plus the
adjusted-close panel its returns come from and the factor level to compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from etfrot.errors import ConfigError, DataMissingError

BROAD_POOLS = {"csi300": "000300.SH", "csi500": "000905.SH", "csi1000": "000852.SH"}
_ALIASES = {"hs300": "csi300", "zz500": "csi500", "zz1000": "csi1000", "全a": "all", "all_a": "all"}
_NAME_HINTS = {"csi300": ("沪深300", "CSI 300", "CSI300"), "csi500": ("中证500", "CSI 500", "CSI500"),
               "csi1000": ("中证1000", "CSI 1000", "CSI1000")}
EXCLUSIONS = ("suspended", "st", "limit")
INDEX_UNIVERSES = {"index": None, "industry": "industry_theme", "broad": "broad", "style": "strategy_style"}


def pool_index_code(bundle, pool: str) -> str:
    """Index code of a named pool (csi300/500/1000 → 000300.SH/000905.SH/000852.SH, or found by name)."""
    info = bundle.table("index_info")
    codes = set(info["code"].astype(str))
    if pool in codes:
        return pool
    key = _ALIASES.get(pool.lower(), pool.lower())
    if key in BROAD_POOLS:
        if BROAD_POOLS[key] in codes:
            return BROAD_POOLS[key]
        names = info["name"].astype(str)
        hit = info[names.map(lambda s: any(h.lower() in s.lower() for h in _NAME_HINTS[key]))]
        if len(hit):
            return str(hit["code"].iloc[0])
    raise ConfigError(f"unknown stock pool {pool!r}: use 'all', one of {sorted(BROAD_POOLS)} or an index code of "
                      f"index_info (e.g. {sorted(codes)[:5]})")


def _flag(bundle, field: str, dates) -> pd.DataFrame:
    p = bundle.panel("stock_bars", field).reindex(dates)
    return p.fillna(0.0) > 0.5


def stock_pool(bundle, pool: str = "all", dates=None, *, exclude=EXCLUSIONS) -> pd.DataFrame:
    """Bool panel dates × stocks: listed, traded, member of ``pool`` on t (point-in-time), and not excluded
    (``suspended``, ``st``, ``limit`` = closed at limit up or down) on t."""
    if not bundle.has("stock_bars"):
        raise DataMissingError(f"stock pools need table 'stock_bars'; bundle {bundle.path} has {bundle.tables}.")
    unknown = set(exclude) - set(EXCLUSIONS)
    if unknown:
        raise ConfigError(f"unknown exclusion(s) {sorted(unknown)}; use any of {EXCLUSIONS}")
    dates = bundle.calendar if dates is None else pd.DatetimeIndex(dates)
    close = bundle.panel("stock_bars", "close").reindex(dates)
    codes = close.columns
    ok = close.notna().to_numpy() & bundle.listed("stock", dates).reindex(columns=codes, fill_value=False).to_numpy()
    if pool.lower() not in ("all", "全a", "all_a"):
        members = bundle.members_panel(pool_index_code(bundle, pool), dates)
        ok &= members.reindex(columns=codes, fill_value=False).to_numpy(bool)
    if "suspended" in exclude:
        ok &= ~_flag(bundle, "is_suspended", dates).to_numpy()
    if "st" in exclude:
        ok &= ~_flag(bundle, "is_st", dates).to_numpy()
    if "limit" in exclude:
        ok &= ~(_flag(bundle, "limit_up", dates).to_numpy() | _flag(bundle, "limit_down", dates).to_numpy())
    return pd.DataFrame(ok, index=dates, columns=codes)


@dataclass
class Universe:
    """What a factor test runs on: factor level, price panel (full calendar), membership mask."""

    name: str
    level: str  # stock | index | etf
    prices: pd.DataFrame
    mask: pd.DataFrame  # rebalance dates × codes

    @property
    def codes(self) -> pd.Index:
        return self.prices.columns


def resolve_universe(bundle, universe: str, dates) -> Universe:
    """``etf`` (listed ETFs), ``etf:screened`` (SPEC §5 screening), ``index`` / ``industry`` / ``broad`` /
    ``style`` (A-share indices, overseas excluded), ``index:etf`` (indices tracked by a listed ETF),
    ``stock`` or ``stock:POOL`` (POOL = all, csi300, csi500, csi1000 or an index code)."""
    dates = pd.DatetimeIndex(dates)
    u = universe.strip()
    if u in ("etf", "etf:screened"):
        px = bundle.panel("etf_bars", "close", adjusted="adj_factor" in bundle.table("etf_bars").columns)
        listed = bundle.listed("etf", dates).reindex(columns=px.columns, fill_value=False)
        mask = listed & px.reindex(dates).notna()
        if u == "etf:screened":  # SPEC §5: AUM ≥ 1e8, listed ≥ 3 months, one ETF per index, A-share only
            from etfrot.universe.screen import screen_etfs

            kept = screen_etfs(bundle, dates).kept.reindex(index=dates, columns=px.columns, fill_value=False)
            mask = mask & kept.to_numpy(bool)
        return Universe(u, "etf", px, mask)
    if u == "index:etf":  # indices tracked by at least one listed ETF (seed 000's universe), overseas excluded
        from etfrot.universe.screen import index_universe

        tracked = index_universe(bundle, dates)
        px = bundle.panel("index_bars", "close").reindex(columns=tracked.columns)
        mask = tracked.reindex(index=dates).fillna(False).astype(bool) & px.reindex(dates).notna()
        return Universe(u, "index", px, mask)
    if u in INDEX_UNIVERSES:
        info = bundle.table("index_info")
        sel = info["region"].astype(str) != "overseas"
        if INDEX_UNIVERSES[u]:
            sel &= info["category"].astype(str) == INDEX_UNIVERSES[u]
        codes = pd.Index(info.loc[sel, "code"].astype(str), name="code")
        if not len(codes):
            raise DataMissingError(f"universe {u!r}: index_info has no such A-share index.")
        px = bundle.panel("index_bars", "close").reindex(columns=codes)
        mask = px.reindex(dates).notna()
        return Universe(u, "index", px, mask)
    if u == "stock" or u.startswith("stock:"):
        pool = u.split(":", 1)[1] if ":" in u else "all"
        px = bundle.panel("stock_bars", "close", adjusted=True)
        mask = stock_pool(bundle, pool, dates).reindex(columns=px.columns, fill_value=False)
        return Universe(u, "stock", px, mask)
    raise ConfigError(f"unknown universe {universe!r}; use etf, etf:screened, index, index:etf, industry, broad, style, "
                      "stock or stock:POOL "
                      f"(POOL = all, {', '.join(BROAD_POOLS)} or an index code)")

