"""Index universe and point-in-time ETF screening (SPEC §5; seed 000 §3.1/§3.5, seed 001 §2.1).

At every rebalance date t, among the ETFs listed on t (list_date ≤ t < delist_date), rules are
applied in this order and each removed ETF is charged to the first rule that removes it:

1. ``unknown_index`` – the tracked index is not in ``index_info``;
2. ``overseas``      – ``index_info.region == "overseas"`` or the index code's exchange suffix is one
   of SPI, FI, HI, MI, GI (seed 000 §3.1: "排除掉了后缀为SPI,FI,HI,MI,GI的海外市场指数");
3. ``category``      – the index category is not among the selected ones (broad / industry_theme /
   strategy_style; seed 000 also tests "industry only");
4. ``small``         – fund size < ``min_aum`` (default 1e8 CNY, seed 000 §3.5, seed 001 §2.1) or no
   size information at all;
5. ``young``         – listed less than ``min_listed_months`` (default 3) calendar months before t;
6. ``duplicate``     – another ETF tracks the same index and wins: largest size, then largest 20-day
   average traded amount, then lower fee, then code (seed 000 §3.5, seed 001 §2.1).

**Size where AUM is unknown.** ``etf_bars.aum`` is used as known on t (forward-filled at most
``aum_ffill_days`` trading days, so quarterly-reported sizes carry to the next report). Where it is
still NaN the size is estimated from liquidity: ``aum_hat = amount20 / turnover_t`` with amount20 the
20-day average traded amount and turnover_t the cross-sectional median of ``amount20 / aum`` over the
ETFs whose AUM *is* known on t (needs ``proxy_min_known`` of them; otherwise the constant
``proxy_turnover``, default 0.03 — 3 % of fund size traded a day, so the 1e8 CNY rule becomes
"20-day average amount ≥ 3e6 CNY"). Only data up to t enter, so the proxy is point-in-time.

Everything is vectorised over (date, ETF) pairs in one long frame; no Python loop over dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError, ValidationError

CATEGORIES = ("broad", "industry_theme", "strategy_style")
OVERSEAS_SUFFIXES = ("SPI", "FI", "HI", "MI", "GI")
RULES = ("unknown_index", "overseas", "category", "small", "young", "duplicate")


def is_overseas_code(codes) -> np.ndarray:
    """True where the code's exchange suffix (after the last '.') is SPI, FI, HI, MI or GI (seed 000 §3.1)."""
    s = pd.Series(pd.Index(codes).astype(str))
    suffix = s.str.rsplit(".", n=1).str[-1].where(s.str.contains(".", regex=False), "")
    return suffix.str.upper().isin(OVERSEAS_SUFFIXES).to_numpy()


def _check_categories(categories) -> tuple[str, ...]:
    if categories is None or categories == "all":
        return CATEGORIES
    if isinstance(categories, str):
        categories = (categories,)
    cats = tuple(categories)
    bad = [c for c in cats if c not in CATEGORIES]
    if bad or not cats:
        raise ConfigError(f"unknown index categories {bad or cats}; use a subset of {list(CATEGORIES)}")
    return cats


def _require(df: pd.DataFrame, table: str, cols: list[str]) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValidationError(table, missing[0], f"missing column(s) {missing}", fix=f"provide {cols}")


@dataclass
class ScreenResult:
    """Outcome of :func:`screen_tables` / :func:`screen_etfs`.

    ``table``: one row per (date, listed ETF) with the inputs of every rule and ``removed_by`` (the
    first rule that removed it, "" if kept). ``counts``: per date, the number of listed ETFs and
    indices, the ETFs and indices each rule removed (``<rule>_etfs``, ``<rule>_indices``; an index is
    charged to the rule that removed its last ETF) and the kept ones.
    """

    table: pd.DataFrame
    counts: pd.DataFrame
    dates: pd.DatetimeIndex
    etf_codes: pd.Index
    index_codes: pd.Index
    params: dict = field(default_factory=dict)

    @property
    def kept_table(self) -> pd.DataFrame:
        return self.table[self.table["removed_by"] == ""].reset_index(drop=True)

    @property
    def kept(self) -> pd.DataFrame:
        """Bool panel date × ETF code: the ETF survives every rule on that date."""
        k = self.kept_table
        out = np.zeros((len(self.dates), len(self.etf_codes)), bool)
        out[self.dates.get_indexer(k["date"]), self.etf_codes.get_indexer(k["etf"])] = True
        return pd.DataFrame(out, index=self.dates, columns=self.etf_codes)

    @property
    def index_universe(self) -> pd.DataFrame:
        """Bool panel date × index code: the index is tracked by a kept ETF on that date."""
        k = self.kept_table
        out = np.zeros((len(self.dates), len(self.index_codes)), bool)
        out[self.dates.get_indexer(k["date"]), self.index_codes.get_indexer(k["index"])] = True
        return pd.DataFrame(out, index=self.dates, columns=self.index_codes)

    @property
    def etf_for_index(self) -> pd.DataFrame:
        """Panel date × index code of the chosen ETF code (None where the index is not investable)."""
        k = self.kept_table
        out = np.full((len(self.dates), len(self.index_codes)), None, dtype=object)
        out[self.dates.get_indexer(k["date"]), self.index_codes.get_indexer(k["index"])] = k["etf"].to_numpy(object)
        return pd.DataFrame(out, index=self.dates, columns=self.index_codes)

    def at(self, date) -> pd.DataFrame:
        """Kept ETFs on ``date`` (the last screened date on or before it), largest size first."""
        d = self._date(date)
        k = self.kept_table
        return k[k["date"] == d].sort_values(["aum_used", "etf"], ascending=[False, True]).reset_index(drop=True)

    def removed_at(self, date) -> pd.DataFrame:
        d = self._date(date)
        t = self.table
        return t[(t["date"] == d) & (t["removed_by"] != "")].reset_index(drop=True)

    def _date(self, date) -> pd.Timestamp:
        i = self.dates.searchsorted(pd.Timestamp(date), side="right") - 1
        if i < 0:
            raise DataMissingError(f"no screened date on or before {pd.Timestamp(date):%Y-%m-%d} "
                                   f"(first is {self.dates[0]:%Y-%m-%d}).")
        return self.dates[i]


def screen_tables(
    etf_info: pd.DataFrame,
    index_info: pd.DataFrame,
    dates,
    *,
    aum: pd.DataFrame | None = None,
    amount: pd.DataFrame | None = None,
    categories=CATEGORIES,
    exclude_overseas: bool = True,
    min_aum: float | None = 1e8,
    min_listed_months: int | None = 3,
    one_per_index: bool = True,
    amount_window: int = 20,
    aum_ffill_days: int = 70,
    proxy_turnover: float = 0.03,
    proxy_min_known: int = 5,
) -> ScreenResult:
    """Screen ETFs at each date (SPEC §5): see the module docstring for the rules and their order.

    ``aum`` / ``amount``: daily panels (trading date × ETF code) of fund size and traded amount in
    CNY; only rows on or before each screened date are used. ``min_aum=None`` and
    ``min_listed_months=None`` switch those rules off (the plain index universe of seed 000).
    ``etf_info`` needs code, tracked_index, list_date, delist_date, fee_rate; ``index_info`` needs
    code, category, region.
    """
    _require(etf_info, "etf_info", ["code", "tracked_index", "list_date", "delist_date"])
    _require(index_info, "index_info", ["code", "category", "region"])
    cats = _check_categories(categories)
    if min_aum is not None and min_aum < 0:
        raise ConfigError(f"min_aum must be >= 0 (CNY), got {min_aum}")
    if min_listed_months is not None and min_listed_months < 0:
        raise ConfigError(f"min_listed_months must be >= 0, got {min_listed_months}")
    if not 0 < proxy_turnover <= 1:
        raise ConfigError(f"proxy_turnover must be in (0, 1] (share of fund size traded a day), got {proxy_turnover}")
    dates = pd.DatetimeIndex(dates).sort_values().unique().rename("date")
    if len(dates) == 0:
        raise ConfigError("no dates to screen")

    etf_codes = pd.Index(etf_info["code"].astype(str).to_numpy(object), name="code")
    if etf_codes.has_duplicates:
        raise ValidationError("etf_info", "code", f"duplicate codes {list(etf_codes[etf_codes.duplicated()][:5])}",
                              fix="keep one row per ETF")
    index_codes = pd.Index(index_info["code"].astype(str).to_numpy(object), name="code")
    D, E = len(dates), len(etf_codes)
    dv = dates.to_numpy("datetime64[ns]")

    # --- point-in-time size and liquidity on each date (D × E)
    size_needed = min_aum is not None or one_per_index
    aum_t = _asof_rows(aum, dates, etf_codes, ffill=aum_ffill_days) if aum is not None else np.full((D, E), np.nan)
    if amount is not None:
        amt = amount.reindex(columns=etf_codes).astype(float)
        amt20_full = amt.rolling(amount_window, min_periods=max(1, amount_window // 2)).mean()
        amt20 = _asof_rows(amt20_full, dates, etf_codes, ffill=0)
    else:
        amt20 = np.full((D, E), np.nan)
    if size_needed and aum is None and amount is None:
        raise DataMissingError("screening needs fund size (etf_bars.aum) or traded amount (etf_bars.amount); neither was given.")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where((aum_t > 0) & (amt20 > 0), amt20 / aum_t, np.nan)
    known = np.isfinite(ratio).sum(axis=1)
    turnover = np.full(D, proxy_turnover)
    enough = known >= proxy_min_known
    if enough.any():
        turnover[enough] = np.nanmedian(ratio[enough], axis=1)
    aum_hat = amt20 / turnover[:, None]
    reported = np.isfinite(aum_t)
    aum_used = np.where(reported, aum_t, aum_hat)
    source = np.where(reported, "reported", np.where(np.isfinite(aum_hat), "proxy", "none"))

    # --- listed (date, ETF) pairs → long frame
    lst = etf_info["list_date"].to_numpy("datetime64[ns]")
    dl = etf_info["delist_date"].to_numpy("datetime64[ns]")
    dl = np.where(np.isnat(dl), np.datetime64("2262-04-11"), dl)
    listed = (dv[:, None] >= lst[None, :]) & (dv[:, None] < dl[None, :])
    di, ei = np.nonzero(listed)

    idx_of_etf = etf_info["tracked_index"].astype(str).to_numpy(object)
    ii_etf = index_codes.get_indexer(idx_of_etf)
    region = index_info["region"].astype(str).to_numpy(object)
    category = index_info["category"].astype(str).to_numpy(object)
    overseas_idx = (region == "overseas") | is_overseas_code(index_codes)
    fee = (etf_info["fee_rate"].to_numpy(dtype=float, na_value=np.nan) if "fee_rate" in etf_info.columns
           else np.full(E, np.nan))

    ii = ii_etf[ei]
    has_idx = ii >= 0
    iic = np.where(has_idx, ii, 0)
    a_used = aum_used[di, ei]
    if min_listed_months:
        cutoff = (dates - pd.DateOffset(months=int(min_listed_months))).to_numpy("datetime64[ns]")
        young = lst[ei] > cutoff[di]
    else:
        young = np.zeros(len(di), bool)

    masks = {
        "unknown_index": ~has_idx,
        "overseas": has_idx & overseas_idx[iic] if exclude_overseas else np.zeros(len(di), bool),
        "category": has_idx & ~np.isin(category[iic], cats),
        "small": (~(a_used >= min_aum)) if min_aum is not None else np.zeros(len(di), bool),
        "young": young,
    }
    removed = np.full(len(di), "", dtype=object)
    alive = np.ones(len(di), bool)
    alive_before: dict[str, np.ndarray] = {}
    for rule, m in masks.items():
        alive_before[rule] = alive.copy()
        hit = alive & m
        removed[hit] = rule
        alive &= ~m
    alive_before["duplicate"] = alive.copy()
    if one_per_index:
        # best first within (date, index): larger size, larger amount20, lower fee, code; NaN ranks last
        neg_a = -np.where(np.isfinite(a_used), a_used, -np.inf)
        neg_v = -np.where(np.isfinite(amt20[di, ei]), amt20[di, ei], -np.inf)
        f = np.where(np.isfinite(fee[ei]), fee[ei], np.inf)
        rows = np.flatnonzero(alive)
        order = rows[np.lexsort((ei[rows], f[rows], neg_v[rows], neg_a[rows], ii[rows], di[rows]))]
        grp = di[order].astype(np.int64) * (len(index_codes) + 1) + ii[order]
        first = np.ones(len(order), bool)
        first[1:] = grp[1:] != grp[:-1]
        dup = order[~first]
        removed[dup] = "duplicate"
        alive[dup] = False
    alive_before["_end"] = alive

    table = pd.DataFrame({
        "date": dates[di],
        "etf": etf_codes[ei].to_numpy(object),
        "index": np.where(has_idx, idx_of_etf[ei], None),
        "category": np.where(has_idx, category[iic], None),
        "aum": aum_t[di, ei],
        "aum_used": a_used,
        "aum_source": source[di, ei],
        "amount20": amt20[di, ei],
        "fee_rate": fee[ei],
        "list_date": pd.DatetimeIndex(lst[ei]),
        "removed_by": removed.astype(str),
    })

    # --- per-date counts: ETFs charged to each rule, indices losing their last ETF at each rule
    counts = pd.DataFrame(index=dates)
    counts["listed_etfs"] = np.bincount(di, minlength=D)
    stages = list(RULES) + ["_end"]
    n_idx = len(index_codes) + 1
    pair = di.astype(np.int64) * n_idx + np.where(has_idx, ii, len(index_codes))

    def idx_count(mask):
        p = np.unique(pair[mask & has_idx])
        return np.bincount(p // n_idx, minlength=D)

    counts["listed_indices"] = idx_count(np.ones(len(di), bool))
    for a, b in zip(stages[:-1], stages[1:]):
        counts[f"{a}_etfs"] = np.bincount(di[removed == a], minlength=D)
        counts[f"{a}_indices"] = idx_count(alive_before[a]) - idx_count(alive_before[b])
    counts["kept_etfs"] = np.bincount(di[alive], minlength=D)
    counts["kept_indices"] = idx_count(alive)
    counts["proxy_turnover"] = turnover
    counts.index.name = "date"

    params = dict(categories=list(cats), exclude_overseas=exclude_overseas, min_aum=min_aum,
                  min_listed_months=min_listed_months, one_per_index=one_per_index, amount_window=amount_window,
                  aum_ffill_days=aum_ffill_days, proxy_turnover=proxy_turnover, proxy_min_known=proxy_min_known)
    return ScreenResult(table, counts, dates, etf_codes, index_codes, params)


def _asof_rows(panel: pd.DataFrame, dates: pd.DatetimeIndex, codes: pd.Index, ffill: int) -> np.ndarray:
    """Rows of ``panel`` (trading dates × codes) as of each date: last row ≤ date, NaN before the first."""
    p = panel.reindex(columns=codes).astype(float)
    if ffill:
        p = p.ffill(limit=ffill)
    pos = pd.DatetimeIndex(p.index).searchsorted(dates, side="right") - 1
    vals = p.to_numpy()
    out = vals[np.clip(pos, 0, None)] if len(vals) else np.full((len(dates), len(codes)), np.nan)
    out = np.array(out, dtype=float, copy=True)
    out[pos < 0] = np.nan
    return out


def screen_etfs(bundle, dates, **kwargs) -> ScreenResult:
    """:func:`screen_tables` on a bundle: ``etf_info``, ``index_info`` and ``etf_bars`` aum/amount.

    ``dates`` may be any days; each uses the data on its last trading day on or before it.
    """
    dates = pd.DatetimeIndex(dates)
    aum = bundle.panel("etf_bars", "aum") if "aum" in bundle.table("etf_bars").columns else None
    amount = bundle.panel("etf_bars", "amount")
    return screen_tables(bundle.table("etf_info"), bundle.table("index_info"), dates, aum=aum, amount=amount, **kwargs)


def index_universe(bundle, dates, *, categories=CATEGORIES, min_aum: float | None = None,
                   min_listed_months: int | None = None, exclude_overseas: bool = True) -> pd.DataFrame:
    """Bool panel date × index: A-share indices tracked by ≥ 1 listed ETF on the date (SPEC §5).

    By default no size/age rule (seed 000's main universe); pass ``min_aum=1e8`` for its
    "规模一亿元以上" variant. Overseas indices are excluded unless ``exclude_overseas=False``.
    """
    r = screen_etfs(bundle, dates, categories=categories, min_aum=min_aum, min_listed_months=min_listed_months,
                    exclude_overseas=exclude_overseas)
    return r.index_universe
