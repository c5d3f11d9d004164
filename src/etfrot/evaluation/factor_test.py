"""Single-factor tests end to end (SPEC §3; seed 001 tables 4–5, figure 4).

``factor_test(panel, prices, dates, …)`` tests one factor panel; ``run_factor_tests(names, bundle, …)``
computes registered factors at the universe's level, tests each on the rebalance dates and returns
the seed-001-shaped tables (table 4: regression t and IC statistics; table 5: top-group quantile
backtest against the universe equal weight) and the factor correlation matrix (figure 4).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError, DataMissingError, EtfrotError
from etfrot.evaluation.correlation import factor_correlation
from etfrot.evaluation.ic import forward_returns, ic_series, ic_summary, overlap_lags
from etfrot.evaluation.pools import resolve_universe
from etfrot.evaluation.quantiles import QuantileResult, quantile_backtest
from etfrot.evaluation.regression import regression_tstats, tstat_summary

TABLE4_COLUMNS = ["category", "label", "abs_t_mean", "abs_t_gt2", "ic_mean", "ic_std", "icir", "ic_pos", "ic_t",
                  "ic_t_nw", "rank_ic_mean", "rank_ic_std", "rank_icir", "rank_ic_pos", "rank_ic_t_nw", "periods"]
TABLE5_COLUMNS = ["total_return", "annual_return", "volatility", "max_drawdown", "sharpe", "information_ratio",
                  "win_rate", "excess_annual_return", "excess_max_drawdown", "long_short_annual_return",
                  "long_short_sharpe"]


@dataclass
class FactorTestResult:
    """Everything one factor's test produced."""

    name: str
    ic: pd.Series
    rank_ic: pd.Series
    ic_stats: dict
    rank_ic_stats: dict
    regression: pd.DataFrame
    t_stats: dict
    quantiles: QuantileResult | None
    direction: int = 1
    category: str = ""
    label: str = ""

    def table4_row(self) -> dict:
        i, r, t = self.ic_stats, self.rank_ic_stats, self.t_stats
        return {"category": self.category, "label": self.label or self.name,
                "abs_t_mean": t["abs_t_mean"], "abs_t_gt2": t["abs_t_gt2"],
                "ic_mean": i["mean"], "ic_std": i["std"], "icir": i["icir"], "ic_pos": i["pos_share"], "ic_t": i["t"],
                "ic_t_nw": i["t_nw"], "rank_ic_mean": r["mean"], "rank_ic_std": r["std"], "rank_icir": r["icir"],
                "rank_ic_pos": r["pos_share"], "rank_ic_t_nw": r["t_nw"], "periods": i["n"]}

    def table5_row(self) -> dict:
        if self.quantiles is None:
            return {c: np.nan for c in TABLE5_COLUMNS}
        return self.quantiles.metrics()


def factor_test(factor: pd.DataFrame, prices: pd.DataFrame, dates, *, horizon: int | None = None,
                quantiles: int = 5, direction: int = 1, universe: pd.DataFrame | None = None,
                nw_lags: int | None = None, name: str = "factor", min_obs: int = 3,
                fwd: pd.DataFrame | None = None, quantile_dates=None) -> FactorTestResult:
    """IC / Rank IC series and summaries, regression t-values and a quantile backtest of one factor panel.

    ``horizon=None``: forward return to the next rebalance date (no overlap); an integer: that many
    trading days (Newey–West lags default to ⌈horizon/step⌉ − 1). IC signs are raw; the quantile
    backtest ranks factor × ``direction`` so the top group is the one the factor favours; it runs on
    ``quantile_dates`` (default: ``dates`` from the first one on which ``quantiles`` codes have a value,
    so warm-up periods are not counted as cash) and is None when it cannot run (fewer than 2 dates).
    """
    dates = pd.DatetimeIndex(dates)
    fwd = forward_returns(prices, dates, horizon) if fwd is None else fwd
    if universe is not None:
        fwd = fwd.where(universe.reindex(index=fwd.index, columns=fwd.columns).fillna(False).to_numpy(bool))
    lags = overlap_lags(dates, prices.index, horizon) if nw_lags is None else int(nw_lags)
    ic = ic_series(factor, fwd, "pearson", min_obs=min_obs)
    ric = ic_series(factor, fwd, "spearman", min_obs=min_obs)
    reg = regression_tstats(factor, fwd, min_obs=max(min_obs, 3))
    try:
        qd = first_groupable(factor, dates, quantiles, universe) if quantile_dates is None else pd.DatetimeIndex(quantile_dates)
        qr = quantile_backtest(factor, prices, qd, quantiles=quantiles, direction=direction, universe=universe)
    except EtfrotError:
        qr = None
    return FactorTestResult(name, ic, ric, ic_summary(ic, nw_lags=lags), ic_summary(ric, nw_lags=lags), reg,
                            tstat_summary(reg["t"]), qr, direction)


def first_groupable(factor: pd.DataFrame, dates, quantiles: int, universe: pd.DataFrame | None = None) -> pd.DatetimeIndex:
    """``dates`` from the first one on which at least ``quantiles`` codes (in the universe) have a value."""
    dates = pd.DatetimeIndex(dates)
    have = factor.reindex(index=dates).notna()
    if universe is not None:
        have &= universe.reindex(index=dates, columns=have.columns).fillna(False).to_numpy(bool)
    cnt = have.sum(axis=1)
    ok = cnt.index[cnt >= quantiles]
    return dates[dates >= ok[0]] if len(ok) else dates[:0]


@dataclass
class FactorTestReport:
    """The tests of several factors on one universe, with the seed-001-shaped tables."""

    results: dict[str, FactorTestResult]
    correlation: pd.DataFrame
    settings: dict
    notes: list[str] = field(default_factory=list)
    synthetic: bool = False
    data_label: str = ""

    def table4(self) -> pd.DataFrame:
        """Seed 001 table 4: regression |t| and IC statistics per factor (+ Rank IC, Newey–West t)."""
        rows = {n: r.table4_row() for n, r in self.results.items()}
        return pd.DataFrame.from_dict(rows, orient="index", columns=TABLE4_COLUMNS).rename_axis("factor")

    def table5(self) -> pd.DataFrame:
        """Seed 001 table 5: top-group quantile backtest vs the universe equal weight, plus the universe row."""
        rows = {n: r.table5_row() for n, r in self.results.items()}
        df = pd.DataFrame.from_dict(rows, orient="index", columns=TABLE5_COLUMNS)
        first = next((r.quantiles for r in self.results.values() if r.quantiles is not None), None)
        if first is not None:
            df.loc["universe (平均)"] = pd.Series(first.universe_metrics())
        return df.rename_axis("factor")

    def ic_frame(self, rank: bool = False) -> pd.DataFrame:
        """dates × factors of IC (or Rank IC)."""
        return pd.DataFrame({n: (r.rank_ic if rank else r.ic) for n, r in self.results.items()})

    def quantile_navs(self, name: str) -> pd.DataFrame:
        q = self.results[name].quantiles
        if q is None:
            raise DataMissingError(f"factor {name!r} has no quantile backtest (too few codes or dates).")
        return q.nav


def run_factor_tests(names, bundle, *, universe: str = "etf", freq: str = "weekly", horizon: int | None = None,
                     quantiles: int = 5, start=None, end=None, min_coverage: float = 0.5, engine=None,
                     skip_missing: bool = True, correlation: bool = True, progress=None) -> FactorTestReport:
    """Compute the factors ``names`` at the universe's level and test each (see :func:`factor_test`).

    ``universe``: etf | index | industry | broad | style | stock | stock:csi300 | … (see ``resolve_universe``).
    Factors whose data the bundle lacks are skipped with a note (``skip_missing``), or raise.
    The quantile backtests of all factors start on the same date (the latest first date on which a
    factor can be grouped), so table 5 compares like with like.
    """
    from etfrot.factors import FactorEngine, get_factor, resolve_names

    names = resolve_names(names)
    if freq not in ("weekly", "monthly", "daily"):
        raise ConfigError(f"unknown frequency {freq!r}; use weekly or monthly (or daily)")
    dates = rebalance_dates(bundle.calendar, freq, start=start, end=end)
    if len(dates) < 3:
        raise ConfigError(f"only {len(dates)} {freq} rebalance dates between {start} and {end}; widen the window")
    uni = resolve_universe(bundle, universe, dates)
    eng = engine if engine is not None else FactorEngine(bundle, min_coverage=min_coverage)
    panels, notes = {}, []
    for n in names:
        try:
            p = eng.compute(n, uni.level, list(uni.codes))
        except (DataMissingError, ConfigError) as e:
            if not skip_missing:
                raise
            notes.append(f"skipped {n}: {e}")
            continue
        panels[n] = p.reindex(columns=uni.codes)
        if progress is not None:
            progress(n)
    if not panels:
        raise DataMissingError("no factor could be computed on this bundle:\n  " + "\n  ".join(notes))
    specs = {n: get_factor(n) for n in panels}
    return _test_panels(panels, bundle, uni, dates, universe=universe, freq=freq, horizon=horizon, quantiles=quantiles,
                        correlation=correlation, notes=notes + eng.notes, min_coverage=min_coverage,
                        directions={n: s.direction for n, s in specs.items()},
                        meta={n: (s.category, s.label) for n, s in specs.items()})


def run_panel_tests(panels: dict[str, pd.DataFrame], bundle, *, universe: str = "stock", freq: str = "monthly",
                    horizon: int | None = None, quantiles: int = 10, start=None, end=None,
                    directions: dict[str, int] | None = None, correlation: bool = True) -> FactorTestReport:
    """The same tests for factor panels that are not registered (e.g. the AGRU stock factor, an index
    factor aggregated from it): ``panels`` = name → date × code panel at the universe's level."""
    if freq not in ("weekly", "monthly", "daily"):
        raise ConfigError(f"unknown frequency {freq!r}; use weekly or monthly (or daily)")
    if not panels:
        raise ConfigError("no factor panel given")
    dates = rebalance_dates(bundle.calendar, freq, start=start, end=end)
    if len(dates) < 3:
        raise ConfigError(f"only {len(dates)} {freq} rebalance dates between {start} and {end}; widen the window")
    uni = resolve_universe(bundle, universe, dates)
    panels = {n: p.reindex(index=dates, columns=uni.codes) for n, p in panels.items()}
    return _test_panels(panels, bundle, uni, dates, universe=universe, freq=freq, horizon=horizon, quantiles=quantiles,
                        correlation=correlation, notes=[], min_coverage=None, directions=directions or {},
                        meta={n: ("custom", n) for n in panels})


def _test_panels(panels, bundle, uni, dates, *, universe, freq, horizon, quantiles, correlation, notes, min_coverage,
                 directions, meta) -> FactorTestReport:
    mask = uni.mask
    # common start of the quantile backtests: every factor can form its groups
    firsts = []
    for p in panels.values():
        cnt = (p.reindex(index=dates).notna() & mask).sum(axis=1)
        ok = cnt[cnt >= quantiles]
        if len(ok):
            firsts.append(ok.index[0])
    qstart = max(firsts) if firsts else dates[0]
    qdates = dates[dates >= qstart]
    empty = [n for n, p in panels.items() if not (p.reindex(index=dates).notna() & mask).to_numpy().any()]
    if empty:
        notes.append(f"no value inside the universe on any test date (all NaN): {', '.join(empty)}")
    fwd = forward_returns(uni.prices, dates, horizon)
    fwd = fwd.where(mask.reindex(index=fwd.index, columns=fwd.columns).fillna(False).to_numpy(bool))
    results = {}
    for n, p in panels.items():
        r = factor_test(p, uni.prices, dates, horizon=horizon, quantiles=quantiles, direction=directions.get(n, 1),
                        universe=mask, name=n, fwd=fwd, quantile_dates=qdates)
        if r.quantiles is None and n not in empty:
            notes.append(f"{n}: no quantile backtest (fewer than {quantiles} codes on 2 rebalance dates from "
                         f"{qstart.date()})")
        r.category, r.label = meta[n]
        results[n] = r
    corr = factor_correlation(panels, dates, universe=mask) if correlation and len(panels) > 1 else pd.DataFrame()
    settings = {"universe": universe, "level": uni.level, "freq": freq, "horizon": horizon if horizon else "next rebalance",
                "quantiles": quantiles, "start": str(dates[0].date()), "end": str(dates[-1].date()),
                "quantile_start": str(qstart.date()), "periods": len(dates), "codes": int(len(uni.codes)),
                "min_coverage": min_coverage}
    return FactorTestReport(results, corr, settings, notes, bundle.is_synthetic, bundle.label)
