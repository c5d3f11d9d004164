"""Time, peak memory, size on disk and row counts of `etfrot data build-real` on ../shared/data/real.

Run: python benchmarks/bench_real_bundle.py [--src ../shared/data/real] [--repeat 3] [--write]
Each build runs in a fresh process, so its peak RSS is its own; --write stores the table in
benchmarks/results/real_bundle.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

STEP = r"""
import json, resource, sys, time
t = time.perf_counter()
if sys.argv[1] == "build":
    from etfrot.data.real import build_real
    r = build_real(sys.argv[2], sys.argv[3])
    out = {"steps": r.timings, "rows": r.bundle.manifest["rows"], "rules": len(r.report.rows),
           "readme_rules": int(r.report.frame()["readme"].sum())}
else:
    from etfrot.data import Bundle
    b = Bundle.open(sys.argv[3])
    b.validate()
    t1 = time.perf_counter()
    p = b.panel("etf_bars", "close", adjusted=True)
    s = b.panel("stock_bars", "close", adjusted=True)
    out = {"validate_s": t1 - t, "panels_s": time.perf_counter() - t1, "etf_panel": list(p.shape),
           "stock_panel": list(s.shape)}
out.update(seconds=time.perf_counter() - t, peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
print(json.dumps(out))
"""


def _du(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def main() -> None:
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=str(here.parents[2] / "shared" / "data" / "real"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "bundle"
        for _ in range(args.repeat):
            res = subprocess.run([sys.executable, "-c", STEP, "build", args.src, str(out)], capture_output=True,
                                 text=True, check=True)
            runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
        size, nfiles = _du(out)
        tables = sum(p.stat().st_size for p in out.glob("data-*/*.parquet"))
        src_size, _ = _du(Path(args.src))
        res = subprocess.run([sys.executable, "-c", STEP, "open", args.src, str(out)], capture_output=True, text=True,
                             check=True)
        opened = json.loads(res.stdout.strip().splitlines()[-1])
    secs = sorted(r["seconds"] for r in runs)
    best = min(runs, key=lambda r: r["seconds"])
    peak = max(r["peak_mib"] for r in runs)
    lines = [
        "# Real bundle: `etfrot data build-real ../shared/data/real`",
        "",
        f"Machine: {platform.machine()}, {platform.system()}, Python {platform.python_version()}, "
        f"{subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores (shared). "
        f"Each build in a fresh process; {args.repeat} runs. Command: `python benchmarks/bench_real_bundle.py --write`.",
        "",
        "| measure | value |",
        "|---|---:|",
        f"| full build, wall time (best / median / worst of {len(secs)}) | {secs[0]:.1f} s / {secs[len(secs) // 2]:.1f} s / {secs[-1]:.1f} s |",
        f"| peak memory (max RSS of the build process) | {peak:,.0f} MiB |",
        f"| source folder on disk | {src_size / 2**20:.1f} MiB |",
        f"| bundle on disk (Parquet/zstd tables) | {tables / 2**20:.1f} MiB |",
        f"| bundle folder incl. quality report and crosswalks ({nfiles} files) | {size / 2**20:.1f} MiB |",
        f"| open + full validation | {opened['validate_s']:.1f} s |",
        f"| ETF + stock adjusted close panels ({opened['etf_panel'][0]}×{opened['etf_panel'][1]}, "
        f"{opened['stock_panel'][0]}×{opened['stock_panel'][1]}) | {opened['panels_s']:.1f} s |",
        f"| quality-report rules (of which README defects) | {best['rules']} ({best['readme_rules']}) |",
        "",
        "## Rows per table",
        "",
        "| table | rows |",
        "|---|---:|",
        *[f"| {k} | {v:,} |" for k, v in best["rows"].items()],
        f"| **total** | **{sum(best['rows'].values()):,}** |",
        "",
        "## Time per step (best run)",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {k} | {v:.2f} |" for k, v in best["steps"].items()],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        dst = here.parent / "results" / "real_bundle.md"
        dst.parent.mkdir(exist_ok=True)
        dst.write_text(text)
        print(f"written to {dst}")


if __name__ == "__main__":
    main()
