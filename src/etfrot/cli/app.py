"""The Typer apps every command module attaches to (kept apart so modules can import them)."""

import typer

app = typer.Typer(
    name="etfrot",
    help="ETF rotation on China's A-share market: data, factors, AGRU model, backtests, reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Build, import, inspect and validate data bundles.", no_args_is_help=True)
app.add_typer(data_app, name="data")
