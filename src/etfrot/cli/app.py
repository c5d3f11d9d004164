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
    """A DataFrame as a rich table: index first, numbers right-aligned (4 decimals), dates as YYYY-MM-DD."""
    import pandas as pd
    from rich.console import Console
    from rich.table import Table

    def fmt(v) -> str:
        if isinstance(v, float):
            return "" if pd.isna(v) else f"{v:.4f}"
        if isinstance(v, pd.Timestamp):
            return f"{v:%Y-%m-%d}"
        return "" if v is pd.NA or v is None else str(v)

    t = Table(title=title)
    t.add_column(str(df.index.name or ""), no_wrap=True)  # codes stay whole; other columns shorten if narrow
    for c in df.columns:
        t.add_column(str(c), justify="right")
    for idx, row in df.iterrows():
        t.add_row(fmt(idx), *[fmt(v) for v in row])
    (console or Console()).print(t)
