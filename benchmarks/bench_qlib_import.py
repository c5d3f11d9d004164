"""Time, peak memory and rows per table of `etfrot data import-qlib`.

1. The shared real dump (../shared/data/real/qlib_cn_*): full import (``--repeat`` runs) and an incremental update
   (import of the dump cut at 2021-06-30, then the full dump into the same bundle: only the later days appended).
2. A generated full-market dump (SYNTHETIC values in qlib's format): ``--stocks`` stocks × ``--years`` years × 7 fields
   (open, high, low, close, volume, factor, amount) plus 100 indices; staggered listings, 10 % delisted early.

Each import runs in a fresh process, so its peak RSS (``ru_maxrss``) is its own. ``--write`` stores the tables in
benchmarks/results/qlib_import.md. Run: python benchmarks/bench_qlib_import.py [--skip-big] [--write]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

STEP = r"""
import json, resource, sys, time
from etfrot.data.qlib_import import import_qlib
t = time.perf_counter()
r = import_qlib(sys.argv[1], sys.argv[2])
print(json.dumps({"seconds": time.perf_counter() - t, "steps": r.timings, "rows": r.bundle.manifest["rows"],
                  "appended": r.appended_days, "caveats": r.bundle.caveats,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_import(src: Path, out: Path) -> dict:
    res = subprocess.run([sys.executable, "-c", STEP, str(src), str(out)], capture_output=True, text=True, check=False)
    if res.returncode:
        raise SystemExit(res.stderr[-3000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def generate(root: Path, n_stocks: int, years: int, n_index: int = 100, seed: int = 0) -> dict:
    """A qlib directory with random-walk series (SYNTHETIC) of the given size; returns its shape."""
    rng = np.random.default_rng(seed)
    cal = pd.bdate_range("2009-01-05", periods=int(years * 244))
    n = len(cal)
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text("".join(f"{d:%Y-%m-%d}\n" for d in cal))
    (root / "instruments").mkdir()
    sh = rng.random(n_stocks) < 0.5
    num = rng.choice(np.arange(1, 10000), n_stocks, replace=False)
    names = [f"SH{600000 + k}" if s else f"SZ{k:06d}" for s, k in zip(sh, num)]
    start = np.where(rng.random(n_stocks) < 0.6, 0, rng.integers(0, n - 250, n_stocks))
    stop = np.where(rng.random(n_stocks) < 0.1, rng.integers(start + 120, n), n)  # 10 % delisted early
    ret = rng.normal(0.0003, 0.02, (n, n_stocks)).astype(np.float32)
    adj = (10 * np.exp(np.cumsum(ret, axis=0))).astype(np.float32)
    fac = np.cumprod(np.where(rng.random((n, n_stocks)) < 0.004, 1.02, 1.0), axis=0).astype(np.float32)
    vol = rng.lognormal(14, 1, (n, n_stocks)).astype(np.float32)
    files = 0
    for j, name in enumerate(names):  # one folder per stock, one tofile per field
        d = root / "features" / name.lower()
        d.mkdir(parents=True)
        s, e = start[j], stop[j]
        a = adj[s:e, j]
        fields = {"open": a * 1.001, "high": a * 1.01, "low": a * 0.99, "close": a, "volume": vol[s:e, j],
                  "factor": fac[s:e, j], "amount": vol[s:e, j] * a / fac[s:e, j]}
        for f, v in fields.items():
            np.concatenate([[np.float32(s)], v.astype(np.float32)]).astype("<f4").tofile(d / f"{f}.day.bin")
            files += 1
    for k in range(n_index):
        d = root / "features" / f"sh{k:06d}"
        d.mkdir(parents=True)
        lv = (1000 * np.exp(np.cumsum(rng.normal(0, 0.012, n)))).astype(np.float32)
        for f, v in {"open": lv, "high": lv * 1.005, "low": lv * 0.995, "close": lv,
                     "volume": np.full(n, 1e9, np.float32), "factor": np.ones(n, np.float32)}.items():
            np.concatenate([[np.float32(0)], v]).astype("<f4").tofile(d / f"{f}.day.bin")
            files += 1
    rows = [f"{c}\t{cal[s]:%Y-%m-%d}\t{cal[e - 1]:%Y-%m-%d}" for c, s, e in zip(names, start, stop)]
    (root / "instruments" / "all.txt").write_text("\n".join(rows) + "\n")
    mem = rng.choice(n_stocks, min(300, n_stocks), replace=False)
    (root / "instruments" / "csi300.txt").write_text("\n".join(rows[i] for i in mem) + "\n")
    return {"days": n, "stocks": n_stocks, "indices": n_index, "files": files,
            "stock_days": int((stop - start).sum()), "bytes": sum(p.stat().st_size for p in root.rglob("*.bin"))}


def main() -> None:
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=str(here.parents[2] / "shared" / "data" / "real"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stocks", type=int, default=5000)
    ap.add_argument("--years", type=int, default=16)
    ap.add_argument("--skip-big", action="store_true")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    res: dict = {}
    dumps = sorted(Path(args.src).glob("qlib_cn_*"))
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        if dumps:
            from etfrot.data.qlib_import import cut_qlib

            runs = [run_import(dumps[0], d / f"real{i}") for i in range(args.repeat)]
            cut_qlib(dumps[0], d / "cut", "2021-06-30")
            first = run_import(d / "cut", d / "upd")
            upd = run_import(dumps[0], d / "upd")
            res["real"] = {"dump": dumps[0].name, "runs": runs, "cut_import": first, "update": upd}
        if not args.skip_big:
            t = time.perf_counter()
            shape = generate(d / "big", args.stocks, args.years)
            gen_s = time.perf_counter() - t
            big = run_import(d / "big", d / "bigb")
            res["big"] = {"shape": shape, "generate_s": gen_s, "run": big}
    print(json.dumps(res, indent=1))
    if args.write:
        (here.parent / "results" / "qlib_import.md").write_text(markdown(res, args))


def markdown(res: dict, args) -> str:
    L = ["# `etfrot data import-qlib`", "",
         (f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}, 2 cores (shared by "
          "several jobs). Each import in a fresh process (peak = its max RSS). Command: "
          "`python benchmarks/bench_qlib_import.py --write`."), ""]
    if "real" in res:
        r = res["real"]
        s = sorted(x["seconds"] for x in r["runs"])
        L += [f"## Shared real dump `{r['dump']}`", "",
              "| measure | value |", "|---|---:|",
              f"| full import, wall time (best / median / worst of {len(s)}) | {s[0]:.1f} s / {statistics.median(s):.1f} s / {s[-1]:.1f} s |",
              f"| peak memory | {max(x['peak_mib'] for x in r['runs']):,.0f} MiB |",
              f"| import of the dump cut at 2021-06-30 | {r['cut_import']['seconds']:.1f} s, {r['cut_import']['peak_mib']:,.0f} MiB |",
              (f"| update of that bundle with the full dump ({r['update']['appended']} days appended) | "
               f"{r['update']['seconds']:.1f} s, {r['update']['peak_mib']:,.0f} MiB |"),
              f"| steps of the last full import (s) | {', '.join(f'{k} {v:.1f}' for k, v in r['runs'][-1]['steps'].items())} |",
              "", ("Caveat written to the manifest: " + "; ".join(r["runs"][-1]["caveats"])), "",
              "| table | rows |", "|---|---:|"]
        L += [f"| {k} | {v:,} |" for k, v in r["runs"][-1]["rows"].items()]
        L.append("")
    if "big" in res:
        b, sh = res["big"]["run"], res["big"]["shape"]
        L += ["## Generated full-market dump (SYNTHETIC values, qlib format)", "",
              (f"{sh['stocks']:,} stocks × {sh['days']:,} days ({args.years} years) × 7 fields (open, high, low, close, "
               f"volume, factor, amount) + {sh['indices']} indices × 6 fields: {sh['files']:,} .bin files, "
               f"{sh['bytes'] / 2**20:,.0f} MiB, {sh['stock_days']:,} stock-days; 40 % listed during the window, "
               f"10 % delisted early. Generated in {res['big']['generate_s']:.0f} s (its files are then in the page cache). Run once."), "",
              "| measure | value |", "|---|---:|",
              f"| import, wall time | {b['seconds']:.0f} s ({b['seconds'] / 60:.1f} min) |",
              f"| peak memory | {b['peak_mib']:,.0f} MiB ({b['peak_mib'] / 1024:.2f} GiB) |",
              f"| steps (s) | {', '.join(f'{k} {v:.1f}' for k, v in b['steps'].items())} |", "",
              "| table | rows |", "|---|---:|"]
        L += [f"| {k} | {v:,} |" for k, v in b["rows"].items()]
        L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    main()
