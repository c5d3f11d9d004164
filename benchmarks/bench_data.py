"""Time and peak memory of `etfrot data synth --size default` and of opening the bundle + loading the ETF close panel.

Run: python benchmarks/bench_data.py [--size default]   (each step in a fresh process, so peak RSS is its own)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

STEP = r"""
import json, resource, sys, time
t = time.perf_counter()
if sys.argv[1] == "synth":
    from etfrot.data.synthetic import build_synthetic
    b = build_synthetic(sys.argv[2], size=sys.argv[3], seed=0)
    extra = {"rows": sum(b.manifest["rows"].values())}
else:
    from etfrot.data import Bundle
    b = Bundle.open(sys.argv[2])
    p = b.panel("etf_bars", "close", adjusted=True)
    extra = {"panel": list(p.shape)}
print(json.dumps({"seconds": time.perf_counter() - t, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **extra}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="default")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        path = f"{d}/bundle"
        rows = []
        for step in ("synth", "open+etf close panel"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", STEP, step.split("+")[0], path, args.size], capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            res["wall_s_incl_imports"] = time.perf_counter() - t
            rows.append((step, res))
    print(f"size={args.size}")
    for step, r in rows:
        print(f"{step:24s} {r['seconds']:7.2f} s (wall incl. imports {r['wall_s_incl_imports']:.2f} s)  peak RSS {r['peak_mib']:8.0f} MiB  {({k: v for k, v in r.items() if k in ('rows', 'panel')})}")


if __name__ == "__main__":
    main()
