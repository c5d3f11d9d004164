"""`etfrot demo` and `etfrot signal`."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import typer
from rich.console import Console

from etfrot.cli.app import app, print_frame

console = Console()


@app.command("demo")
def demo(
    out: Path = typer.Option(Path("etfrot-demo"), "--out", help="Folder for the bundle, the reports and the tables."),
    size: str = typer.Option("default", help="Synthetic market size: small | default | large."),
    seed: int = typer.Option(0, help="Seed of the synthetic market."),
    bundle: Path | None = typer.Option(None, help="Use this bundle instead of building the synthetic one."),
) -> None:
    """Synthetic market → the three strategies → one comparison report (no network, a few minutes on 2 cores)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from etfrot.demo import run_demo

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as p:
        task = p.add_task("demo", total=None)
        res = run_demo(out, bundle=bundle, size=size, seed=seed, progress=lambda m: p.update(task, description=m))
    _print_result(res)


def _print_result(res) -> None:
    """Summary (metrics × strategies) and the latest picks of a demo / compare run."""
    if res.synthetic:
        console.print("[bold white on red] SYNTHETIC DATA [/] every figure below comes from a simulated market")
    s = res.summary
    rows = {
        "benchmark": s["benchmark"],
        "annual return": s["annual_return"].map(_pct),
        "annual excess (relative NAV)": s["annual_excess"].map(_pct),
        "  95 % CI": [f"{_pct(lo)} … {_pct(hi)}" for lo, hi in zip(s["annual_excess_ci_lo"], s["annual_excess_ci_hi"])],
        "information ratio": s["information_ratio"].map(lambda v: f"{v:.2f}"),
        "max drawdown": s["max_drawdown"].map(_pct),
        "win rate per period": s["win_rate"].map(_pct),
        "run time": s["run seconds"].map(lambda v: f"{v:.0f} s"),
    }
    print_frame(pd.DataFrame(rows).T.rename_axis("metric"), "Summary" + (" (SYNTHETIC)" if res.synthetic else ""))
    for name, picks in res.picks.items():
        d = picks["signal_date"].max() if len(picks) else None
        shown = picks.set_index("code").drop(columns=["signal_date"]).rename(columns={"target": "weight"})
        if "rank" in shown:
            shown["rank"] = shown["rank"].astype("Int64")
        print_frame(shown, f"Latest picks — {name}" + (f" (signal {d:%Y-%m-%d})" if d is not None else "")
               + (" (SYNTHETIC)" if res.synthetic else ""))
    console.print(f"report: [bold]{res.report}[/] (open it in a browser; each strategy's own report is linked)")



@app.command("compare")
def compare(
    configs: list[str] = typer.Argument(..., help="Strategy configs (YAML paths or shipped names, e.g. regime_rotation_real)."),
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder (e.g. one built by `etfrot data build-real`)."),
    out: Path = typer.Option(Path("runs/compare"), "--out", help="Folder for the comparison and each strategy's report."),
    oos_start: str | None = typer.Option(None, "--oos-start", help="First out-of-sample day, reported apart (e.g. 2021-01-01)."),
) -> None:
    """Run several strategy configs on one bundle and write a side-by-side report (with an out-of-sample split)."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from etfrot.config import read_yaml
    from etfrot.data import Bundle
    from etfrot.demo import run_compare

    b = Bundle.open(bundle)
    cfgs = {Path(c).stem: read_yaml(c) for c in configs}
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console, transient=True) as p:
        task = p.add_task("compare", total=None)
        res = run_compare(b, cfgs, out, oos_start=oos_start, title=f"{len(cfgs)} strategies on {b.label}",
                          progress=lambda m: p.update(task, description=m))
    _print_result(res)


@app.command("signal")
def signal(
    config: str = typer.Argument(..., help="A strategy config: YAML path or shipped name (e.g. cluster_multifactor)."),
    bundle: Path = typer.Option(..., "--bundle", help="Bundle folder."),
    date: str | None = typer.Option(None, help="Signal date (default: the latest trading day of the bundle)."),
    out: Path | None = typer.Option(None, "--out", help="Folder for picks.csv / picks.json (and orders.csv with --capital)."),
    capital: float | None = typer.Option(None, "--capital", help="Account value in CNY (holdings at the last close + cash): print the orders."),
    holdings: Path | None = typer.Option(None, "--holdings", help="Current holdings, a CSV with header code,shares."),
    lot_size: int | None = typer.Option(None, "--lot-size", help="Shares per lot (default: the config's execution.lot_size, else 100)."),
    min_fee: float | None = typer.Option(None, "--min-fee", help="Minimum fee per order in CNY (default: the config's costs.min_fee if set, else 5)."),
) -> None:
    """This period's picks for a strategy: codes, names, weights and the factor ranks / scores behind them;
    with --capital also the orders in whole lots that get the account there, and the cash left."""
    from etfrot.config import read_yaml
    from etfrot.data import Bundle
    from etfrot.signal import current_orders, current_picks

    b = Bundle.open(bundle)
    synth = " (SYNTHETIC)" if b.is_synthetic else ""
    picks = current_picks(b, config, date)
    title = f"Picks on {picks.attrs['date']:%Y-%m-%d} — {picks.attrs['strategy']}" + synth
    print_frame(picks, title)
    orders = None
    if holdings is not None and capital is None:
        raise typer.BadParameter("--holdings needs --capital (the account's total value in CNY)", param_hint="--capital")
    if capital is not None:
        from etfrot.portfolio.orders import read_holdings

        raw = read_yaml(config)
        ex = raw.get("execution") if isinstance(raw.get("execution"), dict) else {}
        costs = raw.get("costs") or {}
        held = read_holdings(holdings) if holdings is not None else None
        orders = current_orders(b, picks, capital, held, lot_size=lot_size or ex.get("lot_size") or 100,
                                fee=costs.get("fee_per_side", 0.0005), slippage=costs.get("slippage", 0.0),
                                min_fee=min_fee if min_fee is not None else (costs.get("min_fee") or 5.0),
                                stamp_duty=costs.get("stamp_duty", 0.0), date=date)
        shown = orders.table.set_index("code").drop(columns=["lots"])
        print_frame(shown, f"Orders for {capital:,.0f} CNY at the close of {orders.table.attrs['price_date']:%Y-%m-%d}" + synth)
        console.print(f"cash left: {orders.cash:,.2f} CNY; fees {orders.fees:,.2f} CNY. Rounding: {orders.rule}.")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        picks.to_csv(out / "picks.csv")
        picks.reset_index().to_json(out / "picks.json", orient="records", force_ascii=False, indent=2)
        wrote = [out / "picks.csv", out / "picks.json"]
        if orders is not None:
            tbl = orders.table.copy()
            if b.is_synthetic:
                tbl.insert(0, "data", "SYNTHETIC")
            tbl.to_csv(out / "orders.csv", index=False)
            (out / "orders_summary.json").write_text(json.dumps(
                {"capital": orders.capital, "cash_left": orders.cash, "fees": orders.fees, "rule": orders.rule,
                 "price_date": f"{orders.table.attrs['price_date']:%Y-%m-%d}", "synthetic": b.is_synthetic},
                indent=2, ensure_ascii=False))
            wrote += [out / "orders.csv", out / "orders_summary.json"]
        console.print("wrote " + ", ".join(str(p) for p in wrote))


def _pct(v) -> str:
    return "" if pd.isna(v) else f"{100 * v:.2f}%"
