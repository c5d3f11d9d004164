"""Charts: one function per figure, drawing exactly the data given, SYNTHETIC watermark when asked (SPEC §9)."""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from etfrot.report import charts
from etfrot.report.html import figure_png

IDX = pd.bdate_range("2020-01-01", periods=60, name="date")
NAV = pd.Series(np.linspace(1, 1.3, 60), index=IDX)
BENCH = pd.Series(np.linspace(1, 1.1, 60), index=IDX)


def _texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]


def _has_watermark(fig: Figure) -> bool:
    return any(t.get_gid() == "synthetic-watermark" and t.get_text() == "SYNTHETIC" for t in fig.texts)


def _all_figures(synthetic: bool) -> dict[str, Figure]:
    from scipy.cluster.hierarchy import linkage

    yearly = pd.DataFrame({"return": [0.1, -0.05], "benchmark": [0.05, -0.1], "excess": [0.048, 0.056]}, index=[2020, 2021])
    q = pd.DataFrame({f"Q{i}": np.linspace(1, 1 + 0.05 * i, 60) for i in range(1, 6)}, index=IDX)
    corr = pd.DataFrame(np.eye(3) * 0.5 + 0.5, index=list("abc"), columns=list("abc"))
    link = linkage(np.random.default_rng(0).normal(size=(8, 4)), "ward")
    return {
        "nav panels": charts.nav_panels_chart(NAV, BENCH, NAV / BENCH, synthetic=synthetic),
        "nav alone": charts.nav_panels_chart(NAV, synthetic=synthetic),
        "yearly": charts.yearly_bars(yearly, synthetic=synthetic),
        "quantiles": charts.quantile_nav_chart(q, q["Q5"] / q["Q1"], synthetic=synthetic),
        "ic": charts.ic_chart(pd.Series(np.sin(np.arange(60)), index=IDX), synthetic=synthetic),
        "heatmap": charts.heatmap(corr, synthetic=synthetic),
        "dendrogram": charts.dendrogram_chart(link, labels=list("ABCDEFGH"), synthetic=synthetic, color_threshold=2.0),
        "curves": charts.curve_chart([2, 3, 4], {"wss": [3, 2, 1.5], "gap": [0.1, 0.3, 0.2]}, title="K", synthetic=synthetic,
                                     mark=3, errors={"gap": [0.02, 0.02, 0.02]}),
        "bars": charts.bar_chart(pd.Series([0.1, -0.2], index=["x", "y"]), title="b", synthetic=synthetic, percent=True),
    }


@pytest.mark.parametrize("synthetic", [True, False])
def test_every_chart_is_labelled_synthetic_exactly_when_asked(synthetic):
    for name, fig in _all_figures(synthetic).items():
        assert isinstance(fig, Figure), name
        assert _has_watermark(fig) is synthetic, name
        assert any("SYNTHETIC DATA" in t for t in _texts(fig)) is synthetic, name


def test_charts_draw_the_data_given():
    fig = charts.nav_panels_chart(NAV, BENCH, NAV / BENCH, labels=("s", "b"))
    ax, rel_ax, dd_ax = fig.axes
    np.testing.assert_allclose(ax.lines[0].get_ydata(), NAV.to_numpy())
    np.testing.assert_allclose(ax.lines[1].get_ydata(), BENCH.to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["s", "b"]
    np.testing.assert_allclose(rel_ax.lines[0].get_ydata(), (NAV / BENCH).to_numpy())
    assert rel_ax.get_shared_x_axes().joined(rel_ax, dd_ax)  # one date axis for the three panels
    ic = pd.Series([0.1, -0.05, 0.2], index=IDX[:3])
    fig = charts.ic_chart(ic)
    np.testing.assert_allclose(fig.axes[1].lines[0].get_ydata(), [0.1, 0.05, 0.25])
    assert [p.get_height() for p in fig.axes[0].patches] == pytest.approx([0.1, -0.05, 0.2])
    m = pd.DataFrame([[1.0, 0.3], [0.3, 1.0]], index=["a", "b"], columns=["a", "b"])
    fig = charts.heatmap(m)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), m.to_numpy())
    assert "0.30" in _texts(fig)
    dd = charts.nav_panels_chart(pd.Series([1, 2, 1, 3.0], index=IDX[:4]))
    assert len(dd.axes) == 2  # no benchmark: NAV and drawdown
    verts = dd.axes[1].collections[0].get_paths()[0].vertices[:, 1]
    assert verts.min() == pytest.approx(-0.5)


def test_figure_png_is_a_decodable_png():
    uri = figure_png(charts.nav_panels_chart(NAV, synthetic=True))
    assert uri.startswith("data:image/png;base64,")
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and len(raw) > 5000
