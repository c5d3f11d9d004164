"""Tear-sheet sections of a backtest (issue 14 item 3), appended by :func:`etfrot.report.sections.backtest_sections`.

Monthly excess heat map (year × month), the five worst drawdowns of the NAV and of the relative NAV,
rolling 6- and 12-month excess and IR, turnover and number of holdings over time, and — given a bundle —
the SW level-1 industry exposure of the holdings over time (stacked area). Tables come from
:mod:`etfrot.backtest.analytics`; figures follow :mod:`etfrot.report.charts` (SYNTHETIC watermark when asked).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.backtest import analytics as an
from etfrot.report import charts
from etfrot.report.html import Section


def month_heatmap(grid: pd.DataFrame, *, title: str, synthetic: bool = False):
    """Year × month heat map of returns (percent labels, colour scale symmetric around 0)."""
    m = grid.drop(columns=["total"], errors="ignore")
    lim = float(np.nanmax(np.abs(m.to_numpy(dtype=float)))) if np.isfinite(m.to_numpy(dtype=float)).any() else 0.01
    fig = charts.heatmap(m, title=title, synthetic=synthetic, annotate=True, cmap="RdYlGn", vmin=-lim, vmax=lim,
                         fmt="{:.1%}")
    return fig


def exposure_area(exposure: pd.DataFrame, *, title: str, synthetic: bool = False, top: int = 10):
    """Stacked area of industry weights over time; industries past the ``top`` largest are summed as "other"."""
    e = exposure.copy()
    keep = [c for c in e.columns if c != an.UNCLASSIFIED][:top]
    rest = [c for c in e.columns if c not in keep and c != an.UNCLASSIFIED]
    if rest:
        e["other"] = e[rest].sum(axis=1)
    cols = keep + (["other"] if rest else []) + [an.UNCLASSIFIED]
    fig, ax = charts.new_figure(height=3.8)
    ax.stackplot(e.index, *[e[c].to_numpy(dtype=float) for c in cols], labels=[str(c) for c in cols], alpha=0.85)
    charts._pct(ax)
    ax.set_ylabel("weight of NAV")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
    charts._dates(ax)
    return charts.finish(fig, ax, title, synthetic)


def tearsheet_sections(result, *, title: str, synthetic: bool = False, bundle=None) -> list[Section]:
    """Sections: monthly (excess) heat map, worst drawdowns, rolling excess / IR, activity, industry exposure."""
    has_b = result.benchmark_nav is not None
    grid = an.monthly_excess(result.nav, result.benchmark_nav) if has_b else an.monthly_returns(result.nav)
    what = "excess (relative NAV)" if has_b else "return"
    monthly = Section(f"{title}: monthly {what}",
                      f"Monthly {what}, month end to month end; the last column is the calendar year.",
                      tables={f"monthly {what}": grid},
                      figures=[month_heatmap(grid, title=f"{title}: monthly {what}", synthetic=synthetic)])
    dd_tables = {"worst drawdowns of the NAV": an.drawdown_periods(result.nav)}
    if has_b:
        dd_tables["worst drawdowns of the relative NAV"] = an.drawdown_periods(result.relative_nav())
    dd = Section(f"{title}: worst drawdowns", "Start = the peak before the fall, trough = the lowest close, recovery = "
                 "first close back at the peak (empty: not yet), days = trading days from start to recovery (or to the end).",
                 tables=dd_tables)
    roll = an.rolling_excess(result.nav, result.benchmark_nav)
    ret_cols = [c for c in roll.columns if c.startswith(("excess", "return"))]
    ir_cols = [c for c in roll.columns if c not in ret_cols]
    rolling = Section(f"{title}: rolling {'excess and IR' if has_b else 'return and Sharpe'}",
                      "Windows of 126 and 252 trading days (6 and 12 months).",
                      figures=[charts.lines_chart(roll[ret_cols], title=f"{title}: rolling {ret_cols[0].split()[0]}",
                                                  synthetic=synthetic, hline=0.0),
                               charts.lines_chart(roll[ir_cols], title=f"{title}: rolling {ir_cols[0].split()[0]}",
                                                  synthetic=synthetic, hline=0.0)],
                      files={"rolling": roll})
    act = an.activity(result.rebalances)
    activity = Section(f"{title}: turnover and holdings", "One-way turnover per execution and the number of holdings after it.",
                       tables={"per year": an.activity_by_year(result.rebalances)},
                       figures=[charts.lines_chart(act[["turnover"]], title=f"{title}: turnover per execution",
                                                   synthetic=synthetic),
                                charts.lines_chart(act[["n_held"]].astype(float), title=f"{title}: number of holdings",
                                                   synthetic=synthetic)])
    out = [monthly, dd, rolling, activity]
    exp = an.industry_exposure_from_bundle(bundle, result.weights) if bundle is not None else None
    if exp is not None and len(exp):
        last = exp.iloc[-1]
        out.append(Section(f"{title}: SW level-1 industry exposure",
                           "Holdings → tracked index → the index's constituent weights → each stock's SW level-1 industry "
                           "on the date (point-in-time); weight without a mapping is 'unclassified'. Month ends.",
                           tables={"latest": last[last > 0].sort_values(ascending=False).to_frame("exposure")},
                           figures=[exposure_area(exp, title=f"{title}: industry exposure", synthetic=synthetic)],
                           files={"industry exposure": exp}))
    return out


def comparison_sections(results: dict, *, synthetic: bool = False, bundle=None) -> list[Section]:
    """The tear-sheet views for several strategies side by side (the demo / compare report): rolling 12-month
    excess and IR and the number of holdings as one line per strategy; per strategy the monthly excess heat
    map, the worst drawdowns of the relative NAV, turnover per year and (with a bundle) the industry exposure."""
    from etfrot.backtest.engine import Result

    # a strategy result that wraps several variants (regime_rotation) stands for its main variant's backtest
    results = {n: r if isinstance(r, Result) else r.variants[r.main] for n, r in results.items()}
    with_b = {n: r for n, r in results.items() if r.benchmark_nav is not None}
    roll = {n: an.rolling_excess(r.nav, r.benchmark_nav, months=(12,)) for n, r in with_b.items()}
    figs = []
    if roll:
        figs.append(charts.lines_chart(pd.DataFrame({n: x["excess 12m"] for n, x in roll.items()}),
                                       title="Rolling 12-month excess (relative NAV)", synthetic=synthetic, hline=0.0))
        figs.append(charts.lines_chart(pd.DataFrame({n: x["IR 12m"] for n, x in roll.items()}),
                                       title="Rolling 12-month information ratio", synthetic=synthetic, hline=0.0))
    held = pd.DataFrame({n: an.activity(r.rebalances)["n_held"].astype(float) for n, r in results.items()}).ffill()
    figs.append(charts.lines_chart(held, title="Number of holdings", synthetic=synthetic))
    turnover = pd.DataFrame({n: an.activity_by_year(r.rebalances)["turnover"] for n, r in results.items()})
    turnover.attrs["kinds"] = dict.fromkeys(turnover.columns, "percent")
    out = [Section("Tear sheet, side by side", "Rolling windows of 252 trading days; one-way turnover per calendar year.",
                   tables={"turnover per year": turnover}, figures=figs)]
    for n, r in results.items():
        has_b = r.benchmark_nav is not None
        grid = an.monthly_excess(r.nav, r.benchmark_nav) if has_b else an.monthly_returns(r.nav)
        base = r.relative_nav() if has_b else r.nav
        f = [month_heatmap(grid, title=f"{n}: monthly {'excess' if has_b else 'return'}", synthetic=synthetic)]
        exp = an.industry_exposure_from_bundle(bundle, r.weights) if bundle is not None else None
        if exp is not None and len(exp):
            f.append(exposure_area(exp, title=f"{n}: SW level-1 industry exposure", synthetic=synthetic))
        out.append(Section(f"{n}: tear sheet", tables={f"worst drawdowns of the {'relative NAV' if has_b else 'NAV'}":
                                                       an.drawdown_periods(base)}, figures=f))
    return out
