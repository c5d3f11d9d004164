"""``cluster_multifactor`` (seed 001): screened, clustered ETF pool → 14 single-factor tests →
equal-weight z-score composite of mom250, BIAS, EPS growth QoQ, main-force inflow and DDE10 →
top-N weekly, against the equal weight of the pool.

Pipeline (each step a function of data known on the date):

1. **Pool** (seed 001 §2): on each formation date (``pool.refresh``: yearly by default, the first
   rebalance date of each year once ``pool.window`` days of history exist) the ETFs are screened
   (AUM ≥ 1e8 or its liquidity proxy, listed ≥ 3 months, one per index, industry/theme indices), their
   indices' daily returns over the trailing window are clustered (K-means with K from elbow /
   silhouette / gap, or hierarchical), and ``pool.per_cluster`` representatives per cluster are kept
   (largest size, or closest to the centroid): ``pool.share`` of each cluster (seed 001 kept 40 of 150,
   27 %), at least one per cluster, or a fixed ``pool.per_cluster``. The pool holds until the next formation date; an ETF
   that stops trading drops out. The seed forms its pool once, at the end of its sample — that is
   look-ahead in a backtest, so here it is re-formed from the past only.
2. **Factor tests** (seed 001 tables 4–5, figure 4): the 14 factors on the pool, weekly.
3. **Composite** (seed 001 §4): Σ_f z_f / #f over the five factors (direction-signed cross-sectional
   z-scores within the pool), top-N equal weight, weekly; benchmark = equal weight of the pool.
4. **Sensitivity** (tables 6–9): each single factor as its own top-N model; N = 2..8; per-year returns.
5. **Holdings** (table 10): the ranked picks of the last half year.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from etfrot.config import (
    BacktestConfig,
    BenchmarkConfig,
    ScoresConfig,
    SelectionConfig,
    StrictModel,
    UniverseConfig,
    load_config,
    register_config,
)
from etfrot.errors import DataMissingError
from etfrot.strategies import runner

SEED001_TESTS = ["mom5", "mom20", "mom250", "rsi", "bias", "roe_ttm", "roe_q", "np_yoy", "np_growth_qoq", "eps_growth_qoq",
                 "roe_growth_qoq", "net_buy", "net_active_buy", "main_inflow", "dde10"]
SEED001_MODEL = ["mom250", "bias", "eps_growth_qoq", "main_inflow", "dde10"]


class PoolConfig(StrictModel):
    """How the candidate pool is formed from the screened ETFs (seed 001 §2)."""

    refresh: Literal["yearly", "half_yearly", "quarterly", "once"] = "yearly"
    window: int = Field(250, ge=40)  # days of index returns clustered
    method: Literal["kmeans", "hierarchical"] = "kmeans"
    k: int | None = Field(None, ge=2)  # None: the K recommended by elbow / silhouette / gap
    k_min: int = Field(2, ge=1)
    k_max: int = Field(15, ge=2)
    linkage: Literal["ward", "average", "complete", "single"] = "ward"
    share: float = Field(0.27, gt=0.0, le=1.0)  # seed 001 kept 40 of 150 screened ETFs
    per_cluster: int | None = Field(None, ge=1)  # fixed number per cluster instead of ``share``
    representative: Literal["size", "centroid"] = "size"
    n_init: int = Field(10, ge=1)
    gap_refs: int = Field(10, ge=2)
    seed: int = 0


@register_config("cluster_multifactor")
class ClusterMultifactorConfig(BacktestConfig):
    """Seed 001 defaults: industry/theme ETFs, five-factor composite, top 8 weekly, pool equal weight."""

    strategy: Literal["cluster_multifactor"] = "cluster_multifactor"
    name: str = "cluster_multifactor"
    universe: UniverseConfig = Field(default_factory=lambda: UniverseConfig(kind="etf", categories=["industry_theme"]))
    scores: ScoresConfig = Field(default_factory=lambda: ScoresConfig(source="factor", factors=list(SEED001_MODEL)))
    selection: SelectionConfig = Field(default_factory=lambda: SelectionConfig(method="top_n", n=8))
    benchmark: BenchmarkConfig = Field(default_factory=lambda: BenchmarkConfig(kind="equal_weight", code=None, rebalance="weekly"))
    pool: PoolConfig = Field(default_factory=PoolConfig)
    test_factors: list[str] = Field(default_factory=lambda: list(SEED001_TESTS))
    n_grid: list[int] = Field(default_factory=lambda: [2, 3, 4, 5, 6, 7, 8])
    single_factor_models: bool = True
    holdings_weeks: int = Field(26, ge=1)


def validate_config(config) -> ClusterMultifactorConfig:
    return config if isinstance(config, ClusterMultifactorConfig) else load_config(config, ClusterMultifactorConfig)


# ------------------------------------------------------------------------------------------ pool
@dataclass
class Formation:
    """One pool formation: the date, the seed-001 table 1 (ETF, size, manager, top SW industries,
    K-means and hierarchical clusters, ``kept``) and the clustering behind it."""

    date: pd.Timestamp
    table: pd.DataFrame
    clusters: object  # etfrot.universe.cluster.PoolClusters

    @property
    def codes(self) -> pd.Index:
        return pd.Index(self.table.loc[self.table["kept"], "etf"].astype(str))


def formation_dates(dates: pd.DatetimeIndex, calendar: pd.DatetimeIndex, refresh: str, window: int) -> pd.DatetimeIndex:
    """First rebalance date of each year / half-year / quarter with ≥ ``window`` trading days of history."""
    ok = dates[calendar.get_indexer(dates) >= window]
    if len(ok) == 0:
        raise DataMissingError(f"no rebalance date has {window} trading days of history; shorten pool.window")
    if refresh == "once":
        return ok[:1]
    key = {"yearly": ok.year, "half_yearly": ok.year * 2 + (ok.month > 6), "quarterly": ok.year * 4 + (ok.month - 1) // 3}[refresh]
    first = ~pd.Index(key).duplicated()
    return ok[np.asarray(first)]


def form_pool(bundle, date: pd.Timestamp, cfg: ClusterMultifactorConfig) -> Formation:
    """Screen on ``date``, cluster the indices' trailing returns (:func:`etfrot.universe.cluster_etfs`)
    and keep ``pool.share`` of each cluster (or ``pool.per_cluster``), largest / most central first."""
    from etfrot.universe.cluster import cluster_etfs

    u, p = cfg.universe, cfg.pool
    pc = cluster_etfs(bundle, date, window=p.window, ks=range(max(1, p.k_min), p.k_max + 1), k=p.k, n_init=p.n_init,
                      refs=p.gap_refs, seed=p.seed, linkage=p.linkage, per_cluster=10**6,
                      representative="centroid" if p.representative == "centroid" else "aum",
                      screen_kwargs={"categories": tuple(u.categories), "exclude_overseas": u.exclude_overseas,
                                       "min_aum": u.min_aum, "min_listed_months": u.min_listed_months})
    labels = pc.table.set_index("index")["kmeans" if p.method == "kmeans" else "hier"]
    counts = labels.value_counts()
    quota = (counts * 0 + p.per_cluster) if p.per_cluster else np.maximum(1, np.round(counts * p.share)).astype(int)
    if p.method == "kmeans":
        ranks = pc.reps.set_index("code")["rank"]
    else:  # rank by size inside each hierarchical cluster
        ranks = pc.table.set_index("index").groupby(labels)["aum_yi"].rank(ascending=False, method="first")
    table = pc.table.assign(cluster=pc.table["index"].map(labels).to_numpy())
    table["kept"] = (table["index"].map(ranks) <= table["cluster"].map(quota)).to_numpy()
    return Formation(pc.date, table, pc)


def pool_mask(bundle, cfg: ClusterMultifactorConfig, dates: pd.DatetimeIndex, prices: pd.DataFrame,
              progress=None) -> tuple[pd.DataFrame, list[Formation]]:
    """Bool panel (rebalance date × ETF): in the latest pool formed on or before the date, and priced."""
    fdates = formation_dates(dates, bundle.calendar, cfg.pool.refresh, cfg.pool.window)
    forms = []
    for d in fdates:  # one clustering per formation date (≈ one a year)
        forms.append(form_pool(bundle, d, cfg))
        if progress:
            progress(f"pool formed on {d:%Y-%m-%d}")
    mask = pd.DataFrame(False, index=dates, columns=prices.columns)
    pos = fdates.searchsorted(dates, side="right") - 1
    for j, f in enumerate(forms):
        rows = np.flatnonzero(pos == j)
        mask.iloc[rows, mask.columns.get_indexer(f.codes)] = True
    mask &= prices.reindex(dates).notna()
    return mask, forms


# ------------------------------------------------------------------------------------------ run
def _model(cfg, panels: dict, factors: list[str], n: int, mask, inst, bench, dates, coverage=None):
    """One top-N model: equal-weight z-score composite of ``factors`` on the pool, backtested (on the rebalance
    dates and to the end of ``coverage``, the composite's, so that every model covers the same period)."""
    from etfrot.factors import get_factor
    from etfrot.portfolio import select_weights
    from etfrot.portfolio.composite import composite_scores

    scores = composite_scores({f: panels[f] for f in factors}, {f: get_factor(f).direction for f in factors}, mask=mask)
    w = select_weights(scores, dates, method="top_n", n=n, universe=mask)
    held = w.to_numpy().sum(axis=1) > 0
    if not held.any():
        raise DataMissingError(f"no pick on any date for factors {factors}; the bundle may lack their tables")
    w = w.iloc[int(np.argmax(held)):]
    w = w.loc[:, w.to_numpy().any(axis=0)]
    sc = coverage if coverage is not None else runner.score_coverage(scores, w, runner.schedule(cfg, inst))
    res = runner.backtest_weights(cfg, w, inst, bench, scores, coverage=sc)
    return res, scores, sc


def run(bundle, config, out_dir=None, *, progress=None):
    """Strategy interface: ``(result, sections)`` of the seed-001 model; writes the report to ``out_dir``."""
    from etfrot.data.calendar import rebalance_dates
    from etfrot.evaluation.correlation import factor_correlation
    from etfrot.evaluation.factor_test import FactorTestReport, factor_test
    from etfrot.factors import FactorEngine, get_factor
    from etfrot.report import charts
    from etfrot.report.html import Section
    from etfrot.report.sections import backtest_sections

    cfg = validate_config(config)
    step = progress or (lambda _m: None)
    syn = bundle.is_synthetic
    inst = runner.instruments(bundle, "etf")
    dates = rebalance_dates(bundle.calendar, cfg.frequency, cfg.start, cfg.end)
    dates = dates[dates <= inst.prices.last_valid_index()]  # no pool can form after the ETF bars end (stated below)
    step("pool: screening and clustering")
    mask, forms = pool_mask(bundle, cfg, dates, inst.prices, progress=step)
    dates = dates[dates >= forms[0].date]
    mask = mask.loc[dates]
    bench = runner.benchmark_for(bundle, cfg, inst, mask)

    # -- single-factor tests on the pool (tables 4, 5, figure 4)
    step("factor tests")
    eng = FactorEngine(bundle)
    panels, notes = {}, []
    for name in dict.fromkeys([*cfg.test_factors, *cfg.scores.factors]):
        try:
            p = eng.compute(name, "etf", **cfg.scores.params.get(name, {})).reindex(index=dates, columns=mask.columns)
        except DataMissingError as e:
            notes.append(f"skipped {name}: {e}")
            continue
        if not p.where(mask).notna().to_numpy().any():
            notes.append(f"skipped {name}: no value for any ETF of the pool (its indices lack the data it needs, "
                         "e.g. constituent weights for fundamentals or fund flows)")
            continue
        panels[name] = p
    defs = [eps_growth_note(eng, cfg.scores.params.get("eps_growth_qoq", {}))] if "eps_growth_qoq" in panels else []
    results = {}
    for name, p in ((n, q) for n, q in panels.items() if n in cfg.test_factors):
        spec = get_factor(name)
        r = factor_test(p, inst.prices, dates, quantiles=5, direction=spec.direction, universe=mask, name=name)
        r.category, r.label = spec.category, spec.label
        results[name] = r
    tests = FactorTestReport(results, factor_correlation(panels, dates, universe=mask) if len(panels) > 1 else pd.DataFrame(),
                             {"universe": "cluster pool", "freq": cfg.frequency}, notes + defs, syn, bundle.label)
    model_factors = [f for f in cfg.scores.factors if f in panels]
    left_out = [f for f in cfg.scores.factors if f not in panels]
    if not model_factors:
        raise DataMissingError("none of the composite's factors can be computed on this bundle:\n  " + "\n  ".join(notes))

    # -- the model, its single-factor versions, and N = 2..8
    step("backtest: composite")
    n = cfg.selection.n or 8
    res, scores, sc = _model(cfg, panels, model_factors, n, mask, inst, bench, dates)
    per_factor = {"composite": res}
    if cfg.single_factor_models and len(model_factors) > 1:
        for f in model_factors:
            step(f"backtest: {f} alone")
            try:
                per_factor[f] = _model(cfg, panels, [f], n, mask, inst, bench, dates, sc)[0]
            except DataMissingError as e:
                notes.append(f"no single-factor model for {f}: {e}")
    per_n = {}
    for k in cfg.n_grid:
        step(f"backtest: N = {k}")
        per_n[k] = res if k == n else _model(cfg, panels, model_factors, k, mask, inst, bench, dates, sc)[0]

    inputs = runner.Coverage.of(bundle, ["etf_bars", "index_bars", *runner.factor_inputs(panels)], sc)

    # -- tables
    table6 = backtest_table(per_factor)
    table8 = backtest_table({f"N={k}": r for k, r in per_n.items()})
    table7 = yearly_returns_table(per_factor, res if bench is not None else None)
    table9 = yearly_returns_table({f"N={k}": r for k, r in per_n.items()}, res if bench is not None else None)
    table10 = ranked_holdings(sc.trim(scores), mask, inst.names, last=cfg.holdings_weeks, top=5)

    # -- report
    step("report")
    last = forms[-1]
    from etfrot.universe.cluster import plot_dendrogram, plot_k_scan

    pc = last.clusters
    pool_text = (f"{len(forms)} pool formations ({cfg.pool.refresh}); the latest on {last.date:%Y-%m-%d}: "
                 f"{int(last.table['kept'].sum())} ETFs kept from {len(last.table)} screened, {pc.k} clusters "
                 f"({cfg.pool.method}); K by elbow / silhouette / gap: {pc.scan.choices} → {pc.scan.k}.")
    sections = [Section("Candidate pool (seed 001 §2, table 1)", pool_text,
                        tables={"latest pool (table 1)": last.table.set_index("etf"),
                                "K scan (elbow, silhouette, gap)": pc.scan.table,
                                "pool size per formation": pd.Series({f.date.strftime('%Y-%m-%d'): int(f.table['kept'].sum()) for f in forms}, name="ETFs").to_frame()},
                        figures=[plot_k_scan(pc.scan, label=bundle.label), plot_dendrogram(pc.hclust, pc.table.set_index("index")["name"], label=bundle.label)])]
    figs = [charts.heatmap(tests.correlation, title="Factor correlation (mean cross-sectional rank corr)", synthetic=syn)] if len(tests.correlation) else []
    sections.append(Section("Single-factor tests on the pool (seed 001 tables 4–5, figure 4)",
                            "Weekly; IC against the next week's return; quantile backtest in 5 groups vs the pool's equal weight."
                            + ("\nLeft out: " + "; ".join(notes) if notes else "")
                            + ("\nFactor definitions: " + "; ".join(defs) if defs else ""),
                            tables={"table 4: IC and regression statistics": tests.table4(), "table 5: top-group backtests": tests.table5()},
                            figures=figs))
    sections.append(Section("Composite vs single factors (seed 001 tables 6–7)",
                            f"Composite = equal-weight z-score of {model_factors}; each model holds the top {n} weekly. "
                            f"{EXCESS_NOTE}"
                            + (f"\nLeft out of the composite (data missing): {left_out}" if left_out else ""),
                            tables={"table 6: backtests": table6, "table 7: returns per year": table7},
                            figures=[charts.lines_chart(pd.DataFrame({k: r.relative_nav() for k, r in per_factor.items()}) if bench is not None
                                                        else pd.DataFrame({k: r.nav for k, r in per_factor.items()}),
                                                        title="Relative NAV per model" if bench is not None else "NAV per model", synthetic=syn)]))
    sections.append(Section("Sensitivity to N (seed 001 tables 8–9, figure 6)", EXCESS_NOTE,
                            tables={"table 8: backtests per N": table8, "table 9: returns per year per N": table9},
                            figures=[charts.lines_chart(pd.DataFrame({f"N={k}": r.relative_nav() if bench is not None else r.nav for k, r in per_n.items()}),
                                                        title="Relative NAV per N", synthetic=syn)]))
    sections.append(Section("Ranked picks of the last half year (seed 001 table 10)", "",
                            tables={"table 10": table10}))
    sections = backtest_sections(res, title=cfg.report.title or cfg.name, synthetic=syn, last_holdings=cfg.report.last_holdings,
                                 n_boot=cfg.report.bootstrap, block=cfg.report.block, seed=cfg.report.seed, bundle=bundle,
                                 describe=f"Seed 001 ETF rotation: top {n} of the cluster pool by the composite, "
                                          f"{cfg.frequency}. " + inputs.note()) + sections
    sections.append(runner.coverage_section(inputs, title=cfg.report.title or cfg.name))
    if out_dir is not None:
        runner.write_run(out_dir, res, sections, cfg, bundle, coverage=inputs)
    return res, sections


SEED001_EXCESS = "excess (seed 001: difference of annual returns)"
EXCESS_NOTE = ("annual_excess (the headline) = annual return of the relative NAV (strategy / benchmark); the column "
               f"'{SEED001_EXCESS}' is seed 001's definition, annual return − the benchmark's annual return "
               "(its 17.30 % = 19.70 % − 2.40 %), per year likewise, so the tables compare with the seed's number for number.")
BENCH_LABEL = "pool equal weight (平均)"


def backtest_table(results: dict) -> pd.DataFrame:
    """Seed 001 tables 6 / 8: one row per model. ``annual_excess`` is the headline (annual return of the
    relative NAV); :data:`SEED001_EXCESS` is the seed's figure, annual return − the benchmark's annual
    return (:func:`etfrot.backtest.metrics.annual_return_difference`), to compare number for number."""
    cols = ("cumulative_return", "annual_return", "annual_volatility", "max_drawdown", "sharpe", "annual_excess",
            SEED001_EXCESS, "information_ratio", "win_rate")
    rows = {}
    for k, r in results.items():
        m = r.metrics(ci=False)
        m[SEED001_EXCESS] = (m["annual_return"] - m["benchmark_annual_return"]
                             if "benchmark_annual_return" in m else np.nan)
        rows[k] = {c: m.get(c) for c in cols}
    t = pd.DataFrame(rows).T.astype(float)
    t.attrs["kinds"] = {SEED001_EXCESS: "percent"}
    return t


def yearly_returns_table(results: dict, bench_of=None) -> pd.DataFrame:
    """Seed 001 tables 7 / 9: return per calendar year of each model, the benchmark's (from ``bench_of``'s
    result, the seed's "平均" column) and, per model, the seed's excess: its year return − the benchmark's
    (seed 001: "仅仅在 2024 年跑输基准 2.68%" = 8.82 % − 11.50 %)."""
    t = pd.DataFrame({k: r.yearly()["return"] for k, r in results.items()})
    if bench_of is not None:
        b = bench_of.yearly()["benchmark"]
        t[BENCH_LABEL] = b
        for k in results:
            t[f"{k}: {SEED001_EXCESS}"] = t[k] - b
    t.index.name = "year"
    t.attrs["kinds"] = {c: "percent" for c in t.columns}
    return t


def ranked_holdings(scores: pd.DataFrame, mask: pd.DataFrame, names: pd.Series, *, last: int = 26, top: int = 5) -> pd.DataFrame:
    """Seed 001 table 10: for each of the last ``last`` rebalance dates, the names ranked 1..``top`` by score."""
    s = scores.where(mask).iloc[-last:]
    order = np.argsort(-np.nan_to_num(s.to_numpy(), nan=-np.inf), axis=1)[:, :top]
    valid = np.take_along_axis(np.isfinite(s.to_numpy()), order, axis=1)
    codes = s.columns.to_numpy()[order]
    labels = np.where(valid, pd.Series(codes.ravel()).map(names).fillna(pd.Series(codes.ravel())).to_numpy().reshape(codes.shape), "")
    return pd.DataFrame(labels, index=s.index.strftime("%Y-%m-%d"), columns=[f"#{i + 1}" for i in range(top)])


def signal(bundle, config, date=None) -> pd.DataFrame:
    """This period's picks: code, name, weight, composite score and each factor's cross-sectional rank in the pool."""
    from etfrot.data.calendar import rebalance_dates
    from etfrot.factors import FactorEngine, get_factor
    from etfrot.portfolio import select_weights

    cfg = validate_config(config)
    end = pd.Timestamp(date) if date is not None else bundle.calendar[-1]
    inst = runner.instruments(bundle, "etf")
    dates = rebalance_dates(bundle.calendar, cfg.frequency, cfg.start, end)
    d = dates[-1]
    fd = formation_dates(dates, bundle.calendar, cfg.pool.refresh, cfg.pool.window)
    form = form_pool(bundle, fd[-1], cfg)  # only the pool in force on d
    mask = pd.DataFrame([inst.prices.columns.isin(form.codes) & inst.prices.loc[d].notna().to_numpy()], index=[d], columns=inst.prices.columns)
    scores = runner.scores_panel(bundle, cfg, dates[-1:], mask.iloc[-1:])
    w = select_weights(scores, dates[-1:], method="top_n", n=cfg.selection.n or 8, universe=mask.iloc[-1:]).iloc[0]
    w = w[w > 0]
    eng = FactorEngine(bundle)
    out = pd.DataFrame({"name": inst.names.reindex(w.index), "weight": w, "score": scores.iloc[0].reindex(w.index)})
    pool = mask.iloc[-1]
    for f in cfg.scores.factors:
        try:
            v = eng.compute(f, "etf", **cfg.scores.params.get(f, {})).reindex(columns=mask.columns).loc[:d].iloc[-1].where(pool) * get_factor(f).direction
        except DataMissingError:
            continue
        out[f"rank_{f}"] = v.rank(ascending=False, method="min").reindex(w.index).astype("Int64")
    out.index.name = "code"
    out.attrs["date"] = d
    return out.sort_values("score", ascending=False)


def eps_growth_note(eng, params: dict) -> str:
    """Which EPS YoY and which QoQ form ``eps_growth_qoq`` used on this bundle, in words (issue 13 item 5)."""
    from etfrot.factors.fundamental import EPS_YOY_SOURCE, eps_yoy_source

    src = eps_yoy_source(eng.inputs("stock"), params.get("yoy", "auto"))
    what = (f"the source's EPS YoY ({EPS_YOY_SOURCE}, baostock YOYEPSBasic: year-to-date basic EPS)" if src == "source"
            else "EPS YoY derived from the single-quarter eps (EPS_q / EPS_{q−4} − 1)")
    form = params.get("form", "diff")
    how = "g_q − g_{q−1} (difference of YoY growth)" if form == "diff" else "g_q / g_{q−1} − 1 (ratio form, |base| when ≤ 0)"
    return f"eps_growth_qoq: {how} of {what}."
