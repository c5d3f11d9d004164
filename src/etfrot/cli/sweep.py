"""`etfrot sweep CONFIG --grid key=v1,v2,… [--grid …] --jobs N --out DIR` (SPEC §7)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from etfrot.cli.app import app

console = Console()


@app.command("sweep")
def sweep(
    config: str = typer.Argument(..., help="Strategy config: a YAML path or a shipped config name (e.g. regime_rotation)."),
    grid: list[str] = typer.Option(..., "--grid", "-g",
                                   help="KEY=V1,V2,… with a dotted config key; repeat for more keys; a..b = int range."),
    jobs: int = typer.Option(1, "--jobs", "-j", help="Cells run in parallel (local processes)."),
    out: Path = typer.Option(..., "--out", help="Folder for sweep.csv and the comparison report."),
    bundle: Path = typer.Option(None, "--bundle", help="Bundle folder (overrides the config's `bundle:`)."),
    backend: str = typer.Option("process", help="process (local pool of --jobs workers) | serial | ray (needs the "
                                "'ray' extra of etfrot installed)."),
    ship_bundle: bool = typer.Option(False, "--ship-bundle", help="ray: send the bundle through Ray's object store "
                                     "instead of reading its path on every node."),
    address: str = typer.Option(None, "--address", help="ray: the cluster (auto, HOST:6379, ray://HOST:10001); "
                                "default RAY_ADDRESS, else a local Ray."),
    cell_reports: bool = typer.Option(False, "--cell-reports", help="Also write every cell's own report under OUT/cells/."),
    metric: str = typer.Option(None, help="Metric for the heat map of a two-key grid (default: annual excess)."),
) -> None:
    """Run a parameter grid of one config, each cell an ordinary run, and write one comparison table."""
    import time

    from etfrot.data import Bundle
    from etfrot.strategies import get_strategy, load_config
    from etfrot.sweep import parse_grid, run_sweep, write_sweep

    cfg = load_config(config)
    if bundle is not None:
        cfg["bundle"] = str(bundle)
    g = parse_grid(grid)
    get_strategy(cfg.get("strategy", ""))  # clear error before anything runs
    b = Bundle.open(cfg["bundle"], validate=False) if cfg.get("bundle") else None
    if b is None:
        raise typer.BadParameter("the config has no `bundle:`; pass --bundle PATH")
    t0 = time.perf_counter()
    table = run_sweep(cfg, g, jobs=jobs, backend=backend, progress=True, ship_bundle=ship_bundle, address=address,
                      reports_dir=str(out / "cells") if cell_reports else None)
    wall = time.perf_counter() - t0
    report = write_sweep(table, out, title=f"Sweep of {cfg['strategy']} over {', '.join(g)}", synthetic=b.is_synthetic,
                         data_label=b.label, config=cfg, grid=g, metric=metric)
    _print(table, b.label, list(g))
    failed = int(table["error"].notna().sum())
    console.print(f"{len(table)} cells ({failed} failed) in {wall:.1f} s on {backend}{f' with {jobs} job(s)' if backend == 'process' else ''} → {out / 'sweep.csv'}, {report}")


SHOWN = ("annual_excess", "information_ratio", "annual_return", "sharpe", "max_drawdown", "excess_max_drawdown")


def _print(table, label: str, keys) -> None:
    """The grid keys and the key metrics of every cell (all metrics are in sweep.csv)."""
    from etfrot.sweep import PERCENT_METRICS

    metrics = [c for c in SHOWN if c in table.columns] or [c for c in table.columns if c not in (*keys, "seconds", "error")][:6]
    t = Table(title=f"sweep — {label} (all metrics: sweep.csv)")
    errs = table["error"].notna().any()
    for c in ["cell", *keys, *metrics, "seconds"] + (["error"] if errs else []):
        t.add_column(str(c), justify="right" if c != "error" else "left", overflow="fold")
    for i, row in table.iterrows():
        cells = [str(i)] + [str(row[k]) for k in keys]
        for c in metrics:
            v = row[c]
            cells.append("" if v is None or v != v else (f"{100 * v:.2f}%" if c in PERCENT_METRICS else f"{v:.3f}"))
        cells.append(f"{row['seconds']:.1f}")
        if errs:
            cells.append("" if row["error"] is None or row["error"] != row["error"] else str(row["error"])[:60])
        t.add_row(*cells)
    console.print(t)
