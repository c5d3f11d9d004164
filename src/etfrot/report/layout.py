"""Fit layout for the report's charts: margins measured once per figure, instead of constrained layout.

matplotlib's constrained layout measures every axes' tight box (tick labels, axis labels, titles, legends)
twice per draw and then the draw measures the ticks again; on the report's charts it was half of the drawing
time. :class:`FitLayout` does one measurement: it fixes the ticks at their current places (so that resizing
the axes cannot change them, and with them the labels' extents), takes each axes' tight box once, and sets
the grid's margins and gaps so that everything drawn outside the axes fits in the figure with a pad:

    left margin = pad + max over the axes of the first grid column (axes left − tight-box left), the same
    for right, bottom and top; gap between grid columns c, c+1 = right overhang of c + pad + left overhang of
    c+1 (the largest over the columns: matplotlib's grid has one gap; rows: bottom + top overhang).

With the ticks fixed the overhangs are the same after the resize (titles, labels and legends outside the axes
are placed relative to the axes' edges), so one pass is exact. Colour bars made with ``fig.colorbar(ax=…)``
take their space from the parent's grid cell (``colorbar_gridspec``), as without a layout engine.
Pad: 3 pt, constrained layout's default. Before measuring, titles and empty axis labels are pinned where
matplotlib would put them (:func:`pin_title`, :func:`pin_empty_labels`), so that it does not place them again
(measuring the ticks each time) in the measurement and in the draw.
"""

from __future__ import annotations

import numpy as np
from matplotlib.layout_engine import LayoutEngine
from matplotlib.ticker import FixedLocator, NullLocator

PAD_PT = 3.0
#: first guess of the margins (inches: left, right, bottom, top) for the tick placement; the final ones are measured
GUESS_IN = (0.75, 0.25, 0.45, 0.35)


def _in_view(axis, locs) -> np.ndarray:
    """The ``locs`` inside the axis' view interval (the only ones matplotlib draws; a locator returns one more
    step on each side, and each of those would still get its tick objects made)."""
    locs = np.asarray(locs, dtype=float)
    lo, hi = sorted(axis.get_view_interval())
    tol = 1e-10 * max(abs(hi - lo), 1e-300)
    return locs[(locs >= lo - tol) & (locs <= hi + tol)]


def freeze_ticks(fig) -> None:
    """Every axis of ``fig`` keeps the ticks it has now, those in view (``FixedLocator``; labels are still made
    by its formatter)."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not isinstance(axis.get_major_locator(), FixedLocator):
                axis.set_major_locator(FixedLocator(_in_view(axis, axis.get_majorticklocs())))
            if not isinstance(axis.get_minor_locator(), (FixedLocator, NullLocator)):
                axis.set_minor_locator(FixedLocator(_in_view(axis, axis.get_minorticklocs())))


def pin_title(ax) -> None:
    """Fix the title at the top edge of ``ax`` (y = 1 + the usual pad) where nothing can sit above the axes:
    no top x tick labels or x label, and no y offset text (``1e6``) on it or its twins. matplotlib would
    otherwise check for that at every layout and draw pass (each time computing the ticks of all the
    axes), and with nothing above it leaves the title at exactly this place."""
    for a in ax._twinned_axes.get_siblings(ax):
        if a.xaxis.get_ticks_position() in ("top", "unknown") or a.xaxis.get_label_position() == "top":
            return
        fmt = a.yaxis.get_major_formatter()
        if hasattr(fmt, "get_offset"):
            fmt.set_locs(a.yaxis.get_majorticklocs())
            if fmt.get_offset():
                return
    for t in (ax.title, ax._left_title, ax._right_title):
        t.set_y(1.0)
    ax._autotitlepos = False


def pin_empty_labels(fig) -> None:
    """An axis label without text is fixed at the middle of its axes: matplotlib would otherwise place it past
    the tick labels at every pass (measuring the tick labels of the axis again), to draw nothing."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if not axis.label.get_text():
                axis.set_label_coords(0.5, 0.5)


class FitLayout(LayoutEngine):
    """Layout engine: grid margins and gaps from one measurement of the axes' tight boxes (module doc)."""

    _adjust_compatible = True
    _colorbar_gridspec = True

    def __init__(self, pad_pt: float = PAD_PT, **kwargs):
        super().__init__(**kwargs)
        self._pad_pt = pad_pt

    def execute(self, fig) -> None:
        axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_subplotspec() is not None]
        if not axes:
            return
        w_px, h_px = fig.bbox.width, fig.bbox.height
        dpi = fig.dpi
        gs = axes[0].get_subplotspec().get_topmost_subplotspec().get_gridspec()
        nrows, ncols = gs.get_geometry()
        if getattr(fig, "_fit_guessed", False) is False:  # the ticks are placed for a size near the final one
            gl, gr, gb, gt = GUESS_IN
            fig.subplots_adjust(left=gl * dpi / w_px, right=1 - gr * dpi / w_px, bottom=gb * dpi / h_px, wspace=0.1, hspace=0.1,
                                top=1 - gt * dpi / h_px)
            fig._fit_guessed = True
        freeze_ticks(fig)
        for ax in axes:
            pin_title(ax)
        pin_empty_labels(fig)
        renderer = fig._get_renderer()
        # overhang (px) beyond the axes' edges, per grid row (top, bottom) and column (left, right)
        top, bottom, left, right = [0.0] * nrows, [0.0] * nrows, [0.0] * ncols, [0.0] * ncols
        for ax in axes:
            bb = ax.get_tightbbox(renderer, for_layout_only=True)
            if bb is None:
                continue
            pos = ax.get_position(original=False).transformed(fig.transFigure)
            ss = ax.get_subplotspec().get_topmost_subplotspec()
            r0, r1, c0, c1 = ss.rowspan.start, ss.rowspan.stop - 1, ss.colspan.start, ss.colspan.stop - 1
            top[r0] = max(top[r0], bb.y1 - pos.y1)
            bottom[r1] = max(bottom[r1], pos.y0 - bb.y0)
            left[c0] = max(left[c0], pos.x0 - bb.x0)
            right[c1] = max(right[c1], bb.x1 - pos.x1)
        pad = self._pad_pt * dpi / 72
        lo_x, hi_x = (left[0] + pad) / w_px, 1 - (right[-1] + pad) / w_px
        lo_y, hi_y = (bottom[-1] + pad) / h_px, 1 - (top[0] + pad) / h_px
        gap_w = max((right[c] + pad + left[c + 1] for c in range(ncols - 1)), default=0.0)
        gap_h = max((bottom[r] + pad + top[r + 1] for r in range(nrows - 1)), default=0.0)
        cell_w = ((hi_x - lo_x) * w_px - (ncols - 1) * gap_w) / ncols
        cell_h = ((hi_y - lo_y) * h_px - (nrows - 1) * gap_h) / nrows
        if cell_w <= 0 or cell_h <= 0:
            return  # the labels do not fit at all: leave the guess (nothing better to do)
        fig.subplots_adjust(left=lo_x, right=hi_x, bottom=lo_y, top=hi_y, wspace=gap_w / cell_w, hspace=gap_h / cell_h)
