"""``regime_rotation`` (seed 002 "国联行业轮动策略2.0"; SPEC §6, §8): macro-regime style-factor rotation
of industry ETFs.

Pipeline on each rebalance date t (monthly by default), every step point-in-time:

1. **Universe**: industry/theme ETFs, screened (SPEC §5, :mod:`etfrot.universe.screen`: listed, size,
   age, one ETF per tracked index) — or the indices themselves with ``universe.kind: index``.
2. **Regime** (:func:`etfrot.portfolio.regime.regime_series`): the quadrant of the earnings proxy ×
   credit proxy, each rising or not vs ``lag_months`` earlier, from values released by t.
3. **Style factors** (seed 002: 景气度, 盈利超预期, 龙头效应, 估值泡沫, 反转, 动量, 拥挤度, 通胀beta, 北向资金;
   :data:`etfrot.factors.STYLE_FACTORS`) at ETF level (the tracked index's value). A factor whose data
   the bundle lacks (e.g. no flows on real data) is skipped and the report says why.
4. **IC per quadrant** from the past only: the monthly Rank IC of each factor against the next period's
   return (realised by t), averaged within each quadrant over an expanding window; t-stat per quadrant.
5. **Selection**: in the current quadrant the factors with t > τ, sign-flipped those with t < −τ; the
   composite is the equal-weight mean of their cross-sectional z-scores (the "alpha"). Fallback when none
   is significant: ``full_sample`` (the same test on all past periods), then the benchmark.
6. **Portfolio**: top N (5) by composite, alpha-weighted with a cap (:func:`etfrot.portfolio.alpha_weights`);
   variants ``none`` and ``double`` exclusion (crowding and valuation bubble above a cross-sectional
   percentile, :mod:`etfrot.portfolio.exclusions`), side by side.
7. **Backtest** (:func:`etfrot.backtest.run_backtest`) against the industry equal weight: the equal weight of
   the same industry universe, rebalanced monthly (seed 002: 行业等权组合).

Report: variants side by side (metrics, NAVs, per-year excess), the seed's factor-rank table (each pick's
rank on each selected factor, 综合排名 = mean rank) and weights-with-alpha table for the latest date, the
regime history (table and chart), the per-quadrant IC table, then the main variant's full backtest sections.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from etfrot.config import (
    BacktestConfig,
    BenchmarkConfig,
    ScoresConfig,
    SelectionConfig,
    StrictModel,
    UniverseConfig,
    config_dict,
    load_config,
    register_config,
)
from etfrot.errors import DataMissingError
from etfrot.portfolio import regime as R

SEED002_FACTORS = ["prosperity", "sue", "leader", "bubble", "reversal", "mom12_1", "crowding", "inflation_beta", "northbound"]
VARIANT_LABELS = {"none": "no exclusion (无剔除)", "crowded": "exclude crowded", "bubble": "exclude valuation bubble",
                  "double": "double exclusion (双剔除)"}


# ------------------------------------------------------------------------------------------ config
class RegimeConfig(StrictModel):
    """The macro regime (seed 002 §3): which macro series, compared with how many months earlier."""

    earnings_series: str = "industrial_profit_yoy"  # earnings proxy (e.g. industrial profits or PPI YoY)
    credit_series: str = "tsf_yoy"  # credit proxy (e.g. total social financing YoY)
    lag_months: int = Field(3, ge=1, le=24)
    max_gap_months: int = Field(2, ge=0, le=12)  # missing months (merged Jan–Feb releases) bridged


class RotationConfig(StrictModel):
    """Per-quadrant factor selection (seed 002 §3; SPEC §6)."""

    factors: list[str] = Field(default_factory=lambda: list(SEED002_FACTORS))
    ic_method: Literal["spearman", "pearson"] = "spearman"
    min_obs: int = Field(6, ge=2)  # periods in a quadrant before its t-stat counts
    t_threshold: float = Field(2.0, ge=0.0)
    fallback: Literal["full_sample", "benchmark", "cash"] = "full_sample"
    zscore_clip: float | None = Field(3.0, gt=0.0)
    skip_warmup: bool = True  # start the backtest at the first date a factor rule is active

    @model_validator(mode="after")
    def _check(self):
        if not self.factors:
            raise ValueError("rotation.factors needs at least one factor")
        return self


class ExclusionConfig(StrictModel):
    """Variants (seed 002: 无剔除 / 双剔除) and the exclusion thresholds (cross-sectional percentiles)."""

    variants: list[Literal["none", "crowded", "bubble", "double"]] = Field(default_factory=lambda: ["none", "double"])
    crowding_factor: str = "crowding"
    bubble_factor: str = "bubble"
    crowding_pct: float = Field(0.8, ge=0.0, le=1.0)
    bubble_pct: float = Field(0.8, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _check(self):
        if not self.variants or len(set(self.variants)) != len(self.variants):
            raise ValueError("exclusions.variants needs one or more distinct modes")
        return self


@register_config("regime_rotation")
class RegimeRotationConfig(BacktestConfig):
    """Seed 002 defaults: industry ETFs, monthly, top 5 alpha-weighted (cap 30 %), industry equal weight."""

    strategy: Literal["regime_rotation"] = "regime_rotation"
    name: str = "regime_rotation"
    universe: UniverseConfig = Field(default_factory=lambda: UniverseConfig(kind="etf", categories=["industry_theme"]))
    scores: ScoresConfig | None = None  # built from the regime; see `rotation`
    selection: SelectionConfig = Field(default_factory=lambda: SelectionConfig(method="top_n", n=5, weighting="alpha", cap=0.3))
    frequency: Literal["weekly", "monthly"] = "monthly"
    benchmark: BenchmarkConfig = Field(default_factory=lambda: BenchmarkConfig(kind="equal_weight", code=None, rebalance="monthly"))
    #: with ``universe.kind: index``: "tracked" = indices tracked by a listed, screened ETF (SPEC §5);
    #: "all" = every cn index of the categories with a price that day (a wider cross-section for the IC
    #: where few ETFs existed, e.g. real data before 2019)
    index_universe: Literal["tracked", "all"] = "tracked"
    regime: RegimeConfig = Field(default_factory=RegimeConfig)
    rotation: RotationConfig = Field(default_factory=RotationConfig)
    exclusions: ExclusionConfig = Field(default_factory=ExclusionConfig)

    @model_validator(mode="after")
    def _no_scores(self):
        if self.index_universe == "all" and self.universe.kind != "index":
            raise ValueError("index_universe 'all' needs universe.kind 'index'")
        if self.scores is not None:
            raise ValueError("regime_rotation builds its scores from the regime; remove `scores` and set "
                             "`rotation.factors` instead")
        return self


def validate_config(config) -> RegimeRotationConfig:
    """Strategy interface: a mapping (or a validated config) → :class:`RegimeRotationConfig`."""
    return config if isinstance(config, RegimeRotationConfig) else load_config(config, RegimeRotationConfig)


# ------------------------------------------------------------------------------------------ result
@dataclass
class RegimeRotationResult:
    """Everything a run produced. Behaves like the main variant's backtest :class:`~etfrot.backtest.Result`
    (``nav``, ``metrics()``, ``yearly()``, ``holdings()`` … are the main variant's); ``variants`` holds all."""

    variants: dict  # variant → backtest Result
    main: str
    dates: pd.DatetimeIndex  # rebalance dates (signal dates), IC history included
    regimes: pd.DataFrame  # regime_table on the rebalance dates
    ic: pd.DataFrame  # formation date × factor (IC against the next period's return)
    path: R.QuadrantICPath
    directions: pd.DataFrame  # date × factor in {−1, 0, 1}
    rules: pd.Series  # date → "quadrant Q" / "full sample" / "benchmark" / "cash"
    factors: dict  # factor → (rebalance date × code) values inside the universe
    scores: pd.DataFrame  # composite alpha (rebalance date × code)
    weights: dict  # variant → target weights (rebalance date × code)
    excluded: dict  # variant → bool panel of excluded codes
    universe: pd.DataFrame  # bool (rebalance date × code)
    names: pd.Series
    skipped: dict = field(default_factory=dict)  # factor or variant → why it was left out
    notes: list = field(default_factory=list)
    start: pd.Timestamp | None = None  # first backtest signal date

    def __getattr__(self, name):  # delegate Result's API to the main variant
        if name.startswith("_") or name in ("variants", "main"):
            raise AttributeError(name)
        return getattr(self.variants[self.main], name)

    def variant_metrics(self, **kw) -> pd.DataFrame:
        """metric × variant table (``Result.metrics`` of each variant; ``ci=False`` unless asked)."""
        kw.setdefault("ci", False)
        return pd.DataFrame({v: r.metrics(**kw) for v, r in self.variants.items()})

    def latest_picks(self, variant: str | None = None) -> pd.DataFrame:
        """Seed 002 weights-with-alpha table for the last rebalance date: code, name, alpha, weight."""
        v = variant or self.main
        w = self.weights[v].iloc[-1]
        w = w[w > 0].sort_values(ascending=False)
        d = self.weights[v].index[-1]
        return pd.DataFrame({"code": w.index, "name": self.names.reindex(w.index).to_numpy(),
                             "alpha": self.scores.loc[d].reindex(w.index).to_numpy(), "weight": w.to_numpy()},
                            index=pd.Index([d] * len(w), name="date"))


# ------------------------------------------------------------------------------------------ steps
_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def factor_engine(bundle):
    """The :class:`~etfrot.factors.FactorEngine` of ``bundle``, kept as long as the bundle object lives, so
    repeated runs on one opened bundle (sweep cells in a worker, ``signal`` after ``run``) compute each
    factor panel once. Panels depend only on the bundle's data, never on a run's config."""
    from etfrot.factors import FactorEngine

    eng = _ENGINES.get(bundle)
    if eng is None:
        eng = _ENGINES[bundle] = FactorEngine(bundle)
    return eng


def style_factor_panels(bundle, names, level: str, dates, mask, engine=None) -> tuple[dict, dict]:
    """Factor values on the rebalance dates inside the universe; ({name: panel}, {name: why skipped})."""
    from etfrot.factors import get_factor

    eng = engine or factor_engine(bundle)
    panels, skipped = {}, {}
    for name in names:
        get_factor(name)  # unknown names are config errors, not skips
        try:
            p = eng.compute(name, level)
        except DataMissingError as e:
            skipped[name] = f"data missing: {e}"
            continue
        p = p.reindex(index=dates, columns=mask.columns).where(mask)
        if not np.isfinite(p.to_numpy(float)).any():
            skipped[name] = "no value for any code of the universe on any rebalance date"
            continue
        panels[name] = p
    return panels, skipped


def factor_ic_table(panels: dict, fwd: pd.DataFrame, method: str = "spearman") -> pd.DataFrame:
    """IC per formation date and factor: corr_t(factor_t, return t → next rebalance) (SPEC §3)."""
    from etfrot.evaluation import ic_series

    cols = {n: ic_series(p, fwd, method) for n, p in panels.items()}
    return pd.DataFrame(cols, index=fwd.index)


def all_index_mask(bundle, cfg, dates, prices: pd.DataFrame) -> pd.DataFrame:
    """Every cn index of ``universe.categories`` (not a total-return twin) with a close on the date."""
    info = bundle.table("index_info")
    keep = info["category"].isin(cfg.universe.categories) & (info["region"] == "cn") & info["total_return_of"].isna()
    if cfg.universe.exclude_overseas:
        from etfrot.universe.screen import is_overseas_code

        keep &= ~is_overseas_code(info["code"])
    codes = pd.Index(info.loc[keep, "code"].astype(str))
    if cfg.universe.codes is not None:
        codes = codes[codes.isin(cfg.universe.codes)]
    mask = prices.reindex(index=dates).notna() & np.broadcast_to(prices.columns.isin(codes)[None, :],
                                                                  (len(dates), prices.shape[1]))
    if not mask.to_numpy().any():
        raise DataMissingError(f"no cn index of categories {cfg.universe.categories} has a price on any rebalance date")
    return mask


def _benchmark_weights(mask: pd.DataFrame) -> pd.DataFrame:
    m = mask.astype(float)
    return m.div(m.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)


def build(bundle, config) -> RegimeRotationResult:
    """Run the pipeline of the module docstring up to the backtests (no report)."""
    from etfrot.data.calendar import rebalance_dates
    from etfrot.evaluation import forward_returns
    from etfrot.portfolio import exclusion_flags, select_weights
    from etfrot.strategies.runner import (
        backtest_weights,
        benchmark_for,
        instruments,
        universe_mask,
    )

    cfg = validate_config(config)
    rot, ex = cfg.rotation, cfg.exclusions
    inst = instruments(bundle, cfg.universe.kind)
    dates = rebalance_dates(bundle.calendar, cfg.frequency, None, cfg.end)  # IC history from the data's start
    if len(dates) < 3:
        raise DataMissingError(f"only {len(dates)} {cfg.frequency} rebalance dates up to {cfg.end}; need a longer bundle")
    mask = all_index_mask(bundle, cfg, dates, inst.prices) if cfg.index_universe == "all" else \
        universe_mask(bundle, cfg, dates, inst.prices)
    level = "etf" if cfg.universe.kind == "etf" else "index"
    panels, skipped = style_factor_panels(bundle, rot.factors, level, dates, mask)
    if not panels:
        raise DataMissingError(f"none of the style factors {rot.factors} can be computed on this bundle: {skipped}")

    # regime from release-aware macro series
    regimes = R.regime_table(R.macro_rows(bundle, cfg.regime.earnings_series), R.macro_rows(bundle, cfg.regime.credit_series),
                             dates, lag_months=cfg.regime.lag_months, max_gap_months=cfg.regime.max_gap_months)
    reg = regimes["regime"]

    # past-only IC per quadrant → factor directions per date
    fwd = forward_returns(inst.prices, dates).where(mask)
    ic = factor_ic_table(panels, fwd, rot.ic_method)
    path = R.quadrant_ic_path(ic, reg, dates, horizon=1, min_obs=rot.min_obs)
    directions, rules = R.factor_directions(path, reg, t_threshold=rot.t_threshold, fallback=rot.fallback)
    scores = R.composite_score(panels, directions, clip=rot.zscore_clip).reindex(columns=mask.columns).where(mask)

    # backtest window
    active = rules.str.startswith("quadrant") | (rules == "full sample")
    start = pd.Timestamp(cfg.start) if cfg.start else dates[0]
    if rot.skip_warmup:
        if not active.any():
            raise DataMissingError("no rebalance date has a significant factor (every date falls back to the benchmark); "
                                   "lower rotation.t_threshold / rotation.min_obs or use a longer bundle")
        start = max(start, dates[int(np.argmax(active.to_numpy()))])
    bt_dates = dates[dates >= start]
    if len(bt_dates) < 2:
        raise DataMissingError(f"fewer than 2 rebalance dates from {start:%Y-%m-%d}; widen start/end")
    bench = benchmark_for(bundle, cfg, inst, mask.loc[bt_dates])
    fb_rows = rules.reindex(bt_dates).isin(["benchmark"]).to_numpy()
    cash_rows = rules.reindex(bt_dates).isin(["cash"]).to_numpy()

    factor_of = {"crowding": ex.crowding_factor, "valuation": ex.bubble_factor}
    need = {"none": [], "crowded": ["crowding"], "bubble": ["valuation"], "double": ["crowding", "valuation"]}
    variants, weights, excluded = {}, {}, {}
    sel = cfg.selection
    rets = inst.prices / inst.prices.shift(1) - 1 if sel.method == "mmr" else None
    for v in ex.variants:
        missing = [factor_of[k] for k in need[v] if factor_of[k] not in panels]
        if missing:
            skipped[f"variant {v}"] = f"needs factor(s) {missing}, which could not be computed"
            continue
        flags = None
        if need[v]:
            flags = exclusion_flags(v, crowding=panels.get(ex.crowding_factor), valuation=panels.get(ex.bubble_factor),
                                    crowding_pct=ex.crowding_pct, bubble_pct=ex.bubble_pct)
            flags = flags.reindex(index=dates, columns=mask.columns, fill_value=False).astype(bool)
        w = select_weights(scores.loc[bt_dates], bt_dates, method=sel.method, n=sel.n, q=sel.quantile,
                           weighting=sel.weighting, cap=sel.cap, universe=mask.loc[bt_dates],
                           exclude=None if flags is None else flags.loc[bt_dates], returns=rets, lam=sel.lam,
                           window=sel.window, min_overlap=sel.min_overlap)
        w = w.reindex(columns=mask.columns, fill_value=0.0)
        bw = _benchmark_weights(mask.loc[bt_dates])
        if fb_rows.any():
            w = w.where(np.broadcast_to(~fb_rows[:, None], w.shape), bw)
        if cash_rows.any():
            w = w.where(np.broadcast_to(~cash_rows[:, None], w.shape), 0.0)
        w = w.loc[:, (w.to_numpy() > 0).any(axis=0)]
        weights[v] = w
        excluded[v] = flags if flags is not None else pd.DataFrame(False, index=dates, columns=mask.columns)
        variants[v] = backtest_weights(cfg, w, inst, bench, scores.loc[bt_dates])
    if not variants:
        raise DataMissingError(f"no variant could run: {skipped}")
    notes = []
    if fb_rows.any():
        notes.append(f"{int(fb_rows.sum())} rebalance date(s) without any significant factor held the benchmark (industry equal weight).")
    if cash_rows.any():
        notes.append(f"{int(cash_rows.sum())} rebalance date(s) without any significant factor held cash.")
    return RegimeRotationResult(
        variants=variants, main=next(iter(variants)), dates=dates, regimes=regimes, ic=ic, path=path,
        directions=directions, rules=rules, factors=panels, scores=scores, weights=weights, excluded=excluded,
        universe=mask, names=inst.names, skipped=skipped, notes=notes, start=bt_dates[0])


# ------------------------------------------------------------------------------------------ report tables
def factor_rank_table(res: RegimeRotationResult, variant: str | None = None, date=None) -> pd.DataFrame:
    """Seed 002 p.11 table (各行业截面因子排名): each pick's rank on each selected factor (1 = best in the
    direction used; "(−)" marks a sign-flipped factor), 综合排名 = mean of those ranks, and the alpha."""
    v = variant or res.main
    w = res.weights[v]
    d = w.index[-1] if date is None else pd.Timestamp(date)
    picks = w.loc[d][w.loc[d] > 0].index
    dirs = res.directions.loc[d]
    ranks = R.factor_ranks(res.factors, dirs, d) if (dirs != 0).any() else pd.DataFrame(index=res.universe.columns)
    ranks = ranks.rename(columns={f: f"{f} ({'+' if dirs[f] > 0 else '−'})" for f in dirs.index if dirs[f] != 0})
    out = ranks.reindex(picks)
    rank_cols = [c for c in out.columns if c != "mean_rank"]
    out[rank_cols] = out[rank_cols].astype("Int64")  # ranks are whole numbers, as in the seed's table
    out.insert(0, "name", res.names.reindex(picks).to_numpy())
    out["alpha"] = res.scores.loc[d].reindex(picks).to_numpy()
    out["weight"] = w.loc[d].reindex(picks).to_numpy()
    out.index.name = "code"
    return out.sort_values("weight", ascending=False)


def weights_with_alpha(res: RegimeRotationResult, date=None) -> pd.DataFrame:
    """Seed 002 p.11 table (行业权重情况对比): per variant the picks, their alpha and weight."""
    rows = []
    for v in res.variants:
        w = res.weights[v]
        d = w.index[-1] if date is None else pd.Timestamp(date)
        s = w.loc[d][w.loc[d] > 0].sort_values(ascending=False)
        rows.append(pd.DataFrame({"variant": VARIANT_LABELS.get(v, v), "code": s.index,
                                  "name": res.names.reindex(s.index).to_numpy(),
                                  "alpha": res.scores.loc[d].reindex(s.index).to_numpy(), "weight": s.to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def regime_history(res: RegimeRotationResult) -> pd.DataFrame:
    """Per rebalance date: the proxies' latest released periods and changes, the quadrant, the rule and factors used."""
    t = res.regimes
    d = res.directions
    used = pd.Series([", ".join((f if s > 0 else f"−{f}") for f, s in zip(d.columns, row) if s != 0)
                      for row in d.to_numpy()], index=d.index)
    return pd.DataFrame({
        "earnings period": t["earnings_period"], "earnings": t["earnings_value"], "earnings Δ": t["earnings_change"],
        "credit period": t["credit_period"], "credit": t["credit_value"], "credit Δ": t["credit_change"],
        "regime": t["regime"].fillna("unknown"), "rule": res.rules, "factors used": used,
    }, index=t.index)


def quadrant_ic_table(res: RegimeRotationResult, date=None) -> pd.DataFrame:
    """Per factor: mean IC and t within each quadrant (and all periods) as known at ``date`` (default last)."""
    d = res.dates[-1] if date is None else pd.Timestamp(date)
    st = res.path.at(d)
    wide = st.unstack("quadrant")
    cols = [(s, q) for q in R.QUADRANTS + (R.ALL,) for s in ("mean_ic", "t", "n")]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols))
    wide.columns = [f"{q} {s}" for s, q in wide.columns]
    return wide


def selection_frequency(res: RegimeRotationResult) -> pd.DataFrame:
    """Share of backtest dates each factor was used as is (+) or sign-flipped (−), per quadrant."""
    d = res.directions.loc[res.directions.index >= res.start]
    reg = res.regimes["regime"].reindex(d.index).fillna("unknown")
    rows = {}
    for f in d.columns:
        rows[f] = {"used (+)": float((d[f] > 0).mean()), "flipped (−)": float((d[f] < 0).mean()),
                   **{f"{q} (+/−)": f"{int((d[f][reg == q] > 0).sum())}/{int((d[f][reg == q] < 0).sum())}"
                      for q in R.QUADRANTS}}
    return pd.DataFrame(rows).T


# ------------------------------------------------------------------------------------------ charts
def regime_chart(res: RegimeRotationResult, synthetic: bool):
    """The two proxies' changes and the quadrant as coloured bands over time."""
    from etfrot.report import charts

    fig, ax = charts.new_figure(height=3.4)
    t = res.regimes
    colors = {"E+C+": "#2e7d32", "E+C-": "#f9a825", "E-C+": "#1565c0", "E-C-": "#c62828"}
    idx = t.index
    for q, c in colors.items():
        on = (t["regime"] == q).to_numpy()
        if on.any():
            ax.fill_between(idx, 0, 1, where=on, color=c, alpha=0.18, step="post", transform=ax.get_xaxis_transform(),
                            label=f"{q} {R.QUADRANT_NAMES[q].split(' (')[0]}")
    ax2 = ax.twinx()
    ax2.plot(idx, t["earnings_change"].to_numpy(float), color="#333", lw=1.2, label="earnings Δ")
    ax2.plot(idx, t["credit_change"].to_numpy(float), color="#6a1b9a", lw=1.2, ls="--", label="credit Δ")
    ax2.axhline(0, color="#777", lw=0.7)
    ax2.set_ylabel("change vs lag")
    ax.set_yticks([])
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, frameon=False, fontsize=7, ncols=3, loc="upper left")
    charts._dates(ax)
    return charts.finish(fig, ax, "Macro regime (earnings × credit, release-lagged)", synthetic)


def sections(res: RegimeRotationResult, cfg: RegimeRotationConfig, bundle) -> list:
    """The report sections (see the module docstring)."""
    from etfrot.report import Section, backtest_sections, charts

    syn = bundle.is_synthetic
    title = cfg.report.title or cfg.name
    vm = res.variant_metrics()
    keys = ["annual_return", "benchmark_annual_return", "annual_excess", "information_ratio", "tracking_error",
            "sharpe", "max_drawdown", "excess_max_drawdown", "win_rate", "annual_turnover", "cost_drag"]
    side = vm.reindex([k for k in keys if k in vm.index]).rename(columns=VARIANT_LABELS)
    navs = pd.DataFrame({VARIANT_LABELS.get(v, v): r.nav for v, r in res.variants.items()})
    bench = res.variants[res.main].benchmark_nav
    if bench is not None:
        navs["benchmark: " + str(res.variants[res.main].benchmark_name)] = bench
    rel = pd.DataFrame({VARIANT_LABELS.get(v, v): r.relative_nav() for v, r in res.variants.items() if r.benchmark_nav is not None})
    yearly = pd.concat({VARIANT_LABELS.get(v, v): r.yearly() for v, r in res.variants.items()}, axis=1)
    used = list(res.factors)
    skipped = "".join(f"\n- {k}: {why}" for k, why in res.skipped.items())
    setup = (f"Universe: {cfg.universe.kind}s of {', '.join(cfg.universe.categories)} indices "
             f"({int(res.universe.sum(axis=1).median())} eligible per date, median). "
             f"Regime: earnings proxy '{cfg.regime.earnings_series}' × credit proxy '{cfg.regime.credit_series}', "
             f"each rising or not vs {cfg.regime.lag_months} months earlier, using only values released by each date. "
             f"Factors ({len(used)}): {', '.join(used)}; {cfg.rotation.ic_method} IC against the next period's return, "
             f"averaged per quadrant over all earlier periods; used when t > {cfg.rotation.t_threshold} "
             f"(sign-flipped when t < −{cfg.rotation.t_threshold}, at least {cfg.rotation.min_obs} periods), "
             f"fallback '{cfg.rotation.fallback}'. Portfolio: {cfg.selection.method} n={cfg.selection.n}, "
             f"{cfg.selection.weighting} weights (cap {cfg.selection.cap}), {cfg.frequency}. "
             f"Backtest from {res.start:%Y-%m-%d}"
             + (" (the months before have no significant factor yet: warm-up)." if cfg.rotation.skip_warmup else ".")
             + (f"\nLeft out:{skipped}" if skipped else "\nEvery configured factor and variant could be computed.")
             + ("".join(f"\n{n}" for n in res.notes)))
    out = [Section(f"{title}: variants side by side", setup, tables={"metrics": side, "per-year": yearly},
                   figures=[charts.lines_chart(navs, title=f"{title}: NAV of the variants and the benchmark",
                                               synthetic=syn, ylabel="NAV", hline=1.0)]
                   + ([charts.lines_chart(rel, title=f"{title}: relative NAV (variant / benchmark)", synthetic=syn,
                                          ylabel="relative NAV", hline=1.0)] if len(rel.columns) else []))]
    last = res.weights[res.main].index[-1]
    rank_tables = {f"factor ranks — {VARIANT_LABELS.get(v, v)}": factor_rank_table(res, v) for v in res.variants}
    rule = res.rules.get(last, "")
    out.append(Section(f"{title}: latest picks ({last:%Y-%m-%d})",
                       f"Regime {res.regimes['regime'].get(last) or 'unknown'} · rule: {rule}. Rank 1 = best on the factor "
                       "in the direction its past in-quadrant IC says ((−) = sign-flipped); mean_rank = 综合排名; "
                       "alpha = the equal-weight composite of direction-adjusted z-scores; weight ∝ positive alpha, capped.",
                       tables={**rank_tables, "weights with alpha": weights_with_alpha(res)}))
    spells = R.regime_spells(res.regimes["regime"])
    out.append(Section(f"{title}: regime history",
                       "Quadrant per rebalance date from the latest released values of the two proxies; the rule and the "
                       "factors in use that date.",
                       tables={"regime spells": spells, "per date": regime_history(res)},
                       figures=[regime_chart(res, syn)], max_rows=24))
    out.append(Section(f"{title}: factor IC by quadrant",
                       f"Mean {cfg.rotation.ic_method} IC, t-stat and number of periods within each quadrant as known at "
                       f"{res.dates[-1]:%Y-%m-%d} (expanding window, past only); how often each factor was used.",
                       tables={"IC by quadrant": quadrant_ic_table(res), "selection frequency": selection_frequency(res)},
                       files={"IC per period": res.ic}))
    out += backtest_sections(res.variants[res.main], title=f"{title} — {VARIANT_LABELS.get(res.main, res.main)}",
                             synthetic=syn, last_holdings=cfg.report.last_holdings, n_boot=cfg.report.bootstrap,
                             block=cfg.report.block, seed=cfg.report.seed, log_nav=cfg.report.log_nav, bundle=bundle)
    return out


# ------------------------------------------------------------------------------------------ strategy interface
def run(bundle, config, out_dir=None, *, progress=None, report: bool = True):
    """Strategy interface: run ``config`` on ``bundle`` → ``(result, sections)``; with ``out_dir`` the HTML
    report, tables, manifest and the main variant's saved result are written there. ``report=False``
    skips building the sections (sweeps)."""
    cfg = validate_config(config)
    step = progress or (lambda _name: None)
    step("regime, factors, selection and backtests")
    res = build(bundle, cfg)
    if not report and out_dir is None:
        return res, []
    step("report")
    secs = sections(res, cfg, bundle)
    if out_dir is not None:
        write_run(out_dir, res, secs, cfg, bundle)
    return res, secs


def write_run(out_dir, res: RegimeRotationResult, secs, cfg: RegimeRotationConfig, bundle):
    """Write report.html, tables/, manifest.json, config.json and result/ (the main variant) into ``out_dir``."""
    import json
    from pathlib import Path

    from etfrot.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    conf = config_dict(cfg)
    res.variants[res.main].save(out / "result")
    (out / "config.json").write_text(json.dumps(conf, indent=2, ensure_ascii=False))
    meta = bundle.manifest.get("meta", {}) or {}
    seeds = {"report.bootstrap_seed": cfg.report.seed, **({"bundle.seed": meta["seed"]} if "seed" in meta else {})}
    manifest = {"data_hash": bundle.content_hash, "bundle": str(bundle.path), "data_source": bundle.source,
                "seeds": seeds, "variants": list(res.variants), "skipped": res.skipped}
    return write_report(out, title=cfg.report.title or cfg.name, synthetic=bundle.is_synthetic, data_label=bundle.label,
                        sections=secs, config=conf, manifest=manifest)


def sweep_metrics(res: RegimeRotationResult) -> dict:
    """Key metrics for a sweep table: the main variant's, plus annual excess and IR of the other variants."""
    keys = ["annual_return", "annual_excess", "information_ratio", "sharpe", "max_drawdown", "excess_max_drawdown",
            "win_rate", "annual_turnover", "cost_drag"]
    vm = res.variant_metrics()
    out = {k: float(vm.at[k, res.main]) for k in keys if k in vm.index}
    for v in vm.columns:
        if v != res.main:
            for k in ("annual_excess", "information_ratio"):
                if k in vm.index:
                    out[f"{v}:{k}"] = float(vm.at[k, v])
    return out


def signal(bundle, config, date=None) -> pd.DataFrame:
    """This period's picks (``etfrot signal``): the seed 002 ranking table for the last rebalance on or
    before ``date`` (default: the bundle's last day) — code → name, weight, score (alpha), rank on each
    factor in use, mean_rank, the regime and the rule (quadrant / full sample / benchmark) — for the main
    variant; ``attrs``: date, regime, rule, variant."""
    cfg = validate_config(config)
    d = pd.Timestamp(date) if date is not None else bundle.calendar[-1]
    if cfg.end is None or pd.Timestamp(cfg.end) > d:
        cfg = cfg.model_copy(update={"end": d.date()})
    res = build(bundle, cfg)
    last = res.weights[res.main].index[-1]
    t = factor_rank_table(res, res.main, last).rename(columns={"alpha": "score"})
    front = ["name", "weight", "score"]
    t = t[front + [c for c in t.columns if c not in front]]
    t["regime"] = res.regimes["regime"].get(last) or "unknown"  # the same on every row; kept for CSV/JSON
    t["rule"] = res.rules.get(last)
    t.attrs.update({"date": last, "regime": res.regimes["regime"].get(last), "rule": res.rules.get(last),
                    "variant": VARIANT_LABELS.get(res.main, res.main)})
    return t
