"""Performance metrics (SPEC §7; seed 000 §4, seed 001 table 5/6, seed 002 per-year table): pure functions of NAV series.

Conventions (stated once, used everywhere — the factor tests reuse these functions):

* daily return r_t = NAV_t / NAV_{t−1} − 1; n = number of daily returns; a year has P = 252 trading days.
* cumulative return = NAV_T / NAV_0 − 1; annual return (compounded) = (NAV_T / NAV_0)^(P/n) − 1.
* volatility = std(r, ddof=1) · √P; Sharpe = mean(r − rf/P) / std(r) · √P (rf = 0 by default).
* max drawdown = min_t (NAV_t / max_{s≤t} NAV_s − 1) (a negative number).
* relative NAV (超额净值) = NAV / benchmark NAV; daily excess e_t = its daily return;
  annual excess = annual return of the relative NAV; tracking error = std(e) · √P;
  information ratio = mean(e) / std(e) · √P; excess max drawdown = max drawdown of the relative NAV.
* win rate per rebalance period = share of periods (execution to next execution) whose strategy return
  beats the benchmark's over the same period (without a benchmark: share of positive periods).
* turnover (annual, one-way) = Σ_j ½ Σ_i |Δw_ij| / years; cost drag = Σ_j cost_j / years
  (cost_j as a fraction of the NAV before execution j).
* bootstrap CIs: circular moving-block bootstrap of the daily excess returns (blocks of ``block`` days,
  default 20 ≈ one month, to keep autocorrelation), ``n_boot`` resamples, seeded; percentile interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import ValidationError

P_YEAR = 252


def _nav(nav: pd.Series, what: str = "nav") -> pd.Series:
    if not isinstance(nav, pd.Series):
        nav = pd.Series(nav)
    s = nav.astype(float).dropna()
    if len(s) < 2:
        raise ValidationError(what, None, f"needs at least 2 values, got {len(s)}", fix="run over a longer window")
    if (s <= 0).any():
        raise ValidationError(what, None, "non-positive NAV values", examples=[str(x) for x in s[s <= 0].index[:5]],
                              fix="a NAV is a positive level (start at 1)")
    return s


def returns(nav: pd.Series) -> pd.Series:
    """Daily simple returns r_t = NAV_t / NAV_{t−1} − 1 (first day dropped)."""
    s = _nav(nav)
    return (s / s.shift(1) - 1).iloc[1:]


def total_return(nav: pd.Series) -> float:
    """Cumulative return NAV_T / NAV_0 − 1."""
    s = _nav(nav)
    return float(s.iloc[-1] / s.iloc[0] - 1)


def annual_return(nav: pd.Series, periods: int = P_YEAR) -> float:
    """Compounded annual return (NAV_T / NAV_0)^(P/n) − 1, n = number of daily returns."""
    s = _nav(nav)
    return float((s.iloc[-1] / s.iloc[0]) ** (periods / (len(s) - 1)) - 1)


def annual_volatility(nav: pd.Series, periods: int = P_YEAR) -> float:
    """std(r, ddof=1) · √P."""
    return float(returns(nav).std(ddof=1) * np.sqrt(periods))


def sharpe(nav: pd.Series, rf: float = 0.0, periods: int = P_YEAR) -> float:
    """mean(r − rf/P) / std(r) · √P (rf annual, default 0)."""
    r = returns(nav)
    sd = r.std(ddof=1)
    return float((r.mean() - rf / periods) / sd * np.sqrt(periods)) if sd > 0 else float("nan")


def sortino(nav: pd.Series, target: float = 0.0, periods: int = P_YEAR) -> float:
    """mean(r − τ) · P / (√mean(min(r − τ, 0)²) · √P): downside deviation over all days (Sortino & Price
    1994; empyrical's ``sortino_ratio``), τ = daily target return (default 0)."""
    r = returns(nav).to_numpy() - target
    dr = np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)) * np.sqrt(periods)
    return float(r.mean() * periods / dr) if dr > 0 else float("nan")


def drawdown(nav: pd.Series) -> pd.Series:
    """NAV_t / max_{s≤t} NAV_s − 1 (≤ 0)."""
    s = _nav(nav)
    return (s / s.cummax() - 1).rename("drawdown")


def max_drawdown(nav: pd.Series) -> float:
    """min_t (NAV_t / running max − 1)."""
    return float(drawdown(nav).min())


def relative_nav(nav: pd.Series, benchmark: pd.Series) -> pd.Series:
    """Strategy NAV / benchmark NAV on common dates, normalised to 1 at the first (seed 000 超额净值)."""
    a, b = _nav(nav), _nav(benchmark, "benchmark")
    a, b = a.align(b, join="inner")
    if len(a) < 2:
        raise ValidationError("benchmark", None, "fewer than 2 dates in common with the NAV", fix="align the benchmark to the NAV's dates")
    rel = (a / b)
    return (rel / rel.iloc[0]).rename("relative_nav")


def excess_returns(nav: pd.Series, benchmark: pd.Series, kind: str = "relative") -> pd.Series:
    """Daily excess: ``relative`` = daily return of NAV/benchmark (default); ``difference`` = r_s − r_b."""
    if kind == "relative":
        return returns(relative_nav(nav, benchmark)).rename("excess")
    if kind == "difference":
        a, b = _nav(nav).align(_nav(benchmark, "benchmark"), join="inner")
        return (returns(a) - returns(b)).rename("excess")
    raise ValidationError("metrics", "kind", f"unknown excess kind {kind!r}", fix="use 'relative' or 'difference'")


def annual_excess(nav: pd.Series, benchmark: pd.Series, periods: int = P_YEAR) -> float:
    """Annual return of the relative NAV (strategy NAV / benchmark NAV)."""
    return annual_return(relative_nav(nav, benchmark), periods)


def tracking_error(nav: pd.Series, benchmark: pd.Series, periods: int = P_YEAR) -> float:
    """std(e, ddof=1) · √P, e = daily return of the relative NAV."""
    return float(excess_returns(nav, benchmark).std(ddof=1) * np.sqrt(periods))


def information_ratio(nav: pd.Series, benchmark: pd.Series, periods: int = P_YEAR) -> float:
    """mean(e) / std(e) · √P, e = daily return of the relative NAV."""
    e = excess_returns(nav, benchmark)
    sd = e.std(ddof=1)
    return float(e.mean() / sd * np.sqrt(periods)) if sd > 0 else float("nan")


def excess_max_drawdown(nav: pd.Series, benchmark: pd.Series) -> float:
    """Max drawdown of the relative NAV."""
    return max_drawdown(relative_nav(nav, benchmark))


def period_returns(nav: pd.Series, ends: pd.DatetimeIndex) -> pd.Series:
    """Return over each period between consecutive ``ends`` (dates on the NAV's index, sorted)."""
    s = _nav(nav)
    ends = pd.DatetimeIndex(ends)
    ends = ends[ends.isin(s.index)].unique().sort_values()
    v = s.reindex(ends).to_numpy()
    return pd.Series(v[1:] / v[:-1] - 1, index=ends[1:], name="period_return")


def win_rate(nav: pd.Series, benchmark: pd.Series | None, ends: pd.DatetimeIndex) -> float:
    """Share of rebalance periods (between consecutive ``ends``) where the strategy beats the benchmark
    (without a benchmark: share of periods with a positive return)."""
    ps = period_returns(nav, ends)
    if len(ps) == 0:
        return float("nan")
    if benchmark is None:
        return float((ps > 0).mean())
    pb = period_returns(benchmark.reindex(nav.index).ffill(), ends).reindex(ps.index)
    return float((ps.to_numpy() > pb.to_numpy()).mean())


def years_of(nav: pd.Series, periods: int = P_YEAR) -> float:
    """Length of the NAV in years: number of daily returns / P."""
    return (len(_nav(nav)) - 1) / periods


def block_bootstrap(excess: pd.Series | np.ndarray, *, n_boot: int = 1000, block: int = 20, seed: int = 0,
                    periods: int = P_YEAR, level: float = 0.95) -> pd.DataFrame:
    """Circular moving-block bootstrap of daily excess returns → CIs of annual excess and IR.

    Each resample concatenates ⌈n/block⌉ blocks of ``block`` consecutive days starting at uniform random
    days (wrapping around), cut to n; annual excess = (Π(1+e))^(P/n) − 1, IR = mean/std · √P.
    Returns a frame with rows annual_excess, information_ratio and columns estimate, se, lo, hi.
    """
    e = np.asarray(excess, dtype=float)
    e = e[np.isfinite(e)]
    n = e.size
    if n < 2 * block:
        raise ValidationError("bootstrap", None, f"{n} daily returns are too few for blocks of {block}",
                              fix="use a shorter block or a longer backtest")
    rng = np.random.default_rng(seed)
    nb = -(-n // block)
    starts = rng.integers(0, n, size=(n_boot, nb))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, nb * block)[:, :n] % n
    x = e[idx]
    ann = np.expm1(np.log1p(x).sum(axis=1) * periods / n)
    sd = x.std(axis=1, ddof=1)
    ir = np.divide(x.mean(axis=1), sd, out=np.full(n_boot, np.nan), where=sd > 0) * np.sqrt(periods)
    a = (1 - level) / 2
    est_ann = float(np.expm1(np.log1p(e).sum() * periods / n))
    est_ir = float(e.mean() / e.std(ddof=1) * np.sqrt(periods)) if e.std(ddof=1) > 0 else float("nan")
    rows = {
        "annual_excess": (est_ann, np.nanstd(ann, ddof=1), *np.nanquantile(ann, [a, 1 - a])),
        "information_ratio": (est_ir, np.nanstd(ir, ddof=1), *np.nanquantile(ir, [a, 1 - a])),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["estimate", "se", "lo", "hi"])


def summary(nav: pd.Series, benchmark: pd.Series | None = None, *, period_ends=None, turnover: pd.Series | None = None,
            costs: pd.Series | None = None, ci: bool = True, n_boot: int = 1000, block: int = 20, seed: int = 0,
            periods: int = P_YEAR, rf: float = 0.0) -> pd.Series:
    """All metrics of SPEC §7 as one Series (names in snake case; fractions, not percent)."""
    s = _nav(nav)
    out = {
        "start": s.index[0],
        "end": s.index[-1],
        "days": len(s) - 1,
        "cumulative_return": total_return(s),
        "annual_return": annual_return(s, periods),
        "annual_volatility": annual_volatility(s, periods),
        "sharpe": sharpe(s, rf, periods),
        "max_drawdown": max_drawdown(s),
    }
    yrs = years_of(s, periods)
    if benchmark is not None:
        b = benchmark.reindex(s.index)
        out |= {
            "benchmark_cumulative_return": total_return(b),
            "benchmark_annual_return": annual_return(b, periods),
            "benchmark_annual_volatility": annual_volatility(b, periods),
            "benchmark_max_drawdown": max_drawdown(b),
            "annual_excess": annual_excess(s, b, periods),
            "tracking_error": tracking_error(s, b, periods),
            "information_ratio": information_ratio(s, b, periods),
            "excess_max_drawdown": excess_max_drawdown(s, b),
        }
    if period_ends is not None:
        out["win_rate"] = win_rate(s, benchmark.reindex(s.index) if benchmark is not None else None, period_ends)
        out["periods"] = max(len(pd.DatetimeIndex(period_ends).unique()) - 1, 0)
    if turnover is not None:
        out["annual_turnover"] = float(turnover.sum() / yrs) if yrs > 0 else float("nan")
    if costs is not None:
        out["cost_drag"] = float(costs.sum() / yrs) if yrs > 0 else float("nan")
    if ci and benchmark is not None:
        e = excess_returns(s, benchmark.reindex(s.index))
        if len(e) >= 2 * block:
            bs = block_bootstrap(e, n_boot=n_boot, block=block, seed=seed, periods=periods)
            for m in ("annual_excess", "information_ratio"):
                out[f"{m}_se"] = float(bs.loc[m, "se"])
                out[f"{m}_ci_lo"] = float(bs.loc[m, "lo"])
                out[f"{m}_ci_hi"] = float(bs.loc[m, "hi"])
    return pd.Series(out, name="value", dtype=object)


def yearly_table(nav: pd.Series, benchmark: pd.Series | None = None, periods: int = P_YEAR) -> pd.DataFrame:
    """Per calendar year (seed 001 table 7, seed 002 分年绩效): return, vol, Sharpe, max DD and, with a
    benchmark, its return, excess (relative NAV's return in the year), tracking error, IR, excess max DD.

    Each year runs from the previous year's last close (the first year from the NAV's start).
    """
    s = _nav(nav)
    r = returns(s)
    cols: dict[str, pd.Series] = {}
    yr = r.index.year
    g = r.groupby(yr)
    cols["return"] = g.apply(lambda x: float(np.prod(1 + x) - 1))
    cols["volatility"] = g.std(ddof=1) * np.sqrt(periods)
    cols["sharpe"] = g.mean() / g.std(ddof=1) * np.sqrt(periods)
    cols["max_drawdown"] = g.apply(_mdd_from_returns)
    if benchmark is not None:
        rb = returns(benchmark.reindex(s.index).ffill())
        e = excess_returns(s, benchmark.reindex(s.index).ffill())
        ge = e.groupby(e.index.year)
        cols["benchmark"] = rb.groupby(rb.index.year).apply(lambda x: float(np.prod(1 + x) - 1))
        cols["excess"] = ge.apply(lambda x: float(np.prod(1 + x) - 1))
        cols["tracking_error"] = ge.std(ddof=1) * np.sqrt(periods)
        cols["information_ratio"] = ge.mean() / ge.std(ddof=1) * np.sqrt(periods)
        cols["excess_max_drawdown"] = ge.apply(_mdd_from_returns)
    cols["days"] = g.size()
    t = pd.DataFrame(cols)
    t.index.name = "year"
    return t


def _mdd_from_returns(x: pd.Series) -> float:
    cum = np.cumprod(1 + x.to_numpy())
    peak = np.maximum.accumulate(np.maximum(cum, 1.0))
    return float(min((cum / peak - 1).min(), 0.0))
