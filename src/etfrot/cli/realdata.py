"""`etfrot data build-real` and `etfrot data fetch`: the real bundle and the online adapters."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from etfrot.cli.app import data_app

console = Console()


def _codes(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


@data_app.command("build-real")
def build_real_cmd(
    src: Path = typer.Argument(..., help="The real-data folder (../shared/data/real)."),
    out: Path = typer.Option(..., "--out", help="Folder of the bundle to write (replaced atomically)."),
    etfs: str = typer.Option(None, help="Only these ETFs, comma-separated (e.g. 510300.SH,510500.SH); default all."),
    stocks: str = typer.Option(None, help="Only these stocks, comma-separated (e.g. 600519.SH); default all."),
    stock_source: str = typer.Option("bao", help="bao: stocks_csi300_bao (263 stocks of today's CSI 300 list, with "
                                     "amount and ST flags); qlib: the qlib dump qlib_cn_* (every CSI 300/500 member "
                                     "it holds, so CSI 500 / SSE 50 weights find their stocks; no amount, VWAP, ST)."),
) -> None:
    """Build a bundle from ../shared/data/real through the source parsers, with a data-quality report.

    Every known defect of the data README is handled by a rule (drop, fix, flag) and listed in
    OUT/quality_report.md and .csv with the rows it touched.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from etfrot.data.real import build_real

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as p:
        job = p.add_task("building the real bundle", total=None)
        r = build_real(src, out, etfs=_codes(etfs), stocks=_codes(stocks), stock_source=stock_source,
                       echo=lambda m: p.update(job, description=f"building the real bundle · {m}"))
    b = r.bundle
    console.print(f"real bundle written to {b.path} (hash {b.content_hash[:12]}) in {sum(r.timings.values()):.1f}s")
    t = Table("table", "rows", title=f"tables ({b.label})")
    for name, n in b.manifest["rows"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)
    q = r.report.frame()
    qt = Table("rule", "rows", "items", "action", title="data-quality report (README defects)")
    for row in q[q["readme"]].itertuples():
        qt.add_row(row.rule, f"{row.rows:,}", f"{row.items:,}", row.action[:70])
    console.print(qt)
    console.print(f"full report: {out / 'quality_report.md'}")


@data_app.command("fetch")
def fetch_cmd(
    source: str = typer.Option(..., "--source", help="akshare | tushare | baostock"),
    out: Path = typer.Option(..., "--out", help="Bundle folder; downloads are kept under OUT/raw/<source> (resumable)."),
    kinds: str = typer.Option(None, help="Comma-separated kinds to fetch (default: the source's defaults)."),
    etfs: str = typer.Option(None, help="ETF codes (default: the fetched ETF list)."),
    stocks: str = typer.Option(None, help="Stock codes for stock bars / flows / fundamentals."),
    start: str = typer.Option(None, help="First date (YYYY-MM-DD) of a first download; later runs fetch only what is missing."),
    end: str = typer.Option(None, help="Last date (default today)."),
    per_minute: float = typer.Option(None, help="Rate limit: calls per minute (default per source)."),
    retries: int = typer.Option(4, help="Retries per call, with exponential back-off."),
    etf_index_map: Path = typer.Option(None, help="CSV with columns code,tracked_index (ETF → tracked index)."),
    no_build: bool = typer.Option(False, "--no-build", help="Only download; do not assemble the bundle."),
) -> None:
    """Download from AKShare, tushare (token from TUSHARE_TOKEN) or BaoStock into a bundle.

    Needs the optional libraries: pip install etfrot[data]. Several sources can be fetched into the
    same --out; the bundle is assembled from everything downloaded so far.
    """
    from rich.markup import escape

    from etfrot.data.sources import assemble_bundle, fetch_source
    from etfrot.data.sources._fetch import redact
    from etfrot.errors import SourceError

    echo = lambda m: console.print(redact(m), markup=False)
    summary, _ = fetch_source(source, out, kinds=_codes(kinds), etfs=_codes(etfs), stocks=_codes(stocks),
                              start=start, end=end, per_minute=per_minute, retries=retries, echo=echo, build=False)
    console.print(f"{source}: {len(summary.fetched)} downloads ({summary.rows:,} new rows), "
                  f"{len(summary.skipped)} already up to date, {len(summary.failed)} failed")
    for kind, key, msg in summary.failed[:20]:
        console.print(f"  [red]failed[/] {kind} {key}: {escape(redact(msg))}")
    if len(summary.failed) > 20:
        console.print(f"  … and {len(summary.failed) - 20} more (see {out / 'raw' / source / 'fetch.log'}); rerun to retry them")
    bundle = None
    if not no_build:
        try:
            bundle = assemble_bundle(out, etf_index_map=etf_index_map, echo=echo)
        except SourceError as e:
            console.print(f"[bold red]error:[/] {escape(redact(e))}")
            raise typer.Exit(2) from None
    if bundle is not None:
        console.print(f"bundle written to {bundle.path} (hash {bundle.content_hash[:12]})")
        t = Table("table", "rows", title=f"tables ({bundle.label})")
        for name, n in bundle.manifest["rows"].items():
            t.add_row(name, f"{n:,}")
        console.print(t)


@data_app.command("cut-real")
def cut_real_cmd(
    src: Path = typer.Argument(..., help="The real-data folder (../shared/data/real) or a qlib directory (calendars/day.txt)."),
    out: Path = typer.Option(..., "--out", help="A new folder for the cut copy (same layouts)."),
    at: str = typer.Option(..., "--at", help="The snapshot day (YYYY-MM-DD): keep only what was known then."),
    symbols: str = typer.Option(None, help="Only these per-symbol ETF / stock files, comma-separated (quick cuts); default all."),
) -> None:
    """Write SRC as a snapshot taken on --at would hold it (point-in-time invariance checks, SPEC §1.2).

    The real-data folder: daily rows ≤ at, macro rows released ≤ at, events announced ≤ at, open membership
    intervals ended on the last trading day ≤ at (``etfrot.data.real.cut``). A qlib directory: calendar,
    instruments and every .bin cut the same way (``etfrot.data.sources.qlib.cut_qlib``).
    """
    import pandas as pd

    day = pd.Timestamp(at)
    if (src / "calendars" / "day.txt").is_file():
        from etfrot.data.qlib_import import cut_qlib

        files = cut_qlib(src, out, day)
        console.print(f"qlib directory cut at {day:%Y-%m-%d} into {out}: {len(files)} files")
        return
    from etfrot.data.real.cut import cut_real

    r = cut_real(src, out, day, symbols=_codes(symbols))
    t = Table("kind", "files", "rows kept", "rows dropped", title=f"{src} cut at {r.last_day:%Y-%m-%d} → {out}")
    for kind, g in r.files.groupby("kind"):
        t.add_row(str(kind), f"{len(g):,}", f"{int(g['rows_kept'].fillna(0).sum()):,}", f"{int(g['rows_dropped'].sum()):,}")
    console.print(t)
    unknown = r.files[r.files["kind"] == "unknown"]
    if len(unknown):
        console.print(f"[yellow]{len(unknown)} file(s) no rule knows were copied as they are[/]: "
                      + ", ".join(unknown["file"].astype(str).head(5)))
