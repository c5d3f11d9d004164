"""Factor-test report sections (SPEC §3, §9): seed 001 tables 4–5, IC series, quantile NAVs, the
correlation heat map. Pure figure builders (one function per figure) composed by
:func:`factor_report_sections`; :func:`write_factor_report` writes the HTML, CSVs and manifest via
``etfrot.report.write_report``. Every figure from synthetic data carries SYNTHETIC in its title."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from etfrot.evaluation.factor_test import FactorTestReport

PCT_COLUMNS_T4 = ("abs_t_gt2", "ic_pos", "rank_ic_pos")


def _tag(report: FactorTestReport) -> str:
    return " — SYNTHETIC DATA" if report.synthetic else ""


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["font.sans-serif"] = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei", "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def _years(ax) -> None:
    import matplotlib.dates as mdates

    loc = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def _watermark(fig, report: FactorTestReport) -> None:
    if report.synthetic:
        fig.text(0.5, 0.5, "SYNTHETIC", fontsize=48, color="red", alpha=0.12, ha="center", va="center", rotation=25)


def ic_series_figure(report: FactorTestReport, rank: bool = True):
    """Small multiples: per factor, the (Rank) IC bars per period and the cumulative IC line."""
    plt = _plt()
    names = list(report.results)
    ncol = min(4, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.4 * nrow), squeeze=False)
    for ax, n in zip(axes.ravel(), names):
        r = report.results[n]
        ic = (r.rank_ic if rank else r.ic).dropna()
        ax.bar(ic.index, ic.to_numpy(), width=3, color=np.where(ic.to_numpy() > 0, "tab:red", "tab:green"))
        ax2 = ax.twinx()
        ax2.plot(ic.index, ic.cumsum().to_numpy(), color="k", lw=1)
        ax.set_title(f"{n}: mean {ic.mean():.3f}", fontsize=9)
        _years(ax)
        ax.tick_params(labelsize=7)
        ax2.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    fig.suptitle(f"{'Rank IC' if rank else 'IC'} per period and cumulative{_tag(report)}")
    fig.tight_layout()
    _watermark(fig, report)
    return fig


def quantile_nav_figure(report: FactorTestReport, relative: bool = True):
    """Small multiples: per factor, each group's NAV (relative to the universe equal weight by default)."""
    plt = _plt()
    names = [n for n, r in report.results.items() if r.quantiles is not None]
    if not names:
        return None
    ncol = min(4, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4 * ncol, 2.6 * nrow), squeeze=False)
    for ax, n in zip(axes.ravel(), names):
        q = report.results[n].quantiles
        nav = q.nav
        cols = [f"Q{g}" for g in range(1, q.quantiles + 1)]
        cmap = plt.get_cmap("coolwarm")
        for i, c in enumerate(cols):
            y = nav[c] / nav["universe"] if relative else nav[c]
            ax.plot(nav.index, y.to_numpy(), lw=1, color=cmap(i / max(len(cols) - 1, 1)), label=c)
        if not relative:
            ax.plot(nav.index, nav["universe"].to_numpy(), lw=1, color="k", ls="--", label="universe")
        ax.set_title(n, fontsize=9)
        ax.tick_params(labelsize=7)
        _years(ax)
    axes.ravel()[0].legend(fontsize=6)
    for ax in axes.ravel()[len(names):]:
        ax.axis("off")
    what = "NAV relative to the universe equal weight" if relative else "NAV"
    fig.suptitle(f"Quantile groups ({what}; Q{report.settings['quantiles']} = favoured){_tag(report)}")
    fig.tight_layout()
    _watermark(fig, report)
    return fig


def correlation_figure(report: FactorTestReport):
    """Heat map of the mean cross-sectional rank correlation (seed 001 figure 4)."""
    c = report.correlation
    if c is None or c.empty:
        return None
    plt = _plt()
    k = len(c)
    fig, ax = plt.subplots(figsize=(0.55 * k + 2, 0.5 * k + 1.5))
    im = ax.imshow(c.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_xticks(range(k), c.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(k), c.index, fontsize=7)
    if k <= 25:
        for i in range(k):
            for j in range(k):
                v = c.iloc[i, j]
                if np.isfinite(v):
                    ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=5.5)
    fig.colorbar(im, ax=ax, shrink=0.7)
    ax.set_title(f"Factor rank correlation (mean over dates){_tag(report)}", fontsize=10)
    fig.tight_layout()
    _watermark(fig, report)
    return fig


def factor_report_sections(report: FactorTestReport) -> list:
    """Report sections: settings and notes, table 4, table 5, IC series, quantile NAVs, correlation."""
    from etfrot.report import Section

    s = report.settings
    head = (f"{report.data_label}. Universe {s['universe']} ({s['level']} level, {s['codes']} codes), {s['freq']} "
            f"rebalance {s['start']} → {s['end']} ({s['periods']} dates), forward return to {s['horizon']}, "
            f"{s['quantiles']} groups from {s['quantile_start']}. IC signs are raw; groups rank factor × direction.")
    if report.notes:
        head += "\nNotes: " + "; ".join(report.notes)
    secs = [Section("Factor tests" + _tag(report), head)]
    secs.append(Section("Table 4 — regression t and IC statistics" + _tag(report),
                        "abs_t_mean / abs_t_gt2: per-period cross-sectional OLS t of the return on the factor; "
                        "ic_*: Pearson IC, rank_ic_*: Spearman; *_t_nw: Newey–West t of the mean.",
                        tables={"table4": report.table4()}))
    secs.append(Section("Table 5 — top-group quantile backtest vs the universe equal weight" + _tag(report),
                        "Top group (favoured by the factor's direction), equal weight, no costs; IR, win rate and "
                        "excess figures against the universe equal weight (last row).",
                        tables={"table5": report.table5()}))
    figs = [f for f in (ic_series_figure(report),) if f is not None]
    secs.append(Section("IC series" + _tag(report), "", tables={"rank_ic": report.ic_frame(rank=True),
                                                                "ic": report.ic_frame()}, figures=figs))
    qf = quantile_nav_figure(report)
    navs = {n: r.quantiles.nav for n, r in report.results.items() if r.quantiles is not None}
    secs.append(Section("Quantile NAVs" + _tag(report), "", figures=[qf] if qf is not None else [],
                        tables={f"nav_{n}": v for n, v in navs.items()}))
    cf = correlation_figure(report)
    if cf is not None:
        secs.append(Section("Factor correlation" + _tag(report), "Mean over dates of the cross-sectional rank correlation.",
                            tables={"correlation": report.correlation}, figures=[cf]))
    return secs


def write_factor_report(report: FactorTestReport, out_dir, *, config: dict | None = None,
                        manifest: dict | None = None) -> Path:
    """Write ``out_dir/report.html`` with tables (CSV + JSON under ``tables/``) and figures."""
    from etfrot.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report.table4().to_csv(out / "table4.csv")
    report.table5().to_csv(out / "table5.csv")
    report.ic_frame().to_csv(out / "ic.csv")
    report.ic_frame(rank=True).to_csv(out / "rank_ic.csv")
    if not report.correlation.empty:
        report.correlation.to_csv(out / "correlation.csv")
    return write_report(out, title="Factor tests" + _tag(report), synthetic=report.synthetic,
                        data_label=report.data_label, sections=factor_report_sections(report),
                        config=config or report.settings, manifest=manifest)
