"""Style factors of the regime rotation (SPEC §2.4; seed 002 §3 风格因子).

Seed 002 names them (景气度, 盈利超预期, 龙头效应, 估值泡沫, 反转, 动量, 拥挤度, 通胀 beta, 北向资金)
without formulas; the definitions here are the usual sell-side ones, each stated in its docstring
with its parameters. Direction is the conventional sign; the regime rotation (SPEC §6) re-estimates
each factor's IC sign per macro quadrant from the past only, so direction is informative, not binding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError, DataMissingError
from etfrot.factors.aggregate import aggregate_to_index, top_k_equal
from etfrot.factors.price_volume import momentum
from etfrot.factors.registry import factor

_SEED2 = ("seed002",)


@factor("prosperity", category="style", level="stock", needs=("fundamentals.np_yoy",), sets=_SEED2, label="景气度")
def prosperity(x, accel_weight: float = 1.0) -> pd.DataFrame:
    """prosperity = NP_YOY_q + a·(NP_YOY_q − NP_YOY_{q−1}), a = 1: level plus acceleration of profit growth (seed 002)."""
    v = x.event_field("np_yoy")
    return x.event_panel(v + accel_weight * (v - x.lag(v, 1)), lags=(1,))


def sue_values(eps: np.ndarray, lag, n: int = 8, min_obs: int = 4) -> np.ndarray:
    """SUE_q = d_q / sd(d_j, j = q−n+1..q), d_j = EPS_j − EPS_{j−4}: surprise vs a seasonal random walk."""
    d = eps - lag(eps, 4)
    hist = np.column_stack([d] + [lag(d, k) for k in range(1, n)])
    fin = np.isfinite(hist)
    cnt = fin.sum(1)
    mean = np.where(fin, hist, 0.0).sum(1) / np.maximum(cnt, 1)
    var = (np.where(fin, hist - mean[:, None], 0.0) ** 2).sum(1) / np.maximum(cnt - 1, 1)
    sd = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(sd > 0, d / sd, np.nan)
    out[(cnt < min_obs) | ~np.isfinite(out)] = np.nan
    return out


@factor("sue", category="style", level="stock", needs=("fundamentals.eps",), sets=_SEED2, label="盈利超预期")
def sue(x, n: int = 8, min_obs: int = 4) -> pd.DataFrame:
    """SUE = (EPS_q − EPS_{q−4}) / sd of that difference over the last 8 quarters (≥ 4): earnings surprise vs a seasonal random walk (seed 002)."""
    if n < 2 or min_obs < 2 or min_obs > n:
        raise ConfigError(f"sue needs 2 <= min_obs <= n, got n={n}, min_obs={min_obs}")
    v = x.event_field("eps")
    return x.event_panel(sue_values(v, x.lag, n, min_obs), lags=tuple(range(1, n + 4)))


@factor("leader", category="style", level="constituents", needs=("stock_bars.close", "index_weights", "index_bars.close"),
        sets=_SEED2, label="龙头效应")
def leader(x, n: int = 20, k: int = 5) -> pd.DataFrame:
    """leader = mean N-day return of the index's k largest-weight constituents − the index's N-day return (N=20, k=5; seed 002)."""
    if x.kind != "index":
        raise ConfigError("factor 'leader' (龙头效应) compares an index with its largest constituents: "
                          "ask for level='index' or level='etf', not stocks.")
    if not x.bundle.has("stock_bars"):
        raise DataMissingError("factor 'leader' needs table 'stock_bars' (constituent returns); this bundle has none.")
    stock_mom = momentum(x.other("stock").close(), n)
    lead, _ = aggregate_to_index(stock_mom, x.bundle, x.codes, min_coverage=x.min_coverage, transform=top_k_equal(k))
    return lead - momentum(x.close(), n).reindex(columns=lead.columns)


@factor("bubble", category="style", level="index", direction=-1, needs=("valuation.pe_ttm", "valuation.pb"),
        sets=_SEED2, label="估值泡沫")
def bubble(x, window: int = 1250, min_periods: int = 250) -> pd.DataFrame:
    """bubble = mean of the percentiles of −1/PE_TTM and −1/PB within their own trailing 5 years (1250 days; seed 002 估值泡沫).

    Ranking −earnings yield instead of PE keeps loss-makers (PE < 0) at the expensive end. An index
    without valuation rows of its own uses the harmonic weighted aggregate of its constituents'.
    """
    parts = []
    for field in ("pe_ttm", "pb"):
        try:
            v = x.valuation(field)
        except DataMissingError:
            continue
        y = -1.0 / v.where(v != 0)
        parts.append(y.rolling(window, min_periods=min_periods).rank(pct=True))
    if not parts:
        raise DataMissingError("factor 'bubble' needs table 'valuation' with pe_ttm or pb; this bundle has neither.")
    stack = np.stack([p.to_numpy() for p in parts])
    with np.errstate(invalid="ignore"):
        cnt = np.isfinite(stack).sum(0)
        mean = np.where(cnt > 0, np.nansum(stack, 0) / np.maximum(cnt, 1), np.nan)
    return pd.DataFrame(mean, index=parts[0].index, columns=parts[0].columns)


@factor("reversal", category="style", level="index", needs=("bars.close",), sets=_SEED2, label="反转")
def reversal(x, n: int = 20) -> pd.DataFrame:
    """reversal = −(P_t / P_{t−20} − 1) (seed 002 反转)."""
    return -momentum(x.close(), n)


@factor("mom12_1", category="style", level="index", needs=("bars.close",), sets=_SEED2, label="动量")
def mom12_1(x, n: int = 252, skip: int = 21) -> pd.DataFrame:
    """mom12_1 = P_{t−21} / P_{t−252} − 1: 12-month return skipping the last month (seed 002 动量)."""
    return momentum(x.close(), n, skip)


@factor("crowding", category="style", level="index", direction=-1, needs=("bars.amount", "bars.close"),
        sets=_SEED2, label="拥挤度")
def crowding(x, short: int = 20, long: int = 250) -> pd.DataFrame:
    """crowding = ½·ln(mean amount_20 / mean amount_250) + ½·ln(sd ret_20 / sd ret_250) (seed 002 拥挤度).

    Turnover relative to its own history is proxied by traded amount (the bundle has no free-float
    cap; the level cancels in the ratio); volatility likewise relative to its own 250-day level.
    """
    if not 2 <= short < long:
        raise ConfigError(f"crowding needs 2 <= short < long, got short={short}, long={long}")
    amt = x.bars("amount")
    amt = amt.where(amt > 0)
    a = amt.rolling(short, min_periods=short // 2).mean() / amt.rolling(long, min_periods=long // 2).mean()
    r = x.returns()
    v = r.rolling(short, min_periods=short // 2).std() / r.rolling(long, min_periods=long // 2).std()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 0.5 * np.log(a.where(a > 0)) + 0.5 * np.log(v.where(v > 0))
    return out.where(x.close().notna())


def macro_surprise(x, series=("cpi", "ppi"), dates=None) -> pd.Series:
    """s_m = mean over series of (value known at m − value known at m−1): the month's news (release-lagged)."""
    dates = rebalance_dates(x.calendar, "monthly") if dates is None else dates
    parts = []
    for s in series:
        known = x.macro_series(s).reindex(dates)
        parts.append(known - known.shift(1))
    return pd.concat(parts, axis=1).mean(axis=1, skipna=True)


def rolling_beta(r: pd.DataFrame, s: pd.Series, window: int, min_periods: int) -> pd.DataFrame:
    """β_t = cov(r, s) / var(s) over the last ``window`` rows where both are known (≥ min_periods)."""
    R = r.to_numpy(float)
    S = np.broadcast_to(s.to_numpy(float)[:, None], R.shape)
    ok = np.isfinite(R) & np.isfinite(S)
    def roll(a):
        return pd.DataFrame(np.where(ok, a, 0.0)).rolling(window, min_periods=1).sum().to_numpy()
    n = roll(np.ones_like(R))
    sr, ss, srs, sss = roll(R), roll(S), roll(R * S), roll(S * S)
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = srs / n - sr * ss / n**2
        var = sss / n - (ss / n) ** 2
        beta = np.where((n >= min_periods) & (var > 1e-12), cov / var, np.nan)
    return pd.DataFrame(beta, index=r.index, columns=r.columns)


@factor("inflation_beta", category="style", level="index", needs=("bars.close", "macro.cpi", "macro.ppi"),
        sets=_SEED2, label="通胀beta")
def inflation_beta(x, series: tuple[str, ...] = ("cpi", "ppi"), window: int = 36, min_periods: int = 12) -> pd.DataFrame:
    """inflation_beta = cov(r_m, s_m) / var(s_m): β of monthly returns on CPI/PPI surprises s (Δ of the release-lagged YoY), rolling 36 months (≥ 12; seed 002 通胀 beta).

    Month-end m: r_m = P_m / P_{m−1} − 1, s_m = mean_series(known_m − known_{m−1}); β_m = cov/var over
    the window; the daily value is β of the latest month end on or before t.
    """
    me = rebalance_dates(x.calendar, "monthly")
    px = x.close_filled().reindex(me)
    r = px / px.shift(1) - 1
    s = macro_surprise(x, series, me)
    beta = rolling_beta(r, s, window, min_periods)
    daily = beta.reindex(x.calendar, method="ffill")
    return daily.where(x.close().notna())
