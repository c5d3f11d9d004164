"""Speed-ups of the parallel backends (issue 14 "Measure"): a 100-cell sweep and a 5-seed model fit,
serial vs the local process pool (2 workers) vs a local Ray (``num_cpus=2``).

Scenarios (SYNTHETIC data, built once outside the timings):

* sweep — ``regime_rotation`` on the seeded synthetic market (``--size``, default ``default``: 800
  stocks, ~145 ETFs, 10 years), MMR selection, grid ``selection.n`` = 2..11 × ``selection.lam`` =
  0.1..1.0 = 100 cells, each an ordinary run (both exclusion variants backtested);
* model — ``etfrot model train``'s fits (:func:`etfrot.model.parallel.fit_variants`): AGRU, 5 seeds,
  fixed split (train ≤ 2014-12-31, valid ≤ 2015-06-30) on the ``small`` synthetic bundle, hidden 16,
  1 layer, 3 epochs, every 2nd training date, 1 torch thread per fit.

Every setting runs in a fresh Python process, so each includes its start-up: the process pool forks
after the driver opened the bundle (sweep: after the first cell computed the factor panels), Ray
workers start cold and each computes what it needs once. For Ray, ``ray.init`` (starting the local
Ray) is timed apart and excluded from ``run_s`` (on a cluster it happens once per session); ``wall_s``
includes it. The results of every backend are checked to be identical to the serial run.

    .venv/bin/python benchmarks/bench_ray.py                    # both scenarios, all three backends
    .venv/bin/python benchmarks/bench_ray.py --what model --backends serial,ray

Results go to benchmarks/results/ray.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TMP = HERE / "results" / "tmp"
GRID = {"selection.n": list(range(2, 12)), "selection.lam": [round(0.1 * k, 1) for k in range(1, 11)]}
MODEL = {"hidden_size": 16, "num_layers": 1, "seeds": 5, "epochs": 3, "patience": 3, "train_date_stride": 2,
         "valid_date_stride": 2, "num_threads": 1, "device": "cpu"}
SPLIT = {"scheme": "fixed", "train_end": "2014-12-31", "valid_end": "2015-06-30"}
WORKERS = 2


def bundle_path(size: str) -> Path:
    from etfrot.data.synthetic import build_synthetic

    p = TMP / f"ray_{size}_s1"
    if not (p / "manifest.json").exists():
        build_synthetic(p, size=size, seed=0, signal=1.0)
    return p


def _start(backend: str) -> float:
    """Start a local Ray for the ray backend; seconds it took (0 otherwise)."""
    if backend != "ray":
        return 0.0
    import ray

    t = time.perf_counter()
    ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False)
    return time.perf_counter() - t


def child(what: str, backend: str, size: str) -> None:
    """One timed run in this (fresh) process; prints a JSON line."""
    t_all = time.perf_counter()
    init_s = _start(backend)
    load0 = os.getloadavg()[0]
    out = TMP / f"ray_{what}_{backend}.parquet"
    if what == "sweep":
        from etfrot.sweep import run_sweep

        base = {"strategy": "regime_rotation", "bundle": str(bundle_path(size)),
                "selection": {"method": "mmr", "n": 5, "lam": 0.5, "weighting": "alpha", "cap": 0.3}}
        t = time.perf_counter()
        table = run_sweep(base, GRID, jobs=1 if backend == "serial" else WORKERS, backend=backend, progress=False)
        run_s = time.perf_counter() - t
        table.drop(columns=["seconds"]).to_parquet(out)
        extra = {"tasks": len(table), "failed": int(table["error"].notna().sum()),
                 "task_s_median": float(table["seconds"].median())}
    else:
        from etfrot.data import Bundle
        from etfrot.model.config import ModelConfig, SplitConfig, WindowConfig
        from etfrot.model.parallel import fit_variants

        b = Bundle.open(bundle_path("small"))
        t = time.perf_counter()
        run = fit_variants(b, {"agru": ModelConfig(**MODEL)}, WindowConfig(), SplitConfig(**SPLIT), backend=backend,
                           jobs=WORKERS, progress=False)["agru"]
        run_s = time.perf_counter() - t
        run.scores.to_parquet(out)
        extra = {"tasks": MODEL["seeds"], "failed": 0, "task_s_median": float("nan")}
    print(json.dumps({"what": what, "backend": backend, "workers": 1 if backend == "serial" else WORKERS,
                      "init_s": init_s, "run_s": run_s, "wall_s": time.perf_counter() - t_all, **extra,
                      "load_before": load0, "load_after": os.getloadavg()[0], "out": str(out)}))


def _md(rows: list[dict], cols: list[str]) -> str:
    def cell(v):
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(cols) + " |"
    sep = "|" + "|".join("---:" for _ in cols) + "|"
    return "\n".join([head, sep, *("| " + " | ".join(cell(r[c]) for c in cols) + " |" for r in rows)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--what", default="sweep,model", help="comma-separated: sweep, model")
    ap.add_argument("--backends", default="serial,process,ray")
    ap.add_argument("--size", default="default", choices=["small", "default", "large"], help="sweep bundle size")
    ap.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    TMP.mkdir(parents=True, exist_ok=True)
    if args.child is not None:
        return child(args.child[0], args.child[1], args.size)
    import pandas as pd

    bundle_path(args.size), bundle_path("small")  # built once, outside the timings
    rows = []
    for what in args.what.split(","):
        for backend in args.backends.split(","):
            r = subprocess.run([sys.executable, __file__, "--size", args.size, "--child", what, backend],
                               check=False, capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"the timed {what} on {backend} failed:\n{r.stderr[-4000:]}")
            rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    store = TMP / "ray_rows.json"  # earlier runs of the other scenario stay in the report
    kept = [r for r in (json.loads(store.read_text()) if store.exists() else []) if r["what"] not in args.what.split(",")]
    for what in args.what.split(","):
        rs = [r for r in rows if r["what"] == what]
        ref = next((r for r in rs if r["backend"] == "serial"), rs[0])
        base = pd.read_parquet(ref["out"])
        for r in rs:
            r["same_as_serial"] = pd.read_parquet(r["out"]).equals(base)
            r["speedup"] = ref["run_s"] / r["run_s"]
            r["speedup_wall"] = ref["wall_s"] / r["wall_s"]
    cols = ["backend", "workers", "tasks", "failed", "init_s", "run_s", "wall_s", "speedup", "speedup_wall",
            "load_before", "load_after", "same_as_serial", "date"]
    for r in rows:
        r["speedup"], r["speedup_wall"] = round(r["speedup"], 2), round(r["speedup_wall"], 2)
        r["date"] = time.strftime("%Y-%m-%d %H:%M")
    rows = kept + rows
    store.write_text(json.dumps(rows))
    lines = ["# Parallel backends: serial vs local process pool vs local Ray", "",
             (f"`benchmarks/bench_ray.py --size {args.size}` — {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores shared with other jobs, Python {platform.python_version()}, "
             f"{time.strftime('%Y-%m-%d')}. SYNTHETIC data. Scenarios, and what is timed: the script's docstring. "
             "`run_s`: the sweep / the fits alone; `wall_s`: the whole fresh process incl. imports and, for Ray, "
             "`init_s` (starting the local Ray). Speed-ups are serial / backend. `load_*`: 1-minute load average "
             "just before and after the run — above the core count the other jobs on the machine take CPU from "
             "the parallel settings most."), ""]
    for what, title in (("sweep", f"100-cell sweep of regime_rotation ({args.size} bundle)"),
                        ("model", "5-seed AGRU fit (small bundle)")):
        rs = [r for r in rows if r["what"] == what]
        if rs:
            lines += [f"## {title}", "", _md(rs, cols), ""]
    md = HERE / "results" / "ray.md"
    old = md.read_text() if md.exists() else ""
    notes = old[old.index("## Notes"):] if "## Notes" in old else ""  # hand-written notes survive a rerun
    md.write_text("\n".join(lines) + ("\n" + notes if notes else ""))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
