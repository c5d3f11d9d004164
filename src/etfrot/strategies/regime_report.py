"""The regime_rotation report (seed 002): variants side by side, the seed's factor-rank and weights-with-alpha
tables of a date, the regime history (table and chart), the per-quadrant IC table and selection frequency,
the fallback dates, where the inputs end, then the main variant's backtest sections.

Pure functions of a :class:`etfrot.strategies.regime_rotation.RegimeRotationResult` and its config.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from etfrot.portfolio import regime as R
from etfrot.strategies import regime_fallback as FB
from etfrot.strategies.coverage import coverage_section

if TYPE_CHECKING:
    from etfrot.strategies.regime_rotation import (
        RegimeRotationConfig,
        RegimeRotationResult,
    )

VARIANT_LABELS = {"none": "no exclusion (无剔除)", "crowded": "exclude crowded", "bubble": "exclude valuation bubble",
                  "double": "double exclusion (双剔除)"}


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
             + " " + res.coverage.note()
             + (f"\nLeft out:{skipped}" if skipped else "\nEvery configured factor and variant could be computed.")
             + ("".join(f"\n{n}" for n in res.notes)))
    out = [Section(f"{title}: variants side by side", setup, tables={"metrics": side, "per-year": yearly},
                   figures=[charts.lines_chart(navs, title=f"{title}: NAV of the variants and the benchmark",
                                               synthetic=syn, ylabel="NAV", hline=1.0)]
                   + ([charts.lines_chart(rel, title=f"{title}: relative NAV (variant / benchmark)", synthetic=syn,
                                          ylabel="relative NAV", hline=1.0)] if len(rel.columns) else []))]
    last = res.weights[res.main].index[-1]
    rule = res.rules.get(last, "")
    regime = res.regimes["regime"].get(last) or "unknown"
    why = FB.fallback_reason(rule, regime, cfg.rotation.fallback)
    if why is None:
        rank_tables = {f"factor ranks — {VARIANT_LABELS.get(v, v)}": factor_rank_table(res, v) for v in res.variants}
        out.append(Section(f"{title}: latest picks ({last:%Y-%m-%d})",
                           f"Regime {regime} · rule: {rule}. Rank 1 = best on the factor "
                           "in the direction its past in-quadrant IC says ((−) = sign-flipped); mean_rank = 综合排名; "
                           "alpha = the equal-weight composite of direction-adjusted z-scores; weight ∝ positive alpha, capped.",
                           tables={**rank_tables, "weights with alpha": weights_with_alpha(res)}))
    else:
        w = res.weights[res.main].loc[last]
        out.append(Section(f"{title}: latest picks ({last:%Y-%m-%d})",
                           f"Regime {regime} · {why[0].upper()}{why[1:]}.\n{FB.compact_weights(w, res.names)}"))
    spells = R.regime_spells(res.regimes["regime"])
    fb = FB.fallback_table(res, cfg.rotation.fallback)
    fb_note = FB.fallback_months_note(fb) or "No traded rebalance date fell back to the benchmark or cash."
    out.append(Section(f"{title}: regime history",
                       "Quadrant per rebalance date from the latest released values of the two proxies; the rule and the "
                       f"factors in use that date. {fb_note}",
                       tables={"regime spells": spells, "per date": regime_history(res),
                               **({"fallback dates": fb} if len(fb) else {})},
                       figures=[regime_chart(res, syn)], max_rows=24))
    out.append(Section(f"{title}: factor IC by quadrant",
                       f"Mean {cfg.rotation.ic_method} IC, t-stat and number of periods within each quadrant as known at "
                       f"{res.dates[-1]:%Y-%m-%d} (expanding window, past only); how often each factor was used.",
                       tables={"IC by quadrant": quadrant_ic_table(res), "selection frequency": selection_frequency(res)},
                       files={"IC per period": res.ic}))
    out += backtest_sections(res.variants[res.main], title=f"{title} — {VARIANT_LABELS.get(res.main, res.main)}",
                             synthetic=syn, last_holdings=cfg.report.last_holdings, n_boot=cfg.report.bootstrap,
                             block=cfg.report.block, seed=cfg.report.seed, log_nav=cfg.report.log_nav,
                             describe=res.coverage.note(), bundle=bundle)
    out.append(coverage_section(res.coverage, title=title))
    return out
