"""Fit layout of the report's charts (etfrot.report.layout): nothing drawn is cut off at the figure's edge.

The check: every text drawn (titles, axis and tick labels, legends, annotations, colour-bar labels, the watermark)
has its window extent inside the figure after ``figure_png``; tick labels of ticks outside the view are not drawn
and not checked. It is run on every chart of a strategy report on the small synthetic market (industry exposure
with its legend outside the axes included), on the generic charts, and on charts made to have long labels; and it
is shown to catch a clipped label (a figure with a margin too small for its tick labels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from etfrot.report import charts
from etfrot.report.html import figure_png
from etfrot.report.layout import FitLayout
from etfrot.strategies import runner

CFG = {"name": "mom20 top5", "universe": {"kind": "etf", "min_aum": None}, "scores": {"source": "factor", "factors": ["mom20"]},
       "selection": {"method": "top_n", "n": 5}, "frequency": "weekly",
       "benchmark": {"kind": "total_return", "code": "000300.SH"}, "report": {"bootstrap": 50}}
IDX = pd.bdate_range("2020-01-01", periods=300, name="date")


def _undrawn_tick_labels(fig: Figure) -> set[int]:
    """ids of the tick labels of ticks outside their axis' view interval (matplotlib does not draw them)."""
    out = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            tol = 1e-9 * max(1.0, abs(hi - lo))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                if not lo - tol <= tick.get_loc() <= hi + tol:
                    out.update({id(tick.label1), id(tick.label2)})
    return out


def texts_outside(fig: Figure, tol_px: float = 0.5) -> list[tuple[str, tuple]]:
    """(text, extent in px) of every drawn text of ``fig`` not inside the figure; ``fig`` must have been drawn."""
    renderer = fig.canvas.get_renderer()
    w, h = fig.bbox.width, fig.bbox.height
    skip = _undrawn_tick_labels(fig)
    bad = []
    for t in fig.findobj(Text):
        if id(t) in skip or not t.get_visible() or not t.get_text():
            continue
        e = t.get_window_extent(renderer)
        if e.x0 < -tol_px or e.y0 < -tol_px or e.x1 > w + tol_px or e.y1 > h + tol_px:
            bad.append((t.get_text(), tuple(round(v, 1) for v in e.extents)))
    return bad


def _drawn(fig: Figure) -> Figure:
    """``fig`` drawn as the report draws it (``figure_png``: dpi, shared renderer, the layout engine inside the
    draw); one without a layout engine on a plain Agg canvas (``figure_png`` would crop it to its content)."""
    if fig.get_layout_engine() is None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig.set_dpi(90)
        FigureCanvasAgg(fig).draw()
    else:
        figure_png(fig)
    return fig


@pytest.fixture(scope="module")
def report_figures(small_bundle, tmp_path_factory):
    res, _ = runner.run(small_bundle, CFG, tmp_path_factory.mktemp("layout"))
    from etfrot.report.sections import backtest_sections

    secs = backtest_sections(res, title="mom20 top5", synthetic=True, n_boot=50, bundle=small_bundle)
    return [(s.title, f() if callable(f) else f) for s in secs for f in s.figures]  # built later, by write_report


def test_report_charts_draw_nothing_outside_the_figure(report_figures):
    titles = [t for t, _ in report_figures]
    assert any(t.endswith("SW level-1 industry exposure") for t in titles), titles  # the outside legend is in the set
    assert len(report_figures) == 5  # NAV panels, per year, rolling, activity, industry exposure
    for title, fig in report_figures:
        assert isinstance(fig.get_layout_engine(), FitLayout), title
        assert texts_outside(_drawn(fig)) == [], title


def test_generic_and_long_label_charts_draw_nothing_outside_the_figure():
    from scipy.cluster.hierarchy import linkage

    long_names = [f"一个很长的行业名称 {i} with a long tail of words" for i in range(6)]
    figs = {
        "nav log": charts.nav_panels_chart(pd.Series(np.geomspace(1, 300, 300), index=IDX), synthetic=True, log=True),
        "ic twin": charts.ic_chart(pd.Series(np.sin(np.arange(300)), index=IDX), synthetic=True),
        "heatmap": charts.heatmap(pd.DataFrame(np.eye(6), index=long_names, columns=long_names), synthetic=True),
        "dendrogram": charts.dendrogram_chart(linkage(np.random.default_rng(0).normal(size=(30, 4)), "ward"),
                                              labels=[f"51{i:04d}.SH" for i in range(30)], synthetic=True),
        "curves": charts.curve_chart([2, 3, 4], {"wss": [3e6, 2e6, 1.5e6], "gap": [0.1, 0.3, 0.2]}, title="K",
                                     synthetic=True, mark=3),
        "bars rotated": charts.bar_chart(pd.Series([0.1, -0.2, 0.3], index=long_names[:3]), title="b", synthetic=True),
        "bars horizontal": charts.bar_chart(pd.Series([1e7, -2e7, 3e7], index=long_names[:3]), title="b",
                                            synthetic=True, horizontal=True),
        "lines, big numbers": charts.lines_chart(pd.DataFrame({n: np.linspace(1e8, 1.0001e8, 300) for n in long_names[:2]},
                                                              index=IDX), title="x", synthetic=True, ylabel="amount"),
    }
    from etfrot.report.tearsheet import exposure_area

    exp = pd.DataFrame(np.full((300, 7), 1 / 7), index=IDX, columns=[*long_names, "unclassified"])
    figs["exposure, long names"] = exposure_area(exp, title="exposure", synthetic=True)
    for name, fig in figs.items():
        assert texts_outside(_drawn(fig)) == [], name


def test_the_check_catches_a_clipped_label():
    """Known answer: with the left margin set to 1 % of the width (no layout engine), the category labels on the
    y axis start left of the figure, and the check names them; the same chart with the fit layout fits."""
    fig = charts.bar_chart(pd.Series([1e7, -2e7], index=["a long category name", "b"]), title="t", horizontal=True)
    fig.set_layout_engine("none")
    fig.subplots_adjust(left=0.01)
    bad = texts_outside(_drawn(fig))
    assert {t for t, e in bad if e[0] < 0} >= {"a long category name", "b"}, bad  # cut at the left edge
    fit = charts.bar_chart(pd.Series([1e7, -2e7], index=["a long category name", "b"]), title="t", horizontal=True)
    assert texts_outside(_drawn(fit)) == []
