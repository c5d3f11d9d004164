"""Tear-sheet sections of a backtest (issue 14 item 3), appended by :func:`etfrot.report.sections.backtest_sections`.

Monthly excess heat map (year × month), the five worst drawdowns of the NAV and of the relative NAV,
rolling 6- and 12-month excess and IR, turnover and number of holdings over time, and — given a bundle —
the SW level-1 industry exposure of the holdings over time (stacked area). Tables come from
:mod:`etfrot.backtest.analytics`; figures follow :mod:`etfrot.report.charts` (SYNTHETIC watermark when asked).
"""

from __future__ import annotations

from functools import partial

import pandas as pd
from matplotlib.ticker import MaxNLocator

from etfrot.backtest import analytics as an
from etfrot.report import charts
from etfrot.report.html import Section


def heat_grid(grid: pd.DataFrame) -> pd.DataFrame:
    """The year × month grid marked as a heat table (:func:`etfrot.report.html.heat_css`): the months coloured
    red → green, symmetric around 0; the calendar-year ``total`` column plain (another scale)."""
    out = grid.copy()
    out.attrs = {**grid.attrs, "heat": {"columns": [c for c in grid.columns if c != "total"], "cmap": "RdYlGn"}}
    return out


def exposure_area(exposure: pd.DataFrame, *, title: str, synthetic: bool = False, top: int = 10):
    """Stacked area of industry weights over time; industries past the ``top`` largest are summed as "other";
    one colour per industry (tab20), "other" and "unclassified" in greys."""
    import matplotlib

    e = exposure
    keep = [c for c in e.columns if c != an.UNCLASSIFIED][:top]
    rest = [c for c in e.columns if c not in keep and c != an.UNCLASSIFIED]
    series = [e[c].to_numpy(dtype=float) for c in keep]
    labels = [str(c) for c in keep]
    colors = list(matplotlib.colormaps["tab20"].colors[: len(keep)])
    if rest:
        series.append(e[rest].to_numpy(dtype=float).sum(axis=1))
        labels.append("other")
        colors.append("#b0b0b0")
    series.append(e[an.UNCLASSIFIED].to_numpy(dtype=float))
    labels.append(an.UNCLASSIFIED)
    colors.append("#e0e0e0")
    fig, ax = charts.new_figure(height=3.8)
    ax.stackplot(e.index, *series, labels=labels, colors=colors, alpha=0.9)
    charts._pct(ax)
    ax.set_ylabel("weight of NAV")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=7)
    charts._dates(ax)
    return charts.finish(fig, ax, title, synthetic)


#: (id of the weights frame, bundle hash) → (the weights frame, its exposure or None, why none): one
#: computation per backtest and bundle, shared by a strategy's report and the comparison report
_EXPOSURES: dict[tuple[int, str], tuple] = {}


def industry_exposure(result, bundle) -> tuple[pd.DataFrame | None, str]:
    """``(exposure, "")`` — :func:`etfrot.backtest.analytics.industry_exposure_from_bundle` of the held
    weights — or ``(None, why)`` where the holdings cannot be mapped to SW level-1 industries."""
    if bundle is None:
        return None, ("No data bundle was given to the report, so the holdings cannot be mapped to SW level-1 "
                      "industries (a rebuilt report whose bundle can no longer be opened, or a caller that passed "
                      "no bundle=).")
    if not bundle.has("index_weights"):
        return None, (f"The bundle {bundle.path} has no index_weights table, so the holdings cannot be mapped to SW "
                      "level-1 industries (ETF → tracked index → constituent weights → industry); add index "
                      "constituent weights to the bundle to see this view.")
    w = result.weights
    key = (id(w), bundle.content_hash)
    hit = _EXPOSURES.get(key)
    if hit is None or hit[0] is not w:
        exp = an.industry_exposure_from_bundle(bundle, w)
        why = "" if exp is not None and len(exp) else "The backtest holds nothing on any date: no industry exposure."
        if len(_EXPOSURES) >= 16:
            _EXPOSURES.clear()
        hit = _EXPOSURES[key] = (w, exp if not why else None, why)
    return hit[1], hit[2]


def _exposure_note(exp: pd.DataFrame) -> str:
    """How much of the held weight is unclassified, as a sentence."""
    held = exp.sum(axis=1)
    share = float(exp[an.UNCLASSIFIED].sum() / held.sum()) if held.sum() > 0 else 0.0
    if share >= 1 - 1e-9:
        return ("None of the held weight maps to an SW level-1 industry: the held codes have no tracked index with "
                "constituent weights in force (etf_info.tracked_index, index_weights) or their constituents have "
                "no industry (stock_industry / stock_info.industry_l1).")
    return f"{share:.1%} of the held weight (all month ends together) is unclassified."


def exposure_section(result, *, title: str, synthetic: bool = False, bundle=None) -> Section:
    """The SW level-1 industry exposure section: stacked area, latest exposure, the full table as a file; or,
    where the holdings cannot be mapped, a section that says why."""
    exp, why = industry_exposure(result, bundle)
    head = f"{title}: SW level-1 industry exposure"
    if exp is None:
        return Section(head, why)
    last = exp.iloc[-1]
    return Section(head, "Holdings → tracked index (an index held directly: itself) → the index's constituent weights "
                   "→ each stock's SW level-1 industry on the date (point-in-time); weight without a mapping is "
                   f"'unclassified'. Month ends. {_exposure_note(exp)}",
                   tables={"latest": last[last > 0].sort_values(ascending=False).to_frame("exposure")},
                   figures=[partial(exposure_area, exp, title=f"{title}: industry exposure", synthetic=synthetic)],
                   files={"industry exposure": exp})


def tearsheet_sections(result, *, title: str, synthetic: bool = False, bundle=None) -> list[Section]:
    """Sections: monthly (excess) heat map, worst drawdowns, rolling excess / IR, activity, industry exposure
    (:func:`exposure_section`: says why where the holdings cannot be mapped)."""
    has_b = result.benchmark_nav is not None
    grid = an.monthly_excess(result.nav, result.benchmark_nav) if has_b else an.monthly_returns(result.nav)
    what = "excess (relative NAV)" if has_b else "return"
    monthly = Section(f"{title}: monthly {what}",
                      f"Monthly {what}, month end to month end, as a heat map (red < 0 < green, one colour scale for "
                      "all months); the last column is the calendar year.",
                      tables={f"monthly {what}": heat_grid(grid)})
    dd_tables = {"worst drawdowns of the NAV": an.drawdown_periods(result.nav)}
    if has_b:
        dd_tables["worst drawdowns of the relative NAV"] = an.drawdown_periods(result.relative_nav())
    dd = Section(f"{title}: worst drawdowns", "Start = the peak before the fall, trough = the lowest close, recovery = "
                 "first close back at the peak (empty: not yet), days = trading days from start to recovery (or to the end).",
                 tables=dd_tables)
    roll = an.rolling_excess(result.nav, result.benchmark_nav)
    ret_cols = [c for c in roll.columns if c.startswith(("excess", "return"))]
    ir_cols = [c for c in roll.columns if c not in ret_cols]
    what_r = ret_cols[0].split()[0]
    rolling = Section(f"{title}: rolling {'excess and IR' if has_b else 'return and Sharpe'}",
                      "Windows of 126 and 252 trading days (6 and 12 months).",
                      figures=[partial(
                          charts.panels_chart, [{"data": roll[ret_cols], "ylabel": what_r, "hline": 0.0, "percent": True},
                           {"data": roll[ir_cols], "ylabel": ir_cols[0].split()[0], "hline": 0.0}],
                          title=f"{title}: rolling {what_r} and {ir_cols[0].split()[0]}", synthetic=synthetic)],
                      files={"rolling": roll})
    act = an.activity(result.rebalances)
    activity = Section(f"{title}: turnover and holdings", "One-way turnover per execution and the number of holdings after it.",
                       tables={"per year": an.activity_by_year(result.rebalances)},
                       figures=[partial(
                           charts.panels_chart, [{"data": act[["turnover"]], "ylabel": "turnover", "percent": True},
                            {"data": act[["n_held"]].astype(float).rename(columns={"n_held": "holdings"}),
                             "ylabel": "holdings", "integer": True}],
                           title=f"{title}: turnover and number of holdings", synthetic=synthetic)])
    return [monthly, dd, rolling, activity, exposure_section(result, title=title, synthetic=synthetic, bundle=bundle)]


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
        figs.append(partial(charts.panels_chart,
            [{"data": pd.DataFrame({n: x["excess 12m"] for n, x in roll.items()}), "ylabel": "excess 12m",
              "hline": 0.0, "percent": True},
             {"data": pd.DataFrame({n: x["IR 12m"] for n, x in roll.items()}), "ylabel": "IR 12m", "hline": 0.0}],
            title="Rolling 12-month excess (relative NAV) and information ratio", synthetic=synthetic))
    held = pd.DataFrame({n: an.activity(r.rebalances)["n_held"].astype(float) for n, r in results.items()}).ffill()
    figs.append(charts.lines_chart(held, title="Number of holdings", synthetic=synthetic))
    figs[-1].axes[0].yaxis.set_major_locator(MaxNLocator(integer=True))
    turnover = pd.DataFrame({n: an.activity_by_year(r.rebalances)["turnover"] for n, r in results.items()})
    turnover.attrs["kinds"] = dict.fromkeys(turnover.columns, "percent")
    out = [Section("Tear sheet, side by side", "Rolling windows of 252 trading days; one-way turnover per calendar year.",
                   tables={"turnover per year": turnover}, figures=figs)]
    for n, r in results.items():
        has_b = r.benchmark_nav is not None
        grid = an.monthly_excess(r.nav, r.benchmark_nav) if has_b else an.monthly_returns(r.nav)
        base = r.relative_nav() if has_b else r.nav
        exp, why = industry_exposure(r, bundle)
        f = [partial(exposure_area, exp, title=f"{n}: SW level-1 industry exposure", synthetic=synthetic)] if exp is not None else []
        text = f"SW level-1 industry exposure: {_exposure_note(exp)}" if exp is not None else why
        out.append(Section(f"{n}: tear sheet", text, figures=f,
                           tables={f"monthly {'excess' if has_b else 'return'} (heat map)": heat_grid(grid),
                                   f"worst drawdowns of the {'relative NAV' if has_b else 'NAV'}": an.drawdown_periods(base)},
                           files={"industry exposure": exp} if exp is not None else {}))
    return out
