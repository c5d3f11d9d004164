"""Seed 000's strategy through every real weight set (issue 12 item 4) → a section of agru.md.

    etfrot data build-real ../shared/data/real --out B --stock-source qlib
    etfrot backtest agru_index_rotation_real_weights --bundle B --out RUN        # (from a folder for runs/cache)
    etfrot backtest agru_index_rotation_real_broad --bundle B --out RUN2         # the same cached scores
    .venv/bin/python benchmarks/bench_agru_weights.py --bundle B --run RUN --broad-run RUN2 --cache runs/cache \
        [--time-log LOG]

Reads the run's tables (weight sets, stock and index factor tests, summary, per-year, holdings), and — from the
cached stock scores of the same config — how often each broad index (CSI 300 / 500, SSE 50) ranks among the top
10 % of the scored indices, and the cross-sectional spread of the index factor for broad vs industry indices
(an index of 300–500 names averages its stocks' scores towards the mean). Writes the section
"Real weights: …" of ``benchmarks/results/agru.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
HEADING = ("## Real weights: agru_index_rotation_real_weights — CSI 300, CSI 500, SSE 50 and SW L1 weights, "
           "test 2017–2022")
CONFIG = "agru_index_rotation_real_weights"


def _table(run: Path, part: str) -> pd.DataFrame:
    f = sorted((run / "tables").glob(f"*{part}*.csv"))
    if not f:
        raise SystemExit(f"{run}/tables has no *{part}*.csv: run `etfrot backtest {CONFIG}` first")
    return pd.read_csv(f[0])


def _md(df: pd.DataFrame, pct=(), dec2=(), dec4=()) -> str:
    """:func:`bench_agru._md_table` with percent / 2-decimal / 4-decimal columns formatted first."""
    from bench_agru import _md_table

    out = df.copy()
    for cols, f in ((pct, "{:.2%}"), (dec2, "{:.2f}"), (dec4, "{:.4f}")):
        for c in set(cols) & set(out.columns):
            out[c] = out[c].map(lambda v, f=f: f.format(v) if pd.notna(v) else "")
    return _md_table(out.set_index(out.columns[0]))


def broad_ranks(bundle_path: str, cache: str, scores: str | None = None) -> tuple[pd.DataFrame, dict]:
    """Per broad index with a value: weekly dates scored, share of them in the top 10 % of the scored indices,
    median percentile rank; and the median cross-sectional std of the factor for broad vs industry indices."""
    from etfrot.data import Bundle
    from etfrot.data.calendar import rebalance_dates
    from etfrot.strategies import agru_index_rotation as air
    from etfrot.strategies import load_config

    b = Bundle.open(bundle_path)
    cfg = air.validate_config(load_config(CONFIG))
    cfg.stock_model.cache_dir = cache
    cfg.stock_model.progress = False
    if scores is not None:
        cfg.stock_model.scores_path = scores
    stock, *_ = air.stock_scores(b, cfg)
    idx, _ = air.index_scores(b, stock, cfg)
    dates = rebalance_dates(b.calendar, cfg.frequency, cfg.start, cfg.end)
    f = idx.reindex(index=dates.intersection(idx.index)).dropna(how="all", axis=1)
    if f.empty:
        raise SystemExit(f"no index factor from the cache {cache}: run the backtest from the folder holding it")
    info = b.info("index")
    f = f.loc[:, info["total_return_of"].reindex(f.columns).isna().to_numpy()]  # a total-return twin is the same index
    cat = info["category"].reindex(f.columns).astype(str)
    pct = f.rank(axis=1, pct=True)
    n = f.notna().sum(axis=1)
    top = f.rank(axis=1, ascending=False) <= np.ceil(0.1 * n).to_numpy()[:, None]
    rows = []
    for c in f.columns[cat.to_numpy() == "broad"]:
        live = f[c].notna()
        rows.append({"index": c, "name": info["name"].get(c), "weekly dates with a value": int(live.sum()),
                     "share in the top 10 %": float(top.loc[live, c].mean()),
                     "median percentile rank": float(pct.loc[live, c].median())})
    spread = {k: float(np.nanmedian(f.loc[:, cat.to_numpy() == k].std(axis=1))) for k in ("broad", "industry_theme")}
    w = b.table("index_weights")
    w = w[w["index_code"].astype(str).isin(f.columns) & (w["date"] >= dates[0])]
    size = w.groupby(["index_code", "date"]).size().groupby(level=0).median()
    c = info["category"].reindex(size.index).astype(str).to_numpy()
    spread["n_broad"], spread["n_industry"] = float(size[c == "broad"].median()), float(size[c != "broad"].median())
    spread["n_industry_lo"], spread["n_industry_hi"] = float(size[c != "broad"].min()), float(size[c != "broad"].max())
    return pd.DataFrame(rows), spread


def broad_section(run: Path) -> str:
    """The broad indices' rotation (agru_index_rotation_real_broad): top 1 of CSI 300 / 500, SSE 50 via its ETF."""
    summ = _table(run, "summary_metrics").set_index("metric")
    itab = _table(run, "index_factor_tests_seed_000_3_2_index_factor_tests")
    hold = _table(run, "holdings_all_holdings")
    v = lambda k: float(summ.loc[k, "value"])  # noqa: E731
    lo, hi = float(summ.loc["annual excess (relative NAV)", "ci95_lo"]), float(summ.loc["annual excess (relative NAV)", "ci95_hi"])
    counts = ", ".join(f"{c} {n}" for c, n in hold["code"].value_counts().items())
    ic = "; ".join(f"{r.frequency} IC {r.ic_mean:.4f} (t {r.ic_t_nw:.2f}), long excess {r.long_excess_annual:.2%}"
                   for r in itab.itertuples())
    return f"""The broad indices alone (`agru_index_rotation_real_broad`: each week the one of CSI 300 / CSI 500 / SSE 50 with
the highest index factor, held through its ETF — like for like against the total-return benchmark, no dividend gap —
and the run ends at the first rebalance with fewer than 3 scored indices, `index_factor.min_indices`):
{summ.loc['start', 'value']} → {summ.loc['end', 'value']}, annual return {v('annual return (compounded, 252 d)'):.2%} vs the
benchmark's {v('benchmark annual return'):.2%}, annual excess {v('annual excess (relative NAV)'):.2%} [{lo:.2%}, {hi:.2%}],
information ratio {v('information ratio'):.2f}, turnover {v('annual turnover (one-way)'):.1f} a year; weeks held: {counts}.
Index factor over the three (3 groups, so one index per group): {ic}."""


def headline(label: str, run: Path) -> str:
    """One table row: a run's stock IC (all, CSI 300), index IC (weekly, monthly, all) and strategy excess + CI."""
    sf = _table(run, "stock_factor_tests_per_pool").set_index("pool")
    it = _table(run, "index_factor_tests_seed_000_3_2_index_factor_tests").set_index(["frequency", "indices"])
    sm = _table(run, "summary_metrics").set_index("metric")
    k = "annual excess (relative NAV)"

    def ic(key):
        return f"{it.loc[key, 'ic_mean']:.4f} (t {it.loc[key, 'ic_t_nw']:.2f})" if key in it.index else ""

    return (f"| {label} | {sf.loc['all', 'ic_mean']:.4f} (t {sf.loc['all', 'ic_t_nw']:.2f}) | "
            f"{sf.loc['csi300', 'ic_mean']:.4f} (t {sf.loc['csi300', 'ic_t_nw']:.2f}) | {ic(('weekly', 'all'))} | "
            f"{ic(('monthly', 'all'))} | {float(sm.loc[k, 'value']):.2%} [{float(sm.loc[k, 'ci95_lo']):.2%}, "
            f"{float(sm.loc[k, 'ci95_hi']):.2%}] | {float(sm.loc['information ratio', 'value']):.2f} |")


def budgets(also: list[str]) -> str:
    """The same strategies under other stock-model budgets (``LABEL=RUN`` pairs), as one table."""
    if not also:
        return ""
    rows = [headline(lab, Path(run)) for lab, run in (x.split("=", 1) for x in also)]
    return ("The same configs with the stock model trained at other budgets (same split), headline numbers — stock IC "
            "(monthly) and index IC (weekly / monthly, all indices) with their Newey–West t, the strategy's annual "
            "excess with its 95 % CI:\n\n| run | stock IC, all | stock IC, CSI 300 | index IC, weekly | index IC, monthly "
            "| annual excess [CI] | IR |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def section(a) -> str:
    from bench_agru_real import time_log

    run = Path(a.run)
    ws = _table(run, "weight_sets")
    sf = _table(run, "stock_factor_tests_per_pool")
    itab = _table(run, "index_factor_tests_seed_000_3_2_index_factor_tests")
    summ = _table(run, "summary_metrics").set_index("metric")
    year = _table(run, "per_year")
    hold = _table(run, "holdings_all_holdings")
    import json
    import re

    cav = " ".join(json.loads((run / "manifest.json").read_text()).get("caveats") or [])
    m = re.search(r"yield: ([-\d.]+%) a year", cav)
    gap = m.group(1) if m else "not measured"
    br, spread = broad_ranks(a.bundle, a.cache, a.scores)
    t = time_log(Path(a.time_log)) if a.time_log else {"wall_s": None, "peak_gib": None}
    wall = f"{t['wall_s'] / 60:.1f} min wall" if t.get("wall_s") else "wall time not logged"
    tb = time_log(Path(a.backtest_log)) if a.backtest_log else {}
    bt = (f"{tb['wall_s']:.0f} s wall, peak RSS {tb['peak_gib']:.2f} GiB" if tb.get("wall_s") and tb.get("peak_gib")
          else "not logged")
    rss = f", peak RSS {t['peak_gib']:.2f} GiB" if t.get("peak_gib") else ""
    ws["first"], ws["last"] = ws["first"].astype(str), ws["last"].astype(str)
    broad = ws[ws["category"] == "broad"][["index", "name", "first", "last", "dates", "coverage"]]
    ind = ws[ws["category"] != "broad"]
    held_kind = hold["code"].astype(str).map(lambda c: "ETF" if c[:2] in ("51", "15", "56", "58") else "index")
    s = lambda k: float(summ.loc[k, "value"])  # noqa: E731
    ci = lambda k: f"[{float(summ.loc[k, 'ci95_lo']):.2%}, {float(summ.loc[k, 'ci95_hi']):.2%}]"  # noqa: E731
    sf = sf[["pool", "ic_mean", "icir", "ic_t_nw", "ic_win_rate", "rank_ic_mean", "long_excess_annual",
             "long_excess_max_drawdown", "long_ir", "long_short_sharpe", "periods", "stocks_per_date"]]
    itab = itab[["frequency", "indices", "ic_mean", "ic_t_nw", "rank_ic_mean", "ic_win_rate", "long_excess_annual",
                 "long_excess_max_drawdown", "long_ir", "periods", "indices_per_date"]]
    return f"""{HEADING}

`etfrot data build-real ../shared/data/real --out B --stock-source qlib` (stocks from the qlib dump: its 1,188
CSI 300/500 members, so that the CSI 500 and SSE 50 weights find their constituents), then
`etfrot backtest {CONFIG} --bundle B --out RUN` (and `agru_index_rotation_real_broad`, below) and `benchmarks/bench_agru_weights.py` for this section. The
stock model (AGRU 64×2, 40-day windows, 20-day label, 2/1 decile loss) is trained on all stocks ≤ 2015 and validated
on 2016, so its scores are out of sample from 2017 — while the CSI 500 / SSE 50 weights (2016-01 → 2019-12 in this
snapshot) still exist. Budget: {a.budget}. {a.time_what}: {wall}{rss} (a shared 2-core machine); the backtest
alone, with the stock scores read from a file or the cache: {bt}.

Weight sets that give an index a factor value (coverage = median share of the constituent weight whose stocks are
scored); a series of snapshots stays in force until about two snapshot intervals after its last one
(`data.pit.active_snapshot`), which sets the last dates below:

{_md(broad, pct=("coverage",))}

and {len(ind)} SW level-1 industries (weights derived from CSI 300's), median coverage {ind['coverage'].median():.0%},
{int(ind['dates'].median())} weekly dates at the median.

Stock factor, monthly, 10 groups, suspended / limit stocks excluded (ST flags absent in the dump), 2017–2022:

{_md(sf, pct=("ic_win_rate", "long_excess_annual", "long_excess_max_drawdown"), dec2=("icir", "ic_t_nw", "long_ir",
     "long_short_sharpe", "stocks_per_date"), dec4=("ic_mean", "rank_ic_mean"))}

Index factor (seed 000 §3.2), IC against the return to the next rebalance, 5 groups, long = top group vs the
universe's equal weight; universe = broad and industry indices with a price, of which those with weights are scored
(all), or the industries only:

{_md(itab, pct=("ic_win_rate", "long_excess_annual", "long_excess_max_drawdown"), dec2=("ic_t_nw", "long_ir",
     "indices_per_date"), dec4=("ic_mean", "rank_ic_mean"))}

The strategy (top 10 % of the scored indices by MMR, weekly, 0.05 % per side, against the CSI 300 total return):
annual return {s('annual return (compounded, 252 d)'):.2%} vs the benchmark's {s('benchmark annual return'):.2%};
annual excess (relative NAV) {s('annual excess (relative NAV)'):.2%} {ci('annual excess (relative NAV)')}, information
ratio {s('information ratio'):.2f}, excess max drawdown {s('excess max drawdown'):.2%}, one-way turnover
{s('annual turnover (one-way)'):.1f} a year (cost drag {s('cost drag per year'):.2%}). Per year, excess:
{', '.join(f"{int(r.year)} {r.excess:+.1%}" for r in year.itertuples())}. Holdings: {len(hold)} (date, instrument)
rows, of which {int((held_kind == 'ETF').sum())} an ETF (a broad index held through its ETF) and
{int((held_kind == 'index').sum())} an SW industry price index (no ETF, no total-return series: the report's
dividend-gap warning applies to them; the run measures the CSI 300's at {gap} a year over its window).

Why the broad indices are almost never held — how often each ranks in the top 10 % of the scored indices (the
strategy's candidates), from the same scores:

{_md(br, pct=("share in the top 10 %", "median percentile rank"))}

The median cross-sectional standard deviation of the index factor is {spread['broad']:.4f} across the broad indices and
{spread['industry_theme']:.4f} across the industries: a broad index (median {spread['n_broad']:.0f} constituents
per snapshot) averages its stocks' scores towards the market mean, an industry (median {spread['n_industry']:.0f},
{spread['n_industry_lo']:.0f}–{spread['n_industry_hi']:.0f} of the CSI 300's members) much less, so a top-10 % rule over a
universe of mixed breadth picks the narrow indices.

{broad_section(Path(a.broad_run)) if a.broad_run else ""}

{budgets(a.also or [])}
Reading: trained on two years only, the stock factor's largest |IC t| over the pools is
{sf['ic_t_nw'].abs().max():.2f} and the index factor's {itab['ic_t_nw'].abs().max():.2f}; the strategy's annual excess
{s('annual excess (relative NAV)'):.2%} has the CI {ci('annual excess (relative NAV)')}, and about {gap} a year of it
is the dividends that the price indices held do not earn. Caveats: survivorship (the dump has no delisted stock), no VWAP or ST flags, SW weights derived from
CSI 300 members only, {a.budget_short}.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--cache", default="runs/cache", help="the stock-score cache the backtest wrote")
    ap.add_argument("--time-log", help="a /usr/bin/time -v log of the run that trained the stock model")
    ap.add_argument("--time-what", default="Training and backtest", help="what --time-log timed, for the text")
    ap.add_argument("--backtest-log", help="a /usr/bin/time -v log of the backtest alone (scores from file / cache)")
    ap.add_argument("--broad-run", help="the run of agru_index_rotation_real_broad (same cached scores)")
    ap.add_argument("--scores", help="the stock scores the run read (stock_model.scores_path), if not from the cache")
    ap.add_argument("--also", action="append", help="LABEL=RUN: the same config at another budget (repeatable)")
    ap.add_argument("--budget", default="3 seeds, every 5th training date, ≤ 6 epochs (patience 2), validation on "
                                        "every 2nd date, CPU with 2 threads (the config; the seed: 5 seeds, every date)")
    ap.add_argument("--budget-short", default="3 seeds on every 5th training date instead of 5 on every date")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "agru.md"))
    a = ap.parse_args()
    from bench_agru import write_sections

    write_sections(a.out, {HEADING: section(a)})
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
