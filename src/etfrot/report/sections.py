"""Report sections for a backtest (SPEC §7, §9), for strategies to compose with their own sections.

``backtest_sections(result)`` → [summary (metrics with bootstrap CIs), NAV charts, per-year table and
bars, holdings of the last periods, rebalances / skipped trades / delistings]. Every table is also
written as CSV/JSON by :func:`etfrot.report.write_report`; long ones (every trade, every holding) are
linked files rather than page tables.
"""

from __future__ import annotations

from functools import partial

import pandas as pd

from etfrot.report import charts
from etfrot.report.html import Section

#: metric key → label shown in the report (order kept)
LABELS = {
    "start": "start", "end": "end", "days": "trading days",
    "cumulative_return": "cumulative return", "annual_return": "annual return (compounded, 252 d)",
    "annual_volatility": "annual volatility", "sharpe": "Sharpe (rf = 0)", "max_drawdown": "max drawdown",
    "benchmark_cumulative_return": "benchmark cumulative return", "benchmark_annual_return": "benchmark annual return",
    "benchmark_annual_volatility": "benchmark annual volatility", "benchmark_max_drawdown": "benchmark max drawdown",
    "annual_excess": "annual excess (relative NAV)", "tracking_error": "tracking error",
    "information_ratio": "information ratio", "excess_max_drawdown": "excess max drawdown",
    "win_rate": "win rate per rebalance period", "periods": "rebalance periods",
    "annual_turnover": "annual turnover (one-way)", "cost_drag": "cost drag per year",
}


def metrics_table(m: pd.Series) -> pd.DataFrame:
    """Metrics Series (``Result.metrics()``) → table: metric label, value, 95 % CI low/high where bootstrapped."""
    rows = []
    for key, label in LABELS.items():
        if key not in m.index:
            continue
        v = m[key]
        lo, hi = m.get(f"{key}_ci_lo"), m.get(f"{key}_ci_hi")
        rows.append({"metric": label, "value": v.strftime("%Y-%m-%d") if isinstance(v, pd.Timestamp) else v,
                     "ci95_lo": lo if lo is not None else float("nan"), "ci95_hi": hi if hi is not None else float("nan")})
    return pd.DataFrame(rows).set_index("metric")


def _pct(x) -> str:
    return "n/a" if x is None or pd.isna(x) else f"{100 * x:.2f}%"


def backtest_sections(result, *, title: str = "Backtest", synthetic: bool = False, last_holdings: int = 8,
                      n_boot: int = 1000, block: int = 20, seed: int = 0, log_nav: bool = False,
                      describe: str = "", bundle=None, tearsheet: bool = True) -> list[Section]:
    """Sections of a backtest report: summary, NAV, per year, holdings, trading (see module doc)."""
    m = result.metrics(n_boot=n_boot, block=block, seed=seed)
    bench = result.benchmark_nav
    has_b = bench is not None
    rules = (f"Signal at the close of t, executed {result.execution.replace('_', ' ')} "
             f"({'close of t+1' if result.execution == 'next_close' else 'open of t+1' if result.execution == 'next_open' else 'close of t — a study setting that peeks at the trade price'}); "
             f"fee {result.fee * 1e4:.1f} bp + slippage {result.slippage * 1e4:.1f} bp per side; "
             f"{len(result.rebalances)} executions from {m['start']:%Y-%m-%d} to {m['end']:%Y-%m-%d}"
             + (f"; benchmark: {result.benchmark_name}." if has_b else "; no benchmark."))
    text = (describe + "\n" if describe else "") + rules
    if has_b and "annual_excess_ci_lo" in m.index:
        text += (f"\nAnnual excess {_pct(m['annual_excess'])} (95 % CI {_pct(m['annual_excess_ci_lo'])} … "
                 f"{_pct(m['annual_excess_ci_hi'])}), information ratio {m['information_ratio']:.2f} "
                 f"(95 % CI {m['information_ratio_ci_lo']:.2f} … {m['information_ratio_ci_hi']:.2f}): circular "
                 f"block bootstrap of daily excess returns, {n_boot} resamples, blocks of {block} days, seed {seed}. "
                 "A backtest is one draw of history; read the interval, not only the point.")
    if len(result.skipped):
        text += f"\n{len(result.skipped)} trades could not be made (asset suspended / without a price / not tradable); see Trading."
    if len(result.delistings):
        text += f"\n{len(result.delistings)} holdings were delisted and paid out at their last price."
    if len(result.pending):
        text += f"\nPending (signal after the last price day, not executed): {', '.join(f'{d:%Y-%m-%d}' for d in result.pending)}."
    summary = Section(f"{title}: summary", text, tables={"metrics": metrics_table(m)})

    rel = result.relative_nav() if has_b else None
    what = "NAV, relative NAV (strategy / benchmark) and drawdown" if has_b else "NAV and drawdown"
    figs = [partial(charts.nav_panels_chart, result.nav, bench, rel, title=f"{title}: {what}", synthetic=synthetic,
                    log=log_nav, labels=("strategy", str(result.benchmark_name)))]
    nav_tbl = pd.DataFrame({"nav": result.nav})
    if has_b:
        nav_tbl["benchmark"] = bench
        nav_tbl["relative_nav"] = rel
    nav_sec = Section(f"{title}: NAV", figures=figs, files={"daily NAV": nav_tbl})

    yt = result.yearly()
    year_sec = Section(f"{title}: per year", tables={"per-year": yt},
                       figures=[partial(charts.yearly_bars, yt, title=f"{title}: per-year returns", synthetic=synthetic)])

    hold_all = result.holdings()
    hold_last = result.last_rebalances(hold_all, last_holdings)  # a slice of all of them: holdings are built once
    hold_sec = Section(f"{title}: holdings", f"Holdings after each of the last {last_holdings} executions "
                       "(target = weight asked for, held = weight right after the trade; they differ where a trade was skipped).",
                       tables={f"last {last_holdings} rebalances": hold_last.set_index("signal_date")},
                       files={"all holdings": hold_all})

    reb = result.rebalances.set_index("signal_date")
    trade_tables = {"rebalances": reb}
    if len(result.skipped):
        trade_tables["skipped trades"] = result.skipped
    if len(result.delistings):
        trade_tables["delistings"] = result.delistings
    trade_sec = Section(f"{title}: trading", "One row per execution: NAV before it, two-sided traded value and one-way "
                        "turnover (fractions of NAV), cost as a fraction of NAV, holdings and skipped trades.",
                        tables=trade_tables, files={"all trades": result.trades}, max_rows=20)
    out = [summary, nav_sec, year_sec, hold_sec, trade_sec]
    if tearsheet:  # monthly heat map, worst drawdowns, rolling, activity, industry exposure (with a bundle)
        from etfrot.report.tearsheet import tearsheet_sections

        out += tearsheet_sections(result, title=title, synthetic=synthetic, bundle=bundle)
    return out


def capacity_section(part: pd.DataFrame, thresholds: pd.DataFrame, *, title: str = "Backtest", synthetic: bool = False,
                     capital: float = 1e6, window: int = 20) -> Section:
    """Capacity (SPEC §7): distribution of each trade's share of the ETF's average traded amount at ``capital``,
    and the capital at which the median / worst trade reaches 5 % and 20 % (:mod:`etfrot.backtest.capacity`)."""
    def cny(x):
        return "n/a" if x is None or pd.isna(x) else f"{x:,.3g} CNY"

    th = thresholds
    p = part["participation"].dropna()
    text = (f"Each executed trade's value against the ETF's average traded amount over the {window} trading days up "
            f"to the signal date (and against fund size where known), at a capital of {capital:,.0f} CNY: "
            f"median {_pct(p.median() if len(p) else None)}, worst {_pct(p.max() if len(p) else None)} of amount20 "
            f"({len(p)} trades). Trades scale with capital, so the median trade reaches 5 % of amount20 at "
            f"{cny(th.at['median trade', 'capital at 5% of amount20'])} and 20 % at "
            f"{cny(th.at['median trade', 'capital at 20% of amount20'])}; the worst trade at "
            f"{cny(th.at['worst trade', 'capital at 5% of amount20'])} and "
            f"{cny(th.at['worst trade', 'capital at 20% of amount20'])}.")
    fig = partial(charts.histogram_chart, part["participation"], title=f"{title}: trade / 20-day average amount at {capital:,.0f} CNY",
                                 synthetic=synthetic, xlabel="share of amount20 (log scale)",
                                 marks={"5 %": 0.05, "20 %": 0.20})
    return Section(f"{title}: capacity", text, tables={"capital at which trades reach a share of daily amount": th},
                   figures=[fig], files={"trade participation": part})
