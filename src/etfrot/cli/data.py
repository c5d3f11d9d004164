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
