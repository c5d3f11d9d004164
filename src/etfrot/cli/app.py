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


def print_frame(df, title: str, console=None) -> None:
    """A DataFrame as a rich table: index first, numbers right-aligned, every column formatted by its kind
    (percent, ratio, count, date, text: :mod:`etfrot.report.format`, the same rules as the HTML report)."""
    from rich.console import Console
    from rich.table import Table

    from etfrot.report.format import format_frame

    shown = format_frame(df)
    t = Table(title=title)
    t.add_column(str(df.index.name or ""), no_wrap=True)  # codes stay whole; other columns shorten if narrow
    for c in df.columns:
        t.add_column(str(c), justify="right")
    for idx, row in zip(shown.index, shown.itertuples(index=False)):
        t.add_row(str(idx), *row)
    (console or Console()).print(t)
