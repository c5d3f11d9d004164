"""`etfrot factor …`: list the registered factors; test factors (seed 001 tables 4–5, figure 4)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from etfrot.cli.app import app

factor_app = typer.Typer(help="List factors and run single-factor tests (SPEC §2–3).", no_args_is_help=True)
app.add_typer(factor_app, name="factor")
console = Console() if sys.stdout.isatty() else Console(width=220)

HEADERS = {
    "label": "名称", "abs_t_mean": "mean|t|", "abs_t_gt2": "|t|>2", "ic_mean": "IC", "ic_std": "IC sd", "icir": "ICIR",
    "ic_pos": "IC>0", "ic_t": "t(IC)", "ic_t_nw": "NW t", "rank_ic_mean": "RankIC", "rank_ic_std": "RIC sd",
    "rank_icir": "RICIR", "rank_ic_pos": "RIC>0", "rank_ic_t_nw": "NW t(R)", "periods": "n",
    "total_return": "累计", "annual_return": "年化", "volatility": "波动", "max_drawdown": "回撤", "sharpe": "夏普",
    "information_ratio": "IR", "win_rate": "胜率", "excess_annual_return": "超额年化", "excess_max_drawdown": "超额回撤",
    "long_short_annual_return": "多空年化", "long_short_sharpe": "多空夏普",
}


@factor_app.command("list")
def list_(
    category: str = typer.Option(None, help="Only this category: price_volume, fundamental, flow, style."),
    set_name: str = typer.Option(None, "--set", help="Only this set: seed001 (table 4's 15) or seed002 (style)."),
) -> None:
    """Show every registered factor: category, level, direction, the data it needs and its formula."""
    from etfrot.factors import factor_sets, list_factors

    t = Table("name", "label", "category", "level", "dir", "needs", "formula", title="factors", show_lines=False)
    for s in list_factors(category, set_name):
        t.add_row(s.name, s.label, s.category, s.level, f"{s.direction:+d}", ", ".join(s.needs), s.formula)
    console.print(t)
    console.print("sets: " + "; ".join(f"{k} = {', '.join(v)}" for k, v in factor_sets().items()))


def _fmt(v, pct=False) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, str):
        return v
    return f"{100 * v:.2f}%" if pct else f"{v:.3f}"


def _print_table(df, title: str, pct_cols=()) -> None:
    t = Table(*(["factor"] + [HEADERS.get(c, c) for c in df.columns]), title=title)
    for name, row in df.iterrows():
        t.add_row(str(name), *[_fmt(row[c], c in pct_cols) for c in df.columns])
    console.print(t)


@factor_app.command("test")
def test(
    names: list[str] = typer.Argument(..., help="Factor names, a category, a set (seed001, seed002) or 'all'."),
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder."),
    universe: str = typer.Option("etf", help="etf | etf:screened | index | index:etf | industry | broad | style | stock | stock:csi300|csi500|csi1000|CODE"),
    freq: str = typer.Option("weekly", help="weekly | monthly (rebalance = last trading day of the period)."),
    horizon: int = typer.Option(None, help="Forward return horizon in trading days (default: to the next rebalance)."),
    quantiles: int = typer.Option(5, help="Number of quantile groups (5 or 10)."),
    start: str = typer.Option(None, help="First date (YYYY-MM-DD)."),
    end: str = typer.Option(None, help="Last date (YYYY-MM-DD)."),
    min_coverage: float = typer.Option(0.5, help="Minimum constituent weight share with a value (stock → index)."),
    out: Path = typer.Option(None, "--out", help="Folder for CSVs and report.html."),
) -> None:
    """Test factors: IC / Rank IC, regression t, quantile backtest, correlation; print and write a report."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from etfrot.data import Bundle
    from etfrot.evaluation import run_factor_tests
    from etfrot.factors import resolve_names

    b = Bundle.open(bundle)
    todo = resolve_names(names)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), console=console, transient=True) as prog:
        task = prog.add_task("computing factors", total=len(todo))
        rep = run_factor_tests(todo, b, universe=universe, freq=freq, horizon=horizon, quantiles=quantiles,
                               start=start, end=end, min_coverage=min_coverage,
                               progress=lambda n: prog.update(task, advance=1, description=f"computed {n}"))
    label = f"[bold red]{b.label}[/]" if b.is_synthetic else b.label
    s = rep.settings
    console.print(f"{label} · universe {s['universe']} ({s['codes']} codes, {s['level']} level) · {s['freq']} "
                  f"{s['start']} → {s['end']} · horizon {s['horizon']} · {s['quantiles']} groups from {s['quantile_start']}")
    syn = " (SYNTHETIC)" if b.is_synthetic else ""
    t4 = rep.table4().drop(columns=["category"])
    _print_table(t4, "Table 4 — t and IC statistics" + syn, pct_cols=("abs_t_gt2", "ic_pos", "rank_ic_pos"))
    pct5 = ("total_return", "annual_return", "volatility", "max_drawdown", "win_rate", "excess_annual_return",
            "excess_max_drawdown", "long_short_annual_return")
    _print_table(rep.table5(), "Table 5 — top-group quantile backtest vs universe equal weight" + syn, pct_cols=pct5)
    if not rep.correlation.empty and len(rep.correlation) <= 16:
        _print_table(rep.correlation, "Factor rank correlation" + syn)
    for n in rep.notes:
        console.print(f"[yellow]note:[/] {n}")
    if out is not None:
        from etfrot.evaluation.report import write_factor_report

        path = write_factor_report(rep, out, config={"names": todo, "bundle": str(bundle), **rep.settings},
                                   manifest={"data_hash": b.content_hash})
        console.print(f"report: {path}  (CSVs in {out})")
