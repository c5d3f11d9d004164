"""`etfrot backtest CONFIG` and `etfrot report RUN_DIR` (SPEC §7, §9)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from etfrot.cli.app import app

console = Console()


def _open_bundle(path: str | None, synth):
    from etfrot.data import Bundle
    from etfrot.errors import ConfigError

    if not path:
        raise ConfigError("no bundle: set `bundle:` in the config or pass --bundle PATH "
                          "(build one with `etfrot data synth --out PATH`)")
    p = Path(path)
    if not (p / "manifest.json").exists() and synth is not None:
        from etfrot.data.synthetic import build_synthetic

        console.print(f"building the [bold]SYNTHETIC[/] bundle {p} (size {synth.size}, seed {synth.seed}, signal {synth.signal})")
        return build_synthetic(p, size=synth.size, seed=synth.seed, signal=synth.signal)
    return Bundle.open(p)


def print_metrics(m, title: str, synthetic: bool) -> None:
    """Key metrics as a rich table (percentages where they are fractions)."""
    from rich.table import Table

    from etfrot.report.sections import LABELS

    pct = {"cumulative_return", "annual_return", "annual_volatility", "max_drawdown", "benchmark_cumulative_return",
           "benchmark_annual_return", "benchmark_annual_volatility", "benchmark_max_drawdown", "annual_excess",
           "tracking_error", "excess_max_drawdown", "win_rate", "cost_drag"}
    t = Table("metric", "value", "95 % CI", title=title + (" — SYNTHETIC DATA" if synthetic else ""))
    for k, label in LABELS.items():
        if k not in m.index:
            continue
        v = m[k]
        f = (lambda x: f"{100 * x:.2f}%") if k in pct else (lambda x: f"{x:.3f}" if isinstance(x, float) else str(x))
        if hasattr(v, "strftime"):
            shown = f"{v:%Y-%m-%d}"
        else:
            shown = f(v)
        ci = f"{f(m[k + '_ci_lo'])} … {f(m[k + '_ci_hi'])}" if f"{k}_ci_lo" in m.index else ""
        t.add_row(label, shown, ci)
    console.print(t)


@app.command("backtest")
def backtest(
    config: Path = typer.Argument(..., help="YAML config (see etfrot.config.BacktestConfig; `strategy:` picks a strategy)."),
    bundle: str = typer.Option(None, "--bundle", help="Bundle folder (overrides `bundle:` in the config)."),
    out: Path = typer.Option(None, "--out", help="Run folder for report.html, tables, manifest, result (default runs/<name>-<time>)."),
) -> None:
    """Backtest a config: universe → scores → selection → weekly/monthly weights → engine → HTML report."""
    import inspect
    import time

    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from etfrot.config import read_yaml
    from etfrot.strategies import get_strategy

    raw = read_yaml(config)
    if bundle:
        raw["bundle"] = bundle
    name = raw.get("strategy", "backtest")
    mod = get_strategy(name)  # "backtest" is the config-driven runner; other names run their own pipeline
    cfg = mod.validate_config(raw)
    run_dir = out or Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    b = _open_bundle(cfg.bundle, cfg.synth)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as bar:
        task = bar.add_task(f"{name}: starting", total=None)
        kw = {"progress": lambda label: bar.update(task, description=f"{name}: {label}")} \
            if "progress" in inspect.signature(mod.run).parameters else {}
        res, _ = mod.run(b, cfg, run_dir, **kw)
    rep = cfg.report
    m = res.metrics(n_boot=rep.bootstrap, block=rep.block, seed=rep.seed)
    synthetic, title = b.is_synthetic, rep.title or cfg.name
    print_metrics(m, title, synthetic)
    console.print(f"report: {run_dir / 'report.html'}")


@app.command("report")
def report(
    run_dir: Path = typer.Argument(..., help="A run folder written by `etfrot backtest` (holds result/ and config.json)."),
) -> None:
    """Rebuild a run's HTML report (and its tables and manifest) from the saved result and config."""
    import json
    import time

    from etfrot.backtest.result import Result
    from etfrot.errors import DataMissingError
    from etfrot.report import write_report
    from etfrot.report.sections import backtest_sections

    if not (run_dir / "config.json").is_file():
        raise DataMissingError(f"{run_dir} is not a run folder (no config.json); run `etfrot backtest CONFIG --out {run_dir}` first.")
    conf = json.loads((run_dir / "config.json").read_text())
    man = json.loads((run_dir / "manifest.json").read_text()) if (run_dir / "manifest.json").exists() else {}
    res = Result.load(run_dir / "result")
    rep = conf.get("report", {}) or {}
    synthetic = bool(man.get("synthetic", False))
    t0 = time.perf_counter()
    title = rep.get("title") or conf.get("name", "backtest")
    bundle = _run_bundle(man)
    secs = backtest_sections(res, title=title, synthetic=synthetic, last_holdings=rep.get("last_holdings", 8),
                             n_boot=rep.get("bootstrap", 1000), block=rep.get("block", 20), seed=rep.get("seed", 0),
                             log_nav=rep.get("log_nav", False), bundle=bundle)
    secs += _capacity_again(res, conf, bundle, title, synthetic)
    if "coverage" in man:
        from etfrot.strategies.coverage import coverage_section

        secs.append(coverage_section(man["coverage"], title=title))
    keep = {k: v for k, v in man.items() if k not in ("title", "synthetic", "data", "etfrot_version", "config", "created")}
    path = write_report(run_dir, title=title, synthetic=synthetic, data_label=man.get("data", "unknown data"),
                        sections=secs, config=conf, manifest=keep)
    console.print(f"report rebuilt in {time.perf_counter() - t0:.2f} s: {path}")


def _run_bundle(man: dict):
    """The bundle the run used (its manifest's path, same content hash), or None (said on the console): the
    industry exposure and capacity sections are rebuilt from it."""
    from etfrot.data import Bundle
    from etfrot.errors import EtfrotError

    try:
        b = Bundle.open(man["bundle"])
    except (KeyError, OSError, EtfrotError):
        console.print("the run's bundle cannot be opened: industry exposure and capacity are left out")
        return None
    if man.get("data_hash") not in (None, b.content_hash):
        console.print(f"the bundle at {b.path} changed since the run (data hash {b.content_hash[:12]} ≠ "
                      f"{man['data_hash'][:12]}): industry exposure and capacity are left out")
        return None
    return b


def _capacity_again(res, conf: dict, bundle, title: str, synthetic: bool) -> list:
    """The capacity section of an ETF run, recomputed from the bundle the run used (none if it is gone)."""
    from etfrot.strategies.capacity import capacity_sections
    from etfrot.strategies.runner import instruments

    if bundle is None or conf.get("strategy", "backtest") != "backtest" or (conf.get("universe") or {}).get("kind", "etf") != "etf":
        return []
    return capacity_sections(res, instruments(bundle, "etf"), float(conf.get("capital", 1e6)), title=title, synthetic=synthetic)
