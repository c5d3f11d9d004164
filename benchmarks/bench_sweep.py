"""Wall time and peak memory of a parameter sweep (issue 8 "Measure": a 56-cell sweep, N = 2..8 × 8 λ values).

Scenario: the ``regime_rotation`` strategy (or ``--strategy NAME``) on the seeded synthetic market
(``--size default``: 800 stocks, ~145 ETFs, 10 years), MMR selection, grid ``selection.n = 2..8`` ×
``selection.lam = 0.3, 0.4, …, 1.0`` (56 cells, each an ordinary run incl. both exclusion variants),
local process pool with ``--jobs`` 1 and 2. Every setting runs in a fresh Python process (cold: each
worker opens the bundle and computes the factor panels once, then reuses them for its later cells),
so the numbers include start-up (the first cell runs in the driver, which computes the factor panels;
forked workers inherit them). Peak memory = max RSS of the driver and of any one worker (shared
copy-on-write pages count in both).
Serial and parallel tables are checked to be identical.

    .venv/bin/python benchmarks/bench_sweep.py                     # default size, jobs 1 and 2
    .venv/bin/python benchmarks/bench_sweep.py --size small --jobs 2

Results go to benchmarks/results/sweep.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TMP = HERE / "results" / "tmp"
LAMS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]


def grid() -> dict:
    return {"selection.n": list(range(2, 9)), "selection.lam": LAMS}


def bundle_path(size: str) -> Path:
    from etfrot.data.synthetic import build_synthetic

    p = TMP / f"sweep_{size}_s1"
    if not (p / "manifest.json").exists():
        build_synthetic(p, size=size, seed=0, signal=1.0)
    return p


def child(args) -> None:
    """One timed sweep in this (fresh) process; prints a JSON line."""
    from etfrot.sweep import run_sweep

    base = {"strategy": args.strategy, "bundle": str(bundle_path(args.size)),
            "selection": {"method": "mmr", "n": 5, "lam": 0.5, "weighting": "alpha", "cap": 0.3}}
    t0 = time.perf_counter()
    table = run_sweep(base, grid(), jobs=args.child, progress=False)
    wall = time.perf_counter() - t0
    out = TMP / f"sweep_{args.size}_{args.strategy}_jobs{args.child}.csv"
    table.to_csv(out)
    rs, rc = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"jobs": args.child, "cells": len(table), "failed": int(table["error"].notna().sum()),
                      "wall_s": wall, "cell_s_median": float(table["seconds"].median()),
                      "cell_s_max": float(table["seconds"].max()),
                      "peak_rss_driver_mib": rs.ru_maxrss / 1024, "peak_rss_worker_mib": rc.ru_maxrss / 1024,
                      "csv": str(out)}))


def _md(df, fmt: str) -> str:
    """A pandas frame as a Markdown table (no tabulate dependency)."""
    cell = lambda v: fmt.format(v) if isinstance(v, float) else str(v)  # noqa: E731
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---:" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="default", choices=["small", "default", "large"])
    ap.add_argument("--strategy", default="regime_rotation")
    ap.add_argument("--jobs", default="1,2", help="comma-separated job counts to time")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    TMP.mkdir(parents=True, exist_ok=True)
    if args.child is not None:
        return child(args)
    t = time.perf_counter()
    bundle_path(args.size)  # build once, outside the timings
    build_s = time.perf_counter() - t
    rows = []
    load0 = os.getloadavg()[0]
    for j in [int(x) for x in args.jobs.split(",")]:
        r = subprocess.run([sys.executable, __file__, "--size", args.size, "--strategy", args.strategy, "--child", str(j)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"the timed sweep with jobs={j} failed:\n{r.stderr[-4000:]}")
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(rows[-1])
    import pandas as pd

    tabs = [pd.read_csv(r["csv"], index_col=0).drop(columns=["seconds"]) for r in rows]
    same = all(t.equals(tabs[0]) for t in tabs[1:])
    df = pd.DataFrame(rows).drop(columns=["csv"])
    cols = ["jobs", "cells", "failed", "wall_s", "cell_s_median", "cell_s_max", "peak_rss_driver_mib", "peak_rss_worker_mib"]
    df = df[cols]
    try:
        from rich.console import Console
        from rich.table import Table

        tb = Table(*cols, title=f"sweep of {args.strategy}, {args.size} synthetic bundle")
        for _, r in df.iterrows():
            tb.add_row(*[f"{v:.1f}" if isinstance(v, float) else str(v) for v in r])
        Console().print(tb)
    except ImportError:
        print(df.to_string())
    best = pd.read_csv(rows[0]["csv"], index_col=0)
    top = best.sort_values("annual_excess", ascending=False).head(5)[["selection.n", "selection.lam", "annual_excess",
                                                                        "information_ratio", "double:annual_excess"]]
    lines = [
        "# Parameter sweep: wall time and peak memory",
        "",
        f"`benchmarks/bench_sweep.py --size {args.size} --strategy {args.strategy}` — {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}.",
        "",
        f"Grid: `selection.n` = 2..8 × `selection.lam` = {LAMS} (MMR selection, alpha weights, cap 30 %) = "
        f"{rows[0]['cells']} cells, each an ordinary `{args.strategy}` run (both exclusion variants backtested). "
        "Each setting runs in a fresh process (cold start: the first cell, run in the driver, opens the bundle and "
        "computes the factor panels — the `cell_s_max` — and the forked workers inherit them). "
        f"Bundle build or open (not timed below): {build_s:.1f} s. Machine load average (1 min) before/after: "
        f"{load0:.1f} / {os.getloadavg()[0]:.1f} — on a shared machine a load above the core count slows "
        "the parallel setting most.",
        "",
        _md(df, "{:.1f}"),
        "",
        f"Serial and parallel tables identical: **{same}**.",
        "",
        "Best 5 cells by annual excess (SYNTHETIC data, in-sample — a sweep is not a validation):",
        "",
        _md(top, "{:.4f}"),
        "",
    ]
    res = HERE / "results" / "sweep.md"
    res.write_text("\n".join(lines), encoding="utf-8")
    print(f"serial == parallel: {same}; written {res}")


if __name__ == "__main__":
    main()
