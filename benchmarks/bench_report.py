"""Strategy report build time and size (issue 14 item 5): `backtest_sections` + `write_report` on a saved run.

``python benchmarks/bench_report.py setup`` builds the default synthetic bundle and a weekly top-5
momentum ETF backtest (runner, equal-weight benchmark) under ``--dir`` once.
``python benchmarks/bench_report.py time`` loads the saved result and builds its report ``--reps``
times after one warm-up build (imports, font cache; the exposure cache is emptied before each build),
printing one JSON line: the warm build times (wall)
and their median, the process CPU time of each build (``time.process_time``: this process's threads) and
its median, the CPU time of child processes per build (finished ones: ``RUSAGE_CHILDREN``; running ones: /proc), the load averages at the end, the HTML size and the size of all files written. Run it with ``PYTHONPATH`` pointing at
another checkout's ``src`` to time that version of the code on the same run (before / after).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

CONFIG = {
    "name": "bench momentum (SYNTHETIC)",
    "universe": {"kind": "etf", "categories": ["industry_theme"], "min_aum": 1.0e8, "min_listed_months": 3,
                 "one_per_index": True},
    "scores": {"source": "factor", "factors": ["mom250"]},
    "selection": {"method": "top_n", "n": 5},
    "frequency": "weekly",
    "benchmark": {"kind": "equal_weight", "rebalance": "weekly"},
}


def setup(d: Path) -> None:
    from etfrot.data import Bundle
    from etfrot.data.bundle import MANIFEST
    from etfrot.data.synthetic import build_synthetic
    from etfrot.strategies import runner

    b = Bundle.open(d / "bundle") if (d / "bundle" / MANIFEST).exists() else build_synthetic(d / "bundle", size="default", seed=0)
    runner.run(b, dict(CONFIG), d / "run")
    print(f"setup done: {d / 'run'}")


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's child processes: the finished ones (``RUSAGE_CHILDREN``)
    and, on Linux, the ones still running (a helper process that stays up between builds), from /proc."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = r.ru_utime + r.ru_stime
    me, tick = os.getpid(), os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:  # fields after the name: state, ppid, …, utime (12th), stime (13th)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def time_build(d: Path, reps: int) -> dict:
    import etfrot
    from etfrot.backtest.engine import Result
    from etfrot.data import Bundle
    from etfrot.report import write_report
    from etfrot.report.sections import backtest_sections

    res = Result.load(d / "run" / "result")
    bundle = Bundle.open(d / "bundle")
    kw = {"bundle": bundle} if "bundle" in inspect.signature(backtest_sections).parameters else {}
    try:
        from etfrot.report.tearsheet import _EXPOSURES as cache
    except ImportError:
        cache = None
    times, cpus, kids, html_size, all_size, n_img = [], [], [], 0, 0, 0
    for i in range(reps + 1):
        with tempfile.TemporaryDirectory() as out:
            if cache is not None:  # every build computes the industry exposure again (no reuse across builds)
                cache.clear()
            t, c, k = time.perf_counter(), time.process_time(), _children_cpu()
            secs = backtest_sections(res, title="bench", synthetic=True, **kw)
            p = write_report(out, title="bench", synthetic=True, data_label="SYNTHETIC DATA", sections=secs)
            dt, dc, dk = time.perf_counter() - t, time.process_time() - c, _children_cpu() - k
            if i:
                times.append(dt)
                cpus.append(dc)
                kids.append(dk)
            html = p.read_text()
            html_size = p.stat().st_size
            all_size = sum(f.stat().st_size for f in Path(out).rglob("*") if f.is_file())
            n_img = html.count("<img ")
    return {"etfrot": str(Path(etfrot.__file__).parent), "runs": [round(x, 3) for x in times],
            "median_s": round(statistics.median(times), 3),
            "cpu_s": [round(x, 3) for x in cpus], "cpu_median_s": round(statistics.median(cpus), 3),
            "children_cpu_median_s": round(statistics.median(kids), 3), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "html_bytes": html_size, "all_files_bytes": all_size,
            "charts": n_img}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["setup", "time"])
    ap.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "etfrot-bench-report")
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    if a.what == "setup":
        setup(a.dir)
    else:
        print(json.dumps(time_build(a.dir, a.reps)))


if __name__ == "__main__":
    main()
