"""`etfrot data …`: synth, import, info, validate."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from etfrot.cli.app import data_app

console = Console(soft_wrap=True)


@data_app.command("synth")
def synth(
    out: Path = typer.Option(..., "--out", help="Folder of the bundle to write (replaced atomically)."),
    seed: int = typer.Option(0, help="Random seed: same seed ⇒ same content hash."),
    size: str = typer.Option("default", help="small | default | large"),
    signal: float = typer.Option(1.0, help="Planted signal strength; 0 makes nothing predictable."),
) -> None:
    """Build a seeded synthetic A-share market bundle (SPEC §1.4). Everything from it is labelled SYNTHETIC."""
    from etfrot.data.synthetic import build_synthetic

    b = build_synthetic(out, size=size, seed=seed, signal=signal, progress=True)
    console.print(f"[bold]SYNTHETIC[/] bundle written to {b.path} (hash {b.content_hash[:12]})")
    _print_rows(b)


@data_app.command("import")
def import_(
    src: Path = typer.Argument(..., help="Folder with <table>.csv or <table>.parquet files in the bundle's layout."),
    out: Path = typer.Option(..., "--out", help="Folder of the bundle to write."),
) -> None:
    """Import a folder of CSV/Parquet files in the bundle's own column layout; validates everything."""
    from etfrot.data.sources.files import import_folder

    b = import_folder(src, out)
    console.print(f"imported {src} → {b.path} (hash {b.content_hash[:12]})")
    _print_rows(b)


@data_app.command("import-qlib")
def import_qlib_cmd(
    src: Path = typer.Argument(..., help="A qlib directory (calendars/, instruments/, features/), e.g. a cn_data dump."),
    out: Path = typer.Option(..., "--out", help="Bundle folder; an existing import-qlib bundle gets only the new days."),
    start: str = typer.Option(None, help="First date kept (YYYY-MM-DD); default the dump's first day."),
    end: str = typer.Option(None, help="Last date kept (YYYY-MM-DD); default the dump's last day."),
    instruments: str = typer.Option("all", help="Stocks to import: all | an instrument file's name (csi300) | FILE of codes."),
    min_days: int = typer.Option(20, help="Series shorter than this that stop before the dump ends are stubs (skipped)."),
    volume_adjusted: bool = typer.Option(False, "--volume-adjusted", help="The dump's volume is divided by factor."),
    full: bool = typer.Option(False, "--full", help="Rewrite OUT from scratch instead of appending new days."),
) -> None:
    """Import a qlib cn_data dump (qlib's binary format, read without pyqlib) into a bundle, with a quality report.

    Stocks → stock_bars (raw = adjusted / factor), indices → index_bars, instrument files → index_members. ETF,
    stub and unknown folders are listed in OUT/skipped.csv; every defect rule in OUT/quality_report.md.
    """
    from etfrot.data.qlib_import import import_qlib

    r = import_qlib(src, out, start=start, end=end, instruments=instruments, min_days=min_days,
                    volume_adjusted=volume_adjusted, full=full, progress=True)
    b = r.bundle
    what = "full import" if r.appended_days is None else f"update: {r.appended_days} new days appended"
    console.print(f"{what} {src} → {b.path} (hash {b.content_hash[:12]}) in {sum(r.timings.values()):.1f}s")
    console.print(b.label)
    _print_rows(b)
    q = r.report.frame()
    qt = Table("rule", "rows", "items", "action", title="data-quality report")
    for row in q[(q["rows"] > 0) | (q["items"] > 0)].itertuples():
        qt.add_row(row.rule, f"{row.rows:,}", f"{row.items:,}", row.action[:70])
    console.print(qt)
    console.print(f"full report: {out / 'quality_report.md'}; not imported: {len(r.skipped)} folders ({out / 'skipped.csv'})")


@data_app.command("info")
def info(bundle: Path = typer.Argument(..., help="Bundle folder.")) -> None:
    """Show a bundle's source, dates, tables and row counts."""
    from etfrot.data import Bundle

    b = Bundle.open(bundle, validate=False)
    cal = b.calendar
    console.print(f"[bold]{b.path}[/]  {('[bold red]' + b.label + '[/]') if b.is_synthetic else b.label}")
    console.print(f"created {b.manifest['created']} · hash {b.content_hash[:12]} · "
                  f"{len(cal)} trading days {cal[0]:%Y-%m-%d} → {cal[-1]:%Y-%m-%d}")
    _print_rows(b)


@data_app.command("validate")
def validate(bundle: Path = typer.Argument(..., help="Bundle folder.")) -> None:
    """Validate every table and the rules across tables (SPEC §10); exit 2 with a clear message on failure."""
    from etfrot.data import Bundle

    b = Bundle.open(bundle)
    b.validate()
    console.print(f"[green]ok[/]: {b.path} — {len(b.tables)} tables valid ({b.label})")


def _print_rows(b) -> None:
    t = Table("table", "rows", title="tables" + (" (SYNTHETIC)" if b.is_synthetic else ""))
    for name, n in b.manifest["rows"].items():
        t.add_row(name, f"{n:,}")
    console.print(t)
