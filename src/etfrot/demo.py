"""``etfrot demo``: one synthetic market, the three strategies, one comparison report (SPEC §9).

Builds the synthetic bundle if absent (no network), runs ``agru_index_rotation``,
``cluster_multifactor`` and ``regime_rotation`` with their shipped ``*_demo`` configs (each writes its
own report), then writes ``report.html`` comparing them side by side — metrics with bootstrap CIs,
per-year excess, relative NAVs — with links to each strategy's report, and returns the summary and
the latest picks for printing.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

DEMO_STRATEGIES = ("agru_index_rotation", "cluster_multifactor", "regime_rotation")
SUMMARY = ["annual_return", "annual_volatility", "sharpe", "max_drawdown", "annual_excess", "annual_excess_ci_lo",
           "annual_excess_ci_hi", "information_ratio", "excess_max_drawdown", "win_rate", "annual_turnover"]


@dataclass
class DemoResult:
    out_dir: Path
    report: Path
    summary: pd.DataFrame
    picks: dict[str, pd.DataFrame]
    seconds: dict[str, float] = field(default_factory=dict)
    synthetic: bool = True


def open_or_build(path: Path, size: str, seed: int, progress=None):
    """The bundle at ``path``, built from the synthetic generator when there is none yet."""
    from etfrot.data import Bundle
    from etfrot.data.bundle import MANIFEST
    from etfrot.data.synthetic import build_synthetic

    if (path / MANIFEST).exists():
        return Bundle.open(path)
    if progress:
        progress(f"building the synthetic market ({size}, seed {seed})")
    return build_synthetic(path, size=size, seed=seed)


def _call_run(mod, bundle, cfg, out_dir, progress):
    kw = {"progress": progress} if "progress" in inspect.signature(mod.run).parameters else {}
    return mod.run(bundle, cfg, out_dir, **kw)


def latest_picks(result, k: int = 1) -> pd.DataFrame:
    """Holdings of the last ``k`` rebalances (code, name, target weight, score, rank)."""
    h = result.holdings(last=k)
    cols = [c for c in ("signal_date", "code", "name", "target", "score", "rank") if c in h.columns]
    return h[h["target"] > 0][cols].sort_values(["signal_date", "target"], ascending=[True, False]).reset_index(drop=True)


def split_metrics(result, oos_start, *, n_boot: int = 500) -> pd.DataFrame:
    """Metrics of the in-sample part (before ``oos_start``) and the out-of-sample part (from it on)."""
    from etfrot.backtest.metrics import summary

    cut = pd.Timestamp(oos_start)
    keys = ["start", "end", "annual_return", "annual_excess", "annual_excess_ci_lo", "annual_excess_ci_hi",
            "information_ratio", "max_drawdown", "excess_max_drawdown"]
    cols = {}
    for label, nav in (("in sample", result.nav[result.nav.index < cut]), ("out of sample", result.nav[result.nav.index >= cut])):
        if len(nav) < 20:
            continue
        b = result.benchmark_nav.reindex(nav.index) if result.benchmark_nav is not None else None
        cols[label] = summary(nav, b, n_boot=n_boot).reindex(keys)
    return pd.DataFrame(cols)


def run_compare(bundle, configs: dict, out_dir: str | Path, *, oos_start=None, title: str = "Strategies compared",
                progress=None) -> DemoResult:
    """Run each ``{strategy name: config}`` on ``bundle`` (each writes ``out_dir/<name>/report.html``) and
    write one comparison report. ``oos_start``: first out-of-sample day, shown apart from the rest."""
    from etfrot.report import charts
    from etfrot.report.html import Section, write_report
    from etfrot.report.sections import metrics_table
    from etfrot.strategies import get_strategy

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    step = progress or (lambda _m: None)
    syn = bundle.is_synthetic
    results, picks, secs, links = {}, {}, {}, {}
    for name, raw in configs.items():
        t = time.perf_counter()
        strategy = raw.get("strategy", name) if isinstance(raw, dict) else name
        mod = get_strategy(strategy)
        cfg = mod.validate_config(raw)
        step(f"{name}: running")
        res, _ = _call_run(mod, bundle, cfg, out / name, lambda m, n=name: step(f"{n}: {m}"))
        results[name], picks[name] = res, latest_picks(res)
        secs[name] = time.perf_counter() - t
        links[f"{name} — full report"] = f"{name}/report.html"

    step("comparison report")
    summary = pd.DataFrame({n: r.metrics(n_boot=500).reindex(SUMMARY) for n, r in results.items()}).T
    summary.insert(0, "benchmark", [str(r.benchmark_name) for r in results.values()])
    summary["run seconds"] = pd.Series(secs)
    yearly = pd.DataFrame({n: r.yearly()["excess"] for n, r in results.items() if r.benchmark_nav is not None})
    rel = pd.DataFrame({n: r.relative_nav() for n, r in results.items() if r.benchmark_nav is not None})
    nav = pd.DataFrame({n: r.nav for n, r in results.items()})
    label = "SYNTHETIC DATA: these figures come from a simulated market, not a real one. " if syn else f"{bundle.label}. "
    sections = [
        Section(title,
                label + "Each strategy uses its own benchmark (seed 000: CSI 300 total return; seed 001: equal weight "
                "of its ETF pool; seed 002: industry equal weight), so compare excess returns and information ratios, "
                "not raw returns alone. Annual excess = annualised return of the relative NAV (strategy / benchmark); "
                "95 % block-bootstrap intervals show how uncertain each backtest is.",
                tables={"summary": summary}, links=links),
        Section("Per-year excess (relative NAV)", tables={"excess per year": yearly},
                figures=[charts.lines_chart(rel, title="Relative NAV (strategy / own benchmark)", synthetic=syn),
                         charts.lines_chart(nav, title="NAV", synthetic=syn)]),
    ]
    if oos_start is not None:
        sections.append(Section(f"In sample vs out of sample (from {pd.Timestamp(oos_start):%Y-%m-%d})",
                                 "No parameter was chosen on the out-of-sample period: it is shown apart so that a "
                                 "reader can see how the rules did on data they were not fitted to.",
                                 tables={n: split_metrics(r, oos_start) for n, r in results.items()}))
    from etfrot.report.tearsheet import comparison_sections

    sections += comparison_sections(results, synthetic=syn, bundle=bundle)
    sections.append(Section("Latest picks", "The holdings each strategy would set at its latest rebalance date.",
                            tables={f"{n}": p.set_index("code") for n, p in picks.items()}))
    for n, r in results.items():
        sections[0].tables[f"{n}: metrics"] = metrics_table(r.metrics(n_boot=500))
    report = write_report(out, title=title, synthetic=syn, data_label=bundle.label, sections=sections,
                          config={"strategies": {n: (c if isinstance(c, dict) else str(c)) for n, c in configs.items()},
                                  "bundle": str(bundle.path), "oos_start": str(oos_start) if oos_start else None},
                          manifest={"data_hash": bundle.content_hash, "seeds": {"bundle.seed": bundle.manifest.get("meta", {}).get("seed")}})
    return DemoResult(out, report, summary, picks, secs, syn)


def run_demo(out_dir: str | Path = "etfrot-demo", *, bundle: str | Path | None = None, size: str = "default", seed: int = 0,
             strategies=DEMO_STRATEGIES, configs: dict | None = None, progress=None) -> DemoResult:
    """The demo: the synthetic market (built if absent) and each strategy's shipped ``<name>_demo`` config;
    ``configs`` may override a strategy's config mapping (tests use smaller ones)."""
    from etfrot.strategies import load_config

    out = Path(out_dir)
    b = open_or_build(Path(bundle) if bundle else out / "bundle", size, seed, progress)
    cfgs = {n: (configs or {}).get(n) or load_config(f"{n}_demo") for n in strategies}
    return run_compare(b, cfgs, out, title="etfrot demo — three strategies on one synthetic market", progress=progress)
