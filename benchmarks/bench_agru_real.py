"""Real-scale run of the shipped ``agru_stock_real`` config on the imported qlib dump → a section of agru.md.

    .venv/bin/python benchmarks/bench_agru_real.py --bundle B --run RUN [--seeds 1 --stride 5 --epochs 6 ...]

Trains (unless RUN already holds scores) with ``etfrot model train agru_stock_real --set …`` (the budget is
stated in the section), timed by GNU time when present (wall, peak RSS of the main process; the workers' own
peaks and per-epoch wall times come from the run's history.csv), rebuilds the tests with ``etfrot model report``
(factor tests, seed 000 tables, test IC) and writes the section "Real scale: agru_stock_real …" of
``benchmarks/results/agru.md`` from the run's CSV outputs. ``--time-log LOG`` reads wall time and peak RSS from
an earlier ``/usr/bin/time -v`` log instead of training again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
HEADINGS = {"agru_stock_real": "## Real scale: agru_stock_real on the imported qlib dump, train ≤ 2017, valid 2018, "
                               "test 2019–2022",
            "agru_stock_real_walk_forward": "## Real scale, walk-forward: agru_stock_real_walk_forward on the imported "
                                            "qlib dump, yearly retraining, test 2019–2022"}
SPLITS = {"agru_stock_real": "fixed split: train ≤ 2017, valid 2018 (early stopping), test 2019–2022",
          "agru_stock_real_walk_forward": "walk-forward: one model per test year 2019–2022, trained on all earlier "
                                          "years but the last, validated on that one"}


def overrides(a) -> list[str]:
    comp = [c for c in a.compare.split(",") if c]
    return [f"model.seeds={a.seeds}", f"model.epochs={a.epochs}", f"model.patience={a.patience}",
            f"model.train_date_stride={a.stride}", f"model.valid_date_stride={a.valid_stride}",
            f"model.num_threads={a.threads}"] + ([] if comp == ["gru", "mse"] else [f"evaluate.compare=[{','.join(comp)}]"])


def _sets(a) -> list[str]:
    return [x for s in overrides(a) for x in ("--set", s)]


def train(a, log: Path) -> None:
    cmd = [sys.executable, "-m", "etfrot", "model", "train", a.config, "--bundle", a.bundle, "--out", a.run,
           "--backend", "process", "--jobs", str(a.jobs), *_sets(a)]
    gnu = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    t0 = time.perf_counter()
    with open(log, "w") as f:
        subprocess.run(([gnu, "-v"] if gnu else []) + cmd, stdout=f, stderr=subprocess.STDOUT, check=True, cwd=ROOT)
    Path(a.run, "bench_wall.json").write_text(json.dumps({"wall_s": time.perf_counter() - t0}))


def time_log(log: Path) -> dict:
    """Wall seconds and peak RSS (GiB) from a ``/usr/bin/time -v`` log (None where absent)."""
    txt = log.read_text() if log.exists() else ""
    out = {"wall_s": None, "peak_gib": None}
    m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", txt)
    if m:
        parts = [float(x) for x in m.group(1).split(":")]
        out["wall_s"] = sum(v * 60 ** i for i, v in enumerate(reversed(parts)))
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
    if m:
        out["peak_gib"] = int(m.group(1)) / 2**20
    return out


def section(a, timing: dict) -> str:
    from bench_agru import _md_table

    from etfrot.data import Bundle
    from etfrot.model.seed000 import comparison_table

    run = Path(a.run)
    n_stocks = Bundle.open(a.bundle).table("stock_bars")["code"].nunique()
    hist = pd.read_csv(run / "history.csv")
    tic = pd.read_csv(run / "test_ic.csv", index_col=0)
    ft = pd.read_csv(run / "factor_tests.csv")
    inf = pd.read_csv(run / "seed000_tables.csv")
    by = ["variant", "seed"] if hist["seed"].nunique() > 1 else ["variant"]  # a row per fit
    per = hist.groupby(by).agg(epochs=("epoch", "max"), best_epoch=("best_epoch", "first"),
                               best_valid_rank_ic=("valid_rank_ic", "max"), train_min=("seconds", "sum"),
                               s_per_epoch=("seconds", "mean"), peak_rss_mib=("peak_rss_mib", "max"))
    per["train_min"] = per["train_min"] / 60
    wall = timing.get("wall_s")
    peak = timing.get("peak_gib")
    load = os.getloadavg()
    stride = ("every training date (as the config)" if a.stride == 1 else
              f"training-date stride {a.stride} (every {a.stride}-th date; the config: every date; a stride loses signal: "
              "on the split of the section \"Training-date stride\" (bench_agru_stride.py) every 5th date gave 0.0135 "
              "less test Rank IC than every date, t 2.2 — so these numbers understate the model)")
    budget = (f"{a.seeds} seed(s) per model (the config: 5; the prediction is the mean of the seeds'), {stride}, "
              f"≤ {a.epochs} epochs with patience {a.patience} (the config: 50 / 5), validation-date "
              f"stride {a.valid_stride} for early stopping, CPU, {a.jobs} worker processes × "
              f"{a.threads} thread")
    cmd = (f"`etfrot data import-qlib ../shared/data/real/qlib_cn_2014_2022 --out B --members "
           f"../shared/data/real/index_membership_qlib` then `etfrot model train {a.config} --bundle B --out RUN "
           f"--backend process --jobs {a.jobs} {' '.join('--set ' + s for s in overrides(a))}` (what "
           f"`benchmarks/bench_agru_real.py --config {a.config} --bundle B --run RUN` runs); {SPLITS[a.config]}")
    cols = ["model", "pool", "ic_mean", "icir", "ic_t_nw", "ic_win_rate", "long_excess_annual",
            "long_excess_max_drawdown", "long_ir", "long_short_annual", "long_short_sharpe", "periods",
            "stocks_per_date"]
    md = [HEADINGS[a.config], "",
          (f"{cmd}. Budget (sized to this shared 2-core machine): {budget}"
          + (f", {hist['fold'].nunique()} folds" if "fold" in hist and hist["fold"].nunique() > 1 else "") + ". "
          + (f"{a.note} " if getattr(a, "note", "") else "")
          + f"Data: {n_stocks:,} stocks (the dump's CSI 300/500 members of its window); pools all / CSI 300 / CSI 500 point-in-time "
          "from `index_membership_qlib`. The dump has no amount and no VWAP: the model's VWAP input is the close. No "
          "delisted stock is in the dump (survivorship bias; its README: 90 of the 1,434 members of the period are "
          "absent), and no ST flag (excluding ST excludes nothing)."), "",
          (f"Wall time: {wall / 60:.1f} min in total" if wall else "Wall time: not recorded")
          + (f"; peak RSS of the main process {peak:.2f} GiB (GNU time)" if peak else "")
          + f"; load average {load[0]:.1f} when this section was written (a shared machine). Per model (training incl. validation passes, "
          "from history.csv; peak RSS of its worker process):", "",
          _md_table(per.round(4)), "",
          "Test IC against the standardised 20-day forward return (all test rebalance dates, weekly ∪ monthly):", "",
          _md_table(tic[["ic_mean", "icir", "rank_ic_mean", "rank_icir", "rank_ic_t_nw", "dates"]]), "",
          ("Seed 000 §2 tables: monthly, 10 equal-weight groups, stocks suspended / ST / at a limit on the rebalance date "
          "excluded; long = top group vs the pool's equal weight:"), "",
          _md_table(ft[cols].set_index(["model", "pool"])), "",
          ("Beside seed 000's published figures — ours: estimate [95 % block-bootstrap CI] and Newey–West t of the mean "
          "(lags ⌊4(n/100)^(2/9)⌋); the seed's column blank where it publishes none. Its plain-MSE AGRU / GRU "
          "comparison sits beside our mse / gru rows (our GRU uses the 2/1 loss):"), "",
          _md_table(comparison_table(inf)), "",
          _reading(per, inf, a), "",
          ("Caveats next to the numbers: a different window (ours 2019–2022, the seed's index tests 2020–2025; its stock "
          f"window is not stated), a universe of {n_stocks:,} large and mid caps instead of all A-shares, survivorship "
          f"bias, no VWAP, no ST flags, {a.seeds} seed(s) "
          + ("" if a.stride == 1 else f"and every {a.stride}-th training date ") + "instead of 5 seeds on "
          "every date: the levels are not comparable with the seed's, and "
          f"{int(ft['periods'].max())} monthly periods leave wide intervals (see the CIs).")]
    return "\n".join(md)


def _reading(per: pd.DataFrame, inf: pd.DataFrame, a) -> str:
    """Facts read off the tables: which fits hit the epoch cap, which IC means have a CI above 0."""
    capped = sorted({(v[0] if isinstance(v, tuple) else v) for v, r in per.iterrows() if r["epochs"] >= a.epochs})
    ic = inf[inf["metric"] == "ic_mean"]
    sig = [f"{r.model}/{r.pool}" for r in ic.itertuples() if r.ci_lo > 0]
    return ("Reading: " + (f"{', '.join(capped)} ran to the epoch cap ({a.epochs}) — the cap, not early stopping, ended "
                           "them, so they are under-trained at this budget; " if capped else "every fit stopped early; ")
            + ("IC means whose 95 % CI lies above 0: " + ", ".join(sig) if sig else "no IC mean has a 95 % CI above 0")
            + ". The first table's ic_t_nw uses 0 lags (non-overlapping monthly returns); the comparison's t uses "
            f"{int(ic['nw_lags'].max())} lags.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="agru_stock_real", choices=sorted(HEADINGS))
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--stride", type=int, default=5)
    ap.add_argument("--valid-stride", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--patience", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compare", default="gru,mse", help="variants beside agru (comma list; '' = agru alone)")
    ap.add_argument("--note", default="", help="a sentence added to the budget paragraph (e.g. how the run went)")
    ap.add_argument("--time-log", help="a /usr/bin/time -v log of the training run (else RUN/train.log)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "agru.md"))
    a = ap.parse_args()
    run = Path(a.run)
    log = Path(a.time_log) if a.time_log else run.with_name(run.name + "_train.log")
    if not (run / "scores" / "agru.parquet").exists():
        run.mkdir(parents=True, exist_ok=True)
        train(a, log)
    subprocess.run([sys.executable, "-m", "etfrot", "model", "report", a.config, "--bundle", a.bundle,
                    "--out", a.run, *_sets(a)], check=True, cwd=ROOT)
    timing = time_log(log)
    if timing["wall_s"] is None and (run / "bench_wall.json").exists():
        timing["wall_s"] = json.loads((run / "bench_wall.json").read_text())["wall_s"]
    from bench_agru import write_sections

    write_sections(a.out, {HEADINGS[a.config]: section(a, timing)})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
