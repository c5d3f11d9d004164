"""`etfrot model train CONFIG` and `etfrot model predict MODEL_DIR` (SPEC §4, §9)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from etfrot.cli.app import app, print_frame

console = Console()
model_app = typer.Typer(help="Train the AGRU stock model and predict stock scores with it.", no_args_is_help=True)
app.add_typer(model_app, name="model")


@model_app.command("train")
def train(
    config: Path = typer.Argument(..., help="YAML training config (etfrot.model.config.TrainConfig)."),
    bundle: str = typer.Option(None, "--bundle", help="Bundle folder (overrides `bundle:` in the config)."),
    out: Path = typer.Option(None, "--out", help="Output folder (overrides `out:`): models, scores, history, report."),
    backend: str = typer.Option("serial", help="Where the independent fits (variants × folds × seeds) run: serial | "
                                "process (local pool of --jobs workers) | ray (needs the 'ray' extra)."),
    jobs: int = typer.Option(None, "--jobs", "-j", help="Workers of the process backend (default: the CPU count)."),
    ship_bundle: bool = typer.Option(False, "--ship-bundle", help="ray: send the bundle through Ray's object store "
                                     "instead of reading its path on every node."),
    address: str = typer.Option(None, "--address", help="ray: the cluster (auto, HOST:6379, ray://HOST:10001); "
                                "default RAY_ADDRESS, else a local Ray."),
    set_: list[str] = typer.Option(None, "--set", help="Override one config key, KEY=VALUE (YAML value), e.g. "
                                   "--set model.seeds=1 --set model.train_date_stride=5; repeatable."),
) -> None:
    """Train AGRU (and the GRU / plain-MSE comparisons), write out-of-sample scores, test them, report."""
    import os

    from etfrot.model.pipeline import train_from_config

    cfg, b = _config_and_bundle(config, bundle, out, set_)
    res = train_from_config(b, cfg, progress=True, log=console.print, backend=backend,
                            jobs=jobs or os.cpu_count() or 1, ship_bundle=ship_bundle, address=address)
    tag = " (SYNTHETIC)" if b.is_synthetic else ""
    print_frame(res.test_ic[["ic_mean", "icir", "rank_ic_mean", "rank_icir", "rank_ic_t_nw", "dates"]],
           f"Test IC against the standardised {cfg.window.horizon}-day forward return{tag}")
    if res.factor_table is not None:
        cols = ["pool", "ic_mean", "icir", "ic_win_rate", "long_excess_annual", "long_excess_max_drawdown",
                "long_short_sharpe", "periods"]
        print_frame(res.factor_table.set_index("model")[cols],
               f"Stock factor tests, {cfg.evaluate.freq}, {cfg.evaluate.quantiles} groups{tag} (all columns in the report)")
    console.print(f"models, scores and report in [bold]{res.out_dir}[/] (report: {res.report})")


def _config_and_bundle(config: Path, bundle: str | None, out: Path | None, set_: list[str] | None):
    """The training config (``--bundle`` / ``--out`` / ``--set`` applied) and its opened bundle."""
    from etfrot.cli.backtest import _open_bundle
    from etfrot.config import read_yaml
    from etfrot.model.config import load_train_config, set_keys

    raw = read_yaml(config)
    if bundle:
        raw["bundle"] = bundle
    if out:
        raw["out"] = str(out)
    cfg = load_train_config(set_keys(raw, set_ or []))
    return cfg, _open_bundle(cfg.bundle, cfg.synth)


@model_app.command("report")
def report(
    config: Path = typer.Argument(..., help="The YAML training config the run was trained with."),
    bundle: str = typer.Option(None, "--bundle", help="Bundle folder (overrides `bundle:` in the config)."),
    out: Path = typer.Option(None, "--out", help="The run's folder (overrides `out:`)."),
    set_: list[str] = typer.Option(None, "--set", help="Override one config key, KEY=VALUE; repeatable."),
) -> None:
    """Rebuild the tests and report of a trained run from its saved scores (no training)."""
    from etfrot.model.pipeline import report_from_run

    cfg, b = _config_and_bundle(config, bundle, out, set_)
    res = report_from_run(b, cfg)
    console.print(f"report rebuilt: [bold]{res.report}[/]")


@model_app.command("predict")
def predict(
    model_dir: Path = typer.Argument(..., help="A model folder written by `etfrot model train` (OUT/models/agru)."),
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder to score."),
    out: Path = typer.Option(..., "--out", help="Parquet file for the date × stock score panel."),
    start: str = typer.Option(None, help="First date to score (default: the first with a full window)."),
    end: str = typer.Option(None, help="Last date to score (default: the bundle's last day)."),
    freq: str = typer.Option("daily", help="daily | weekly | monthly: score every trading day or the rebalance dates."),
    fold: str = typer.Option(None, help="Walk-forward fold to use (default: the latest one)."),
) -> None:
    """Score stocks with a trained model (mean over its seeds): a date × stock panel written as Parquet."""
    from etfrot.data import Bundle
    from etfrot.model.pipeline import predict_with_saved

    b = Bundle.open(bundle)
    scores, used = predict_with_saved(model_dir, b, start=start, end=end, freq=freq, fold=fold)
    out.parent.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(out)
    n = int(scores.notna().sum().sum())
    console.print(f"{n:,} scores on {len(scores)} dates × {scores.shape[1]} stocks with model {used}"
                  f"{' (SYNTHETIC DATA)' if b.is_synthetic else ''} → [bold]{out}[/]")
