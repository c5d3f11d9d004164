"""Lot-based vs weight-based engine speed (issue 15 "Measure"), and the capital sweep's table.

Speed scenario: the one of ``bench_backtest.py`` — 300 ETFs × 3000 trading days of seeded random-walk
prices (~10 CNY, used as raw prices too), weekly top 10 by 20-day momentum, equal weight, 5 bp per side;
the lot engine adds whole lots of 100 shares, a 5 CNY minimum fee and 1e6 CNY of capital (and, to check,
1e12 CNY: its NAV must equal the weight engine's). Warm timings, median of ``--reps`` runs.

Capital sweep: on a synthetic bundle (SYNTHETIC; ``etfrot data synth`` size ``--size``), a config-runner
strategy (20-day momentum top 10 weekly) with and without seed 000's "AUM < 1e8 excluded" rule, and the
AGRU demo strategy (seed 000 pipeline, small model) with and without it, through the lot engine at
1e5 … 1e9 CNY (lots of 100, 5 CNY minimum fee, each order capped at 20 % of the 20-day average amount).

    .venv/bin/python benchmarks/bench_lots.py                 # both parts
    .venv/bin/python benchmarks/bench_lots.py --speed-only
    .venv/bin/python benchmarks/bench_lots.py --sweep-only --no-agru

Writes benchmarks/results/backtest_lots.md and benchmarks/results/capacity.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def machine() -> str:
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared), "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")


def speed(reps: int) -> list[str]:
    from bench_backtest import FEE, TOP, D, N, make_data

    from etfrot.backtest import run_backtest
    from etfrot.backtest.lots import LotRules

    px, w = make_data()
    lots = LotRules(capital=1e6, lot_size=100, min_fee=5.0)
    runs = {
        "weight-based (default)": lambda: run_backtest(w, px, fee=FEE),
        "lot-based, 1e6 CNY, lots of 100, 5 CNY min fee": lambda: run_backtest(w, px, fee=FEE, lots=lots, raw_prices=px),
    }
    secs, res = {}, {}
    for name, fn in runs.items():
        res[name] = fn()  # warm-up
        secs[name] = []
        for _ in range(reps):
            t = time.perf_counter()
            fn()
            secs[name].append(time.perf_counter() - t)
    big = run_backtest(w, px, fee=FEE, lots=LotRules(capital=1e12, lot_size=100, min_fee=5.0), raw_prices=px)
    a = res["weight-based (default)"]
    gap = float(np.abs(big.nav.to_numpy() - a.nav.to_numpy()).max())
    base = float(np.median(secs["weight-based (default)"]))
    lot_res = res["lot-based, 1e6 CNY, lots of 100, 5 CNY min fee"]
    md = ["# Lot-based vs weight-based backtest engine", "",
          f"Measured by `benchmarks/bench_lots.py` on {time.strftime('%Y-%m-%d')}; machine: {machine()}.", "",
          (f"Scenario (as `bench_backtest.py`): {N} ETFs × {D} trading days of seeded random-walk prices, weekly top {TOP} "
          f"by 20-day momentum, equal weight, next close, {FEE * 1e4:.0f} bp per side; {len(w)} rebalances. "
          "SYNTHETIC prices (also used as the raw prices of the lot engine). Warm wall-clock times, "
          f"{reps} runs each, on a 2-core machine shared with other jobs."), "",
          "| engine | median s | min s | × weight-based | final NAV | mean cash after trading |", "|---|---:|---:|---:|---:|---:|"]
    for name in runs:
        s = secs[name]
        r = res[name]
        md.append(f"| {name} | {np.median(s):.3f} | {min(s):.3f} | {np.median(s) / base:.1f} | {r.nav.iloc[-1]:.6f} | "
                  f"{max(0.0, r.rebalances['cash_after'].mean()):.4%} |")
    md += ["", (f"* Lot engine at 1e12 CNY vs weight engine: max |ΔNAV| over {len(a.nav)} days = {gap:.2e} "
           "(the two agree as capital → ∞)."),
           (f"* Lot engine at 1e6 CNY: {int((lot_res.trades['status'] == 'traded').sum()):,} orders, total fees "
           f"{lot_res.trades['fee_cny'].sum():,.0f} CNY; orders at the 5 CNY minimum: "
           f"{(lot_res.trades['fee_cny'] <= 5.0 + 1e-9).mean():.1%}."),
           ("* The lot engine loops over the rebalances (each account depends on the lots bought before); its body is "
           "numpy over the assets. The weight engine is vectorised over rebalances except where a held asset cannot trade.")]
    print("\n".join(md))
    return md


def sweep(size: str, agru: bool) -> list[str]:
    from etfrot.data import Bundle
    from etfrot.data.synthetic import build_synthetic
    from etfrot.strategies import load_config
    from etfrot.strategies.capacity import CAPITALS, capital_sweep

    path = HERE / "results" / "tmp" / f"synth_{size}"
    b = Bundle.open(path) if (path / "manifest.json").exists() else build_synthetic(path, size=size, seed=0, signal=1.0)
    mom = {"strategy": "backtest", "name": "mom20 top-10 weekly", "bundle": str(path),
           "universe": {"kind": "etf", "min_aum": None}, "scores": {"source": "factor", "factors": ["mom20"]},
           "selection": {"method": "top_n", "n": 10}, "frequency": "weekly",
           "benchmark": {"kind": "total_return", "code": "000300.SH"}, "report": {"bootstrap": 50}}
    configs = {"mom20 top-10 weekly, all sizes": mom,
               "mom20 top-10 weekly, AUM < 1e8 excluded": {**mom, "universe": {"kind": "etf", "min_aum": 1e8}}}
    if agru:
        demo = load_config("agru_index_rotation_demo")
        demo["report"] = {"bootstrap": 50}
        configs["agru_index_rotation (demo model), all sizes"] = demo
        configs["agru_index_rotation (demo model), AUM < 1e8 excluded (seed 000 variant)"] = {
            **demo, "universe": {**demo["universe"], "min_aum": 1e8}}
    md = ["# Capacity: excess vs capital through the lot-based engine", "",
          f"Measured by `benchmarks/bench_lots.py` on {time.strftime('%Y-%m-%d')}; machine: {machine()}.", "",
          (f"**SYNTHETIC DATA** — the `{size}` synthetic bundle (seed 0, signal 1): a simulated market, its figures say "
          "nothing about real ETFs. Each strategy is run once (weight-based) for its target weights; the same weights "
          "then go through the lot engine at each capital: lots of 100 shares at the raw close, 5 CNY minimum fee, "
          "5 bp per side, each order capped at 20 % of the ETF's 20-day average traded amount (the rest waits, in cash). "
          "`inf` = the weight-based engine. Participation = order value / 20-day average amount."), ""]
    for name, cfg in configs.items():
        t0 = time.perf_counter()
        t = capital_sweep(b, cfg, CAPITALS, lot_size=100, min_fee=5.0, max_participation=0.2)
        el = time.perf_counter() - t0
        md += [f"## {name}", "", f"({el:.0f} s for the strategy run and {len(CAPITALS)} lot runs)", "",
               "| capital (CNY) | engine | annual return | annual excess | IR | cost drag / yr | mean cash | median participation | worst participation | orders capped |",
               "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for cap, r in t.iterrows():
            f = (lambda v: "" if pd.isna(v) else f"{v:.2%}")
            md.append(f"| {'inf' if not np.isfinite(cap) else f'{cap:.0e}'} | {r['engine']} | {f(r['annual_return'])} | "
                      f"{f(r['annual_excess'])} | {r['information_ratio']:.2f} | {f(r['cost_drag'])} | {f(max(0.0, r['mean_cash']))} | "
                      f"{f(r['median_participation'])} | {f(r['worst_participation'])} | {f(r['orders_capped'])} |")
        th = t.attrs["thresholds"]
        md += ["", ("Capital (CNY) at which a trade of the weight-based run reaches a share of the 20-day average amount "
               "(trades scale with capital; `etfrot.backtest.capacity`):"), "",
               "| trade | 5 % of amount20 | 20 % of amount20 | 5 % of fund size | 20 % of fund size |", "|---|---:|---:|---:|---:|"]
        for stat, r in th.iterrows():
            md.append(f"| {stat} | " + " | ".join(f"{v:,.3g}" for v in r.to_numpy()) + " |")
        md.append("")
        print("\n".join(md[-len(t) - 14:]), flush=True)
    return md


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--size", default="default", choices=["small", "default", "large"])
    ap.add_argument("--speed-only", action="store_true")
    ap.add_argument("--sweep-only", action="store_true")
    ap.add_argument("--no-agru", action="store_true")
    a = ap.parse_args()
    out = HERE / "results"
    if not a.sweep_only:
        (out / "backtest_lots.md").write_text("\n".join(speed(a.reps)) + "\n", encoding="utf-8")
    if not a.speed_only:
        (out / "capacity.md").write_text("\n".join(sweep(a.size, not a.no_agru)) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
