"""One self-contained HTML file per run (SPEC §9): tables, charts as embedded PNG, no network.

A report is a list of :class:`Section` s, each holding text, tables and matplotlib figures.
``write_report`` renders them with the Jinja2 template, writes every table as CSV and JSON beside
the HTML, and writes ``manifest.json`` (config, data hash, package version, seeds).
Every page carries the data label; synthetic data get a large SYNTHETIC banner (promise 6).
"""

from __future__ import annotations

import base64
import functools
import io
import json
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd

from etfrot import __version__

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("etfrot", "report/templates"),
    autoescape=jinja2.select_autoescape(["html"]),
)


@dataclass
class Section:
    """A titled part of a report: free text, named tables and figures (matplotlib figures, functions that build
    one, built when the report is written — or PNG data URIs)."""

    title: str
    text: str = ""
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: list = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    #: tables written as CSV/JSON and linked, but not shown in the page (e.g. every trade of a run)
    files: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: show at most this many rows of each table in the page (the CSV/JSON always hold all of them)
    max_rows: int | None = None


_LOCAL = threading.local()


@functools.cache
def _shared_canvas_class():
    from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

    class SharedCanvas(FigureCanvasAgg):
        def get_renderer(self):
            w, h = self.get_width_height(physical=True)
            cache = _LOCAL.__dict__.setdefault("renderers", {})
            key = (w, h, self.figure.dpi)
            if key not in cache:
                if len(cache) >= 8:
                    cache.clear()
                cache[key] = RendererAgg(w, h, self.figure.dpi)
            self.renderer = cache[key]
            return self.renderer

    return SharedCanvas


def _canvas(fig):
    """An Agg canvas for ``fig`` whose renderer is shared by all figures of the same pixel size drawn in this
    thread. matplotlib caches text extents per renderer, so tick labels, titles and legends measured for one
    chart are not measured again for the next (the output is byte for byte the same as with a fresh renderer)."""
    return _shared_canvas_class()(fig)


def figure_png(fig, dpi: int = 90) -> str:
    """A matplotlib figure as a base64 PNG data URI (closes the figure).

    A figure with a layout engine (the report's charts: :class:`etfrot.report.layout.FitLayout`) is drawn once on an Agg canvas
    (the layout runs inside that draw; ``savefig`` would add a second, layout-only pass; the renderer is
    shared, see :func:`_canvas`) and stored as a 256-colour palette PNG (Pillow's fast octree quantiser:
    about a third of the bytes of an RGBA PNG, and quicker to encode; charts hold few colours, so nothing
    visible is lost). One without a layout engine is cropped to its content
    (``savefig(bbox_inches="tight")``), as before."""
    import warnings

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    with warnings.catch_warnings():  # CJK names without a CJK font: boxes, not a warning per glyph
        warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from")
        if fig.get_layout_engine() is None:
            fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        else:
            from PIL import Image

            fig.set_dpi(dpi)
            canvas = _canvas(fig)
            canvas.draw()
            img = Image.frombuffer("RGBA", canvas.get_width_height(physical=True), canvas.buffer_rgba(), "raw",
                                   "RGBA", 0, 1).convert("RGB")
            img.quantize(256, method=Image.Quantize.FASTOCTREE).save(buf, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _slug(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", s.lower()).strip("_") or "table"


def _fmt_table(df: pd.DataFrame, max_rows: int | None = None) -> str:
    """A table as HTML, each column formatted by its kind (:mod:`etfrot.report.format`), in a box that
    scrolls sideways when the table is wider than the page."""
    from etfrot.report.format import format_frame

    more = 0
    if max_rows is not None and len(df) > max_rows:
        more, df = len(df) - max_rows, df.iloc[-max_rows:]
    shown = format_frame(df)
    if df.attrs.get("heat"):
        html = shown.style.apply(lambda _: heat_css(df), axis=None).format(escape="html", na_rep="") \
            .set_table_attributes('class="tbl heat"').to_html()
    else:
        html = shown.to_html(classes="tbl", border=0, escape=True, na_rep="")
    html = f'<div class="tblwrap">{html}</div>'
    if more:
        html = f'<p class="label">last {max_rows} rows shown; {more} earlier rows in the CSV</p>' + html
    return html


def heat_css(df: pd.DataFrame) -> np.ndarray:
    """Cell styles (CSS, the shape of ``df``) of a heat table: ``df.attrs["heat"] = {"columns": [...], "cmap": name}`` colours those columns'
    cells on the colour map, symmetric around 0 (±max |value| of the coloured cells), with black or white text by
    the colour's luminance (0.2126 R + 0.7152 G + 0.0722 B > 0.5: black; Rec. 709); other cells and NaN: no style."""
    import matplotlib

    heat = df.attrs["heat"]
    cols = [c for c in heat.get("columns", df.columns) if c in df.columns]
    out = np.full(df.shape, "", dtype=object)
    v = df[cols].to_numpy(dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return out
    lim = float(np.abs(v[ok]).max()) or 1.0
    rgb = matplotlib.colormaps[heat.get("cmap", "RdYlGn")](np.clip((np.nan_to_num(v) / lim + 1) / 2, 0, 1))[..., :3]
    rgb8 = np.rint(rgb * 255).astype(np.int64)
    hexes = np.char.mod("#%06x", (rgb8[..., 0] << 16) | (rgb8[..., 1] << 8) | rgb8[..., 2])
    ink = np.where(rgb @ np.array([0.2126, 0.7152, 0.0722]) > 0.5, "#000", "#fff")
    css = np.char.add(np.char.add(np.char.add("background-color:", hexes), ";color:"), ink)
    out[:, df.columns.get_indexer(cols)] = np.where(ok, css, "")
    return out


def write_report(out_dir: str | Path, *, title: str, synthetic: bool, data_label: str, sections: list[Section],
                 config: dict | None = None, manifest: dict | None = None, filename: str = "report.html") -> Path:
    """Write ``out_dir/report.html``, ``out_dir/tables/*.csv|json`` and ``out_dir/manifest.json``.

    Files are written to temporary names and renamed into place, so an interrupted run leaves no
    half-written report.
    """
    out = Path(out_dir)
    (out / "tables").mkdir(parents=True, exist_ok=True)
    rendered = []
    for n, s in enumerate(sections):
        tables = []
        for name, df in s.tables.items():
            stem = _write_table(out, f"{s.title}_{name}", df)
            tables.append({"name": name, "html": _fmt_table(df, s.max_rows), "csv": f"tables/{stem}.csv",
                           "json": f"tables/{stem}.json"})
        links = dict(s.links)
        for name, df in s.files.items():
            stem = _write_table(out, f"{s.title}_{name}", df)
            links[f"{name} (CSV, {len(df):,} rows)"] = f"tables/{stem}.csv"
        rendered.append({"title": s.title, "anchor": f"s{n}-{_slug(s.title)}", "text": s.text, "tables": tables,
                         "figures": [draw(f) for f in s.figures], "links": links})
    man = {"title": title, "synthetic": synthetic, "data": data_label, "etfrot_version": __version__,
           "config": config or {}, **(manifest or {})}
    man.setdefault("created", datetime.now(UTC).isoformat(timespec="seconds"))
    html = _ENV.get_template("report.html").render(
        title=title, synthetic=synthetic, data_label=data_label, sections=rendered,
        config_json=json.dumps(config or {}, indent=2, ensure_ascii=False, default=str), manifest=man,
        manifest_json=json.dumps({k: v for k, v in man.items() if k != "config"}, indent=2, ensure_ascii=False, default=str),
    )
    _atomic_write(out / filename, html)
    _atomic_write(out / "manifest.json", json.dumps(man, indent=2, ensure_ascii=False, default=str))
    return out / filename


def draw(fig) -> str:
    """A figure as a PNG data URI: a data URI as is, a function that builds a figure called first (builders keep a
    section cheap until the report is written), else :func:`figure_png`."""
    if isinstance(fig, str):
        return fig
    return figure_png(fig() if callable(fig) else fig)


def _write_table(out: Path, name: str, df: pd.DataFrame) -> str:
    stem = _slug(name)
    _atomic_write(out / "tables" / f"{stem}.csv", df.to_csv())
    _atomic_write(out / "tables" / f"{stem}.json", df.reset_index().to_json(orient="records", date_format="iso", force_ascii=False))
    return stem


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
