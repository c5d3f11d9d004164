"""Backtest engine speed vs `bt` and `vectorbt`, final NAVs compared, and the report's build time.

Scenario (issue 3 "Measure"): 300 ETFs × 3000 trading days of seeded random-walk prices (one market
factor + idiosyncratic noise, no gaps), weekly rebalancing (last trading day of each week) into the
top 10 by 20-day momentum, equal weight, signal at the close of t, trade at the close of t+1, 5 bp
per side. The peers get the same target weights on the execution day and trade at that close.

    .venv/bin/python benchmarks/bench_backtest.py                # ours + peers (if their venv exists)
    .venv/bin/python benchmarks/bench_backtest.py --no-peers     # ours only

Peers live in their own venv (never in pyproject):
    python3 -m venv benchmarks/.env-peers && benchmarks/.env-peers/bin/pip install bt vectorbt
They run in a subprocess of that venv (``--peer bt|vectorbt``, this same file, which then imports
only numpy/pandas and the peer). Timings are warm: ours and vectorbt after one untimed call (numba
compiles on the first); bt has no JIT, its timed run follows an untimed small warm-up run.
Results go to benchmarks/results/backtest.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TMP = HERE / "results" / "tmp"
PEERS_PY = HERE / ".env-peers" / "bin" / "python"
FEE = 0.0005
D, N, TOP = 3000, 300, 10


# ------------------------------------------------------------------------------------------- data
def make_data(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(prices D × N, target weights on signal dates) — deterministic."""
    rng = np.random.default_rng(seed)
    cal = pd.bdate_range("2010-01-04", periods=D, name="date")
    mkt = rng.normal(0.0002, 0.011, D)
    beta = rng.uniform(0.6, 1.4, N)
    idio = rng.normal(0, 1, (D, N)) * rng.uniform(0.006, 0.02, N)
    r = mkt[:, None] * beta[None, :] + idio
    px = pd.DataFrame(10 * np.exp(np.cumsum(np.log1p(r), axis=0)), index=cal,
                      columns=[f"{510000 + i}.SH" for i in range(N)])
    week = cal.to_period("W-SUN")
    last = pd.Series(cal, index=cal).groupby(week.to_numpy()).max().to_numpy()
    rd = pd.DatetimeIndex(last[:-1], name="date")  # the last week's signal would execute after the data
    mom = (px / px.shift(20) - 1).reindex(rd)
    rank = mom.rank(axis=1, ascending=False, method="first")
    w = (rank <= TOP).astype(float) / TOP
    w = w.loc[w.sum(axis=1) > 0]
    return px, w


def exec_weights(px: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    """The same targets re-dated to their execution day (next trading day) for the peers."""
    pos = px.index.get_indexer(w.index) + 1
    out = w.copy()
    out.index = px.index[pos]
    return out


def save_frames(d: Path, px: pd.DataFrame, wx: pd.DataFrame) -> None:
    """Plain npz (no pyarrow needed in the peers' venv)."""
    np.savez(d / "frames.npz", px=px.to_numpy(), px_dates=px.index.asi8, codes=np.array(px.columns, dtype=str),
             wx=wx.to_numpy(), wx_dates=wx.index.asi8)


def load_frames(d: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    z = np.load(d / "frames.npz")
    codes = list(z["codes"])
    px = pd.DataFrame(z["px"], index=pd.DatetimeIndex(z["px_dates"]), columns=codes)
    wx = pd.DataFrame(z["wx"], index=pd.DatetimeIndex(z["wx_dates"]), columns=codes)
    return px, wx


# ------------------------------------------------------------------------------------------- peers
def run_peer(name: str, data: Path, reps: int) -> None:
    px, wx = load_frames(data)
    out: dict = {"peer": name}
    if name == "bt":
        import bt

        out["version"] = bt.__version__

        def once(p, w):
            s = bt.Strategy("top10", [bt.algos.WeighTarget(w.replace(0.0, np.nan)), bt.algos.Rebalance()])
            b = bt.Backtest(s, p, commissions=lambda q, price: abs(q) * price * FEE, integer_positions=False,
                            initial_capital=1e6, progress_bar=False)
            return bt.run(b)

        once(px.iloc[:60, :20], wx.loc[wx.index < px.index[60]].iloc[:, :20].div(1.0))  # warm-up (imports, caches)
        secs = []
        for _ in range(reps):
            t = time.perf_counter()
            res = once(px, wx)
            secs.append(time.perf_counter() - t)
        nav = res.prices.iloc[:, 0]
        out["nav_end"] = float(nav.iloc[-1] / nav.iloc[0])
    elif name == "vectorbt":
        import vectorbt as vbt

        out["version"] = vbt.__version__
        size = wx.reindex(px.index)  # NaN = no order that day; targets (incl. 0 = sell) on execution days

        def once():
            pf = vbt.Portfolio.from_orders(px, size=size, size_type="targetpercent", fees=FEE, group_by=True,
                                           cash_sharing=True, call_seq="auto", init_cash=1e6, freq="1D")
            return pf.value()

        t = time.perf_counter()
        once()
        out["first_call"] = time.perf_counter() - t  # numba compilation
        secs = []
        for _ in range(reps):
            t = time.perf_counter()
            v = once()
            secs.append(time.perf_counter() - t)
        out["nav_end"] = float(v.iloc[-1] / 1e6)
    else:
        raise SystemExit(f"unknown peer {name}")
    out["seconds"] = secs
    print("RESULT " + json.dumps(out))


def call_peer(name: str, reps: int) -> dict:
    if not PEERS_PY.exists():
        return {"peer": name, "error": f"peer venv missing ({PEERS_PY}); see this file's docstring"}
    p = subprocess.run([str(PEERS_PY), __file__, "--peer", name, "--data", str(TMP), "--reps", str(reps)],
                       capture_output=True, text=True, timeout=3600)
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if p.returncode != 0 or line is None:
        return {"peer": name, "error": (p.stderr or p.stdout)[-800:]}
    return json.loads(line[len("RESULT "):])


# ------------------------------------------------------------------------------------------- ours
def run_ours(px, w, reps: int) -> dict:
    from etfrot.backtest import run_backtest

    bench = (1 + px.pct_change().mean(axis=1).fillna(0.0)).cumprod().rename("equal weight (daily)")
    run_backtest(w, px, fee=FEE)  # warm-up
    secs, secs_seq = [], []
    for _ in range(reps):
        t = time.perf_counter()
        res = run_backtest(w, px, fee=FEE, benchmark=bench)
        secs.append(time.perf_counter() - t)
        t = time.perf_counter()
        run_backtest(w, px, fee=FEE, _sequential=True)
        secs_seq.append(time.perf_counter() - t)
    t = time.perf_counter()
    m = res.metrics(n_boot=1000)
    t_metrics = time.perf_counter() - t
    return {"result": res, "seconds": secs, "seconds_sequential": secs_seq, "nav_end": float(res.nav.iloc[-1]),
            "metrics_seconds": t_metrics, "metrics": m}


def report_time(res, reps: int = 3) -> list[float]:
    import tempfile

    from etfrot.report import backtest_sections, write_report

    out = []
    for _ in range(reps + 1):
        with tempfile.TemporaryDirectory() as d:
            t = time.perf_counter()
            secs = backtest_sections(res, title="bench", synthetic=True)
            write_report(d, title="bench", synthetic=True, data_label="SYNTHETIC DATA", sections=secs)
            out.append(time.perf_counter() - t)
    return out[1:]  # first one warms matplotlib's font cache and imports


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--peer", choices=["bt", "vectorbt"])
    ap.add_argument("--data", type=Path, default=TMP)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--bt-reps", type=int, default=1)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "backtest.md")
    a = ap.parse_args()
    if a.peer:
        run_peer(a.peer, a.data, a.reps)
        return

    px, w = make_data()
    TMP.mkdir(parents=True, exist_ok=True)
    save_frames(TMP, px, exec_weights(px, w))

    ours = run_ours(px, w, a.reps)
    rep = report_time(ours["result"])
    peers = [] if a.no_peers else [call_peer("vectorbt", a.reps), call_peer("bt", a.bt_reps)]

    med = float(np.median(ours["seconds"]))
    rows = [("etfrot (hybrid vectorised)", med, min(ours["seconds"]), ours["nav_end"], "")]
    rows.append(("etfrot (sequential loop over rebalances)", float(np.median(ours["seconds_sequential"])),
                 min(ours["seconds_sequential"]), ours["nav_end"], "same result; the fallback path"))
    for p in peers:
        if "error" in p:
            rows.append((p["peer"], float("nan"), float("nan"), float("nan"), "failed: " + p["error"].strip().splitlines()[-1][:120]))
            continue
        note = f"v{p['version']}" + (f"; first call {p['first_call']:.2f} s (numba compile)" if "first_call" in p else "")
        rows.append((f"{p['peer']}", float(np.median(p["seconds"])), min(p["seconds"]), p["nav_end"], note))

    hdr = f"{'engine':42s} {'median s':>10s} {'min s':>9s} {'× ours':>8s} {'final NAV':>11s} {'Δ vs ours':>10s}  note"
    lines = [hdr, "-" * len(hdr)]
    table_md = ["| engine | median s | min s | × ours (median) | final NAV | Δ NAV vs ours | note |", "|---|---:|---:|---:|---:|---:|---|"]
    for name, m_, mn, nav, note in rows:
        ratio = m_ / med if np.isfinite(m_) else float("nan")
        d = nav / ours["nav_end"] - 1 if np.isfinite(nav) else float("nan")
        lines.append(f"{name:42s} {m_:10.4f} {mn:9.4f} {ratio:8.1f} {nav:11.6f} {d:+10.4%}  {note}")
        table_md.append(f"| {name} | {m_:.4f} | {mn:.4f} | {ratio:.1f} | {nav:.6f} | {d:+.4%} | {note} |")
    print("\n".join(lines))
    print(f"\nmetrics() with 1000 block-bootstrap resamples: {ours['metrics_seconds']:.3f} s")
    print(f"report build (backtest_sections + write_report, warm): median {np.median(rep):.2f} s, runs {', '.join(f'{x:.2f}' for x in rep)}")

    mach = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs (shared), "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    res = ours["result"]
    md = [
        "# Backtest engine benchmark",
        "",
        f"Measured by `benchmarks/bench_backtest.py` on {time.strftime('%Y-%m-%d')}; machine: {mach}.",
        "",
        f"Scenario: {N} ETFs × {D} trading days of seeded random-walk prices (market factor + noise, no gaps),",
        f"weekly rebalancing into the top {TOP} by 20-day momentum, equal weight, signal at the close of t and",
        f"trade at the close of t+1, {FEE * 1e4:.0f} bp per side; {len(w)} rebalances, {len(res.trades):,} trades.",
        "The peers get the same target weights dated on the execution day and trade at that close",
        "(bt: `WeighTarget` + `Rebalance`, `integer_positions=False`, commission |q|·p·5bp; vectorbt:",
        "`Portfolio.from_orders(size_type='targetpercent', cash_sharing=True, call_seq='auto', fees=5bp)`).",
        f"Timings are warm wall-clock times (median and min of {a.reps} runs; bt: {a.bt_reps} run(s) after a warm-up)",
        "on a 2-core machine shared with other jobs: expect ±30 % noise between sessions; the ratios are stable.",
        "",
        *table_md,
        "",
        f"* `Result.metrics()` including 1000 block-bootstrap resamples: {ours['metrics_seconds']:.3f} s.",
        f"* Report build (`backtest_sections` + `write_report`: 4 charts, 7 tables + CSV/JSON, warm): median "
        f"{np.median(rep):.2f} s (runs: {', '.join(f'{x:.2f}' for x in rep)}); target < 3 s.",
        "",
        "NAV agreement: the three engines book costs slightly differently — etfrot solves the self-financing",
        "equation k = 1 − c·Σ|x·k − w_pre| so that targets are weights of the post-cost NAV; bt deducts each",
        "commission from the amount it allocates (full outlay = amount); vectorbt sizes target-percent orders on",
        "the group value when each order is placed and pays fees from cash. They differ at second order in the",
        "cost rate (c² per trade), hence final NAVs within a few hundredths of a percent over 600 rebalances",
        "(requirement: 0.1 %).",
    ]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(md) + "\n")
    print(f"\nwritten {a.out}")


if __name__ == "__main__":
    main()
