"""Quantile (layered) backtest (SPEC §3; seed 001 table 5, seed 000 factor tables).

On each rebalance date t_k the codes with a factor value (× direction) and a traded close are split
into q equal-count groups by within-date rank: group = ⌊(rank − 1)·q / n⌋ + 1, so group q holds the
highest values. Each group is held equal-weighted (buy and hold from the close of t_k to the close of
t_{k+1}; closes carried over suspensions, a delisted code is valued at its last close), no costs.
Daily group NAVs are built in one gather: NAV_g(d) = NAV_g(t_k) · mean_{i∈g}(P̃_i(d) / P_i(t_k)).
The universe equal weight (seed 001 "平均") is the same over all grouped codes; long–short
compounds r_q − r_1 daily. Top-group metrics against the universe reuse ``etfrot.backtest.metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, DataMissingError
from etfrot.evaluation.ic import _dates_on, _panel, rank_rows


def assign_quantiles(values: np.ndarray, q: int) -> np.ndarray:
    """Group 1..q per row by average rank among finite values (0 = no group; rows with < q values get 0)."""
    if int(q) != q or q < 2:
        raise ConfigError(f"number of quantile groups must be an integer >= 2, got {q!r}")
    r = rank_rows(values)
    n = np.isfinite(values).sum(1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.floor((r - 1) * q / n) + 1
    g = np.where(np.isfinite(g) & (n >= q), g, 0)
    return np.clip(g, 0, q).astype(np.int16)


@dataclass
class QuantileResult:
    """Groups per date, period and daily NAVs of a quantile backtest."""

    groups: pd.DataFrame  # rebalance dates × codes, 1..q (0 = not grouped)
    period_returns: pd.DataFrame  # rebalance date t_k × [Q1..Qq, universe]: return to t_{k+1}
    nav: pd.DataFrame  # daily × [Q1..Qq, universe, long_short]
    quantiles: int
    rebalance_dates: pd.DatetimeIndex

    @property
    def top(self) -> str:
        return f"Q{self.quantiles}"

    def spread(self) -> pd.Series:
        """Mean period return of each group minus the universe's (ordered groups ⇒ increasing)."""
        pr = self.period_returns
        return pr[[f"Q{g}" for g in range(1, self.quantiles + 1)]].mean() - pr["universe"].mean()

    def metrics(self, group: str | None = None) -> dict:
        """Seed 001 table 5 row for the top group (or ``group``) against the universe equal weight."""
        from etfrot.backtest import metrics as m

        g = group or self.top
        nav, bench = self.nav[g].dropna(), self.nav["universe"].dropna()
        ends = self.rebalance_dates
        return {
            "total_return": m.total_return(nav),
            "annual_return": m.annual_return(nav),
            "volatility": m.annual_volatility(nav),
            "max_drawdown": m.max_drawdown(nav),
            "sharpe": m.sharpe(nav),
            "information_ratio": m.information_ratio(nav, bench),
            "win_rate": m.win_rate(nav, bench, ends),
            "excess_annual_return": m.annual_excess(nav, bench),
            "excess_max_drawdown": m.excess_max_drawdown(nav, bench),
            "long_short_annual_return": m.annual_return(self.nav["long_short"].dropna()),
            "long_short_sharpe": m.sharpe(self.nav["long_short"].dropna()),
        }

    def universe_metrics(self) -> dict:
        """The universe equal weight's own row (seed 001 "平均")."""
        from etfrot.backtest import metrics as m

        nav = self.nav["universe"].dropna()
        return {"total_return": m.total_return(nav), "annual_return": m.annual_return(nav),
                "volatility": m.annual_volatility(nav), "max_drawdown": m.max_drawdown(nav), "sharpe": m.sharpe(nav)}


def quantile_backtest(factor: pd.DataFrame, prices: pd.DataFrame, dates, *, quantiles: int = 5, direction: int = 1,
                      universe: pd.DataFrame | None = None) -> QuantileResult:
    """Equal-weight quantile portfolios rebalanced on ``dates`` (see module doc)."""
    if direction not in (1, -1):
        raise ConfigError(f"direction must be +1 or -1, got {direction!r}")
    prices = _panel(prices, "prices")
    dates = _dates_on(prices.index, dates)
    if len(dates) < 2:
        raise ConfigError(f"a quantile backtest needs at least 2 rebalance dates, got {len(dates)}")
    codes = prices.columns
    px = prices.to_numpy(float)
    pf = prices.ffill().to_numpy(float)
    pos = prices.index.get_indexer(dates)
    f = factor.reindex(index=dates, columns=codes).to_numpy(float) * direction
    ok = np.isfinite(f) & np.isfinite(px[pos])
    if universe is not None:
        ok &= universe.reindex(index=dates, columns=codes).fillna(False).to_numpy(bool)
    G = assign_quantiles(np.where(ok, f, np.nan), quantiles)
    if not (G[:-1] > 0).any():
        raise DataMissingError(f"no rebalance date before the last has {quantiles} codes with a factor value and a "
                               "traded close: no quantile groups can be formed (widen the universe or the window)")

    # daily gather over [t_0, t_K]
    day_pos = np.arange(pos[0], pos[-1] + 1)
    k = np.searchsorted(pos, day_pos, side="left") - 1  # period of each day; −1 on t_0
    kk = np.clip(k, 0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = pf[day_pos] / pf[pos[kk]]
    Gd = G[kk]
    Gd[k < 0] = 0
    rel = np.where(np.isfinite(rel), rel, np.nan)
    names = [f"Q{g}" for g in range(1, quantiles + 1)] + ["universe"]
    ratio = np.ones((len(day_pos), len(names)))
    for j, g in enumerate(range(1, quantiles + 2)):
        m = (Gd == g) if g <= quantiles else (Gd > 0)
        m &= np.isfinite(rel)
        cnt = m.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = np.where(m, rel, 0.0).sum(1) / cnt
        ratio[:, j] = np.where(cnt > 0, val, 1.0)  # an empty group sits in cash
    ratio[k < 0] = 1.0
    # period-end ratios → NAV at each period start
    end_rows = np.searchsorted(day_pos, pos[1:])
    per = ratio[end_rows]  # (K-1) × groups: ratio at t_{k+1} for period k
    start_nav = np.vstack([np.ones((1, len(names))), np.cumprod(per, axis=0)])
    nav = start_nav[kk] * ratio
    nav[k < 0] = 1.0
    idx = prices.index[day_pos]
    nav_df = pd.DataFrame(nav, index=idx, columns=names)
    daily = nav_df.pct_change().fillna(0.0)
    nav_df["long_short"] = np.cumprod(1.0 + daily[f"Q{quantiles}"] - daily["Q1"])
    per_df = pd.DataFrame(per - 1.0, index=dates[:-1], columns=names)
    per_df.index.name = "date"
    nav_df.index.name = "date"
    groups = pd.DataFrame(G, index=dates, columns=codes)
    return QuantileResult(groups, per_df, nav_df, int(quantiles), dates)
