"""Config-driven backtest (``etfrot backtest CONFIG``): universe → scores → selection → weights → engine → report.

Each step is a small function over plain data that the strategies may reuse:
:func:`instruments` (prices, opens, tradability, delist dates, names of ETFs or indices),
:func:`universe_mask` (point-in-time screening, SPEC §5), :func:`scores_panel` (registered factors as a
direction-signed z-score composite, a file, or seeded random scores), :func:`etfrot.portfolio.select_weights`
(SPEC §6), :func:`etfrot.backtest.run_backtest` (SPEC §7) and :func:`benchmark_for`.
It also implements the strategy interface of :mod:`etfrot.strategies`: ``validate_config`` and
``run(bundle, config, out_dir=None) -> (result, sections)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.config import BacktestConfig, config_dict, load_config
from etfrot.errors import ConfigError, DataMissingError
from etfrot.strategies.coverage import (
    Coverage,
    ScoreCoverage,
    coverage_section,
    factor_inputs,
    score_coverage,
)


@dataclass
class Instruments:
    """What can be traded: adjusted closes/opens, tradable flags, delist dates and names (date × code);
    for ETFs also the raw (unadjusted) closes/opens the lot-based engine trades at, the traded amount
    (CNY per day) and the fund size (CNY) the capacity report reads."""

    kind: str
    prices: pd.DataFrame
    opens: pd.DataFrame | None
    tradable: pd.DataFrame | None
    delisted: pd.Series | str | None
    names: pd.Series
    bundle: object = None  # ETFs: where the raw prices, amount and size below are read from (on first use)

    def _bars(self, field: str) -> pd.DataFrame | None:
        return None if self.kind != "etf" or self.bundle is None else self.bundle.panel("etf_bars", field)

    @property
    def raw_prices(self) -> pd.DataFrame | None:
        return self._bars("close")

    @property
    def raw_opens(self) -> pd.DataFrame | None:
        return self._bars("open")

    @property
    def amount(self) -> pd.DataFrame | None:
        return self._bars("amount")

    @property
    def aum(self) -> pd.DataFrame | None:
        return self._bars("aum")


def instruments(bundle, kind: str = "etf") -> Instruments:
    """ETFs: adjusted close/open, listed flags and delist dates of ``etf_info``; indices: close/open levels."""
    if kind == "etf":
        info = bundle.info("etf")
        return Instruments("etf", bundle.panel("etf_bars", "close", adjusted=True),
                           bundle.panel("etf_bars", "open", adjusted=True), bundle.listed("etf"),
                           info["delist_date"].dropna(), info["name"], bundle)
    if kind == "index":
        info = bundle.info("index")
        return Instruments("index", bundle.panel("index_bars", "close"), bundle.panel("index_bars", "open"),
                           None, "infer", info["name"])
    raise ConfigError(f"unknown universe kind {kind!r}; use 'etf' or 'index'")


def universe_mask(bundle, cfg: BacktestConfig, dates: pd.DatetimeIndex, prices: pd.DataFrame) -> pd.DataFrame:
    """Bool panel (rebalance date × code) of what may be selected on each date (point-in-time)."""
    u = cfg.universe
    if u.kind == "etf":
        from etfrot.universe.screen import screen_etfs

        mask = screen_etfs(bundle, dates, categories=tuple(u.categories), exclude_overseas=u.exclude_overseas,
                           min_aum=u.min_aum, min_listed_months=u.min_listed_months, one_per_index=u.one_per_index).kept
    else:
        from etfrot.universe.screen import index_universe

        mask = index_universe(bundle, dates, categories=tuple(u.categories), min_aum=u.min_aum,
                              min_listed_months=u.min_listed_months, exclude_overseas=u.exclude_overseas)
    mask = mask.reindex(columns=prices.columns, fill_value=False)
    if u.codes is not None:
        unknown = sorted(set(u.codes) - set(prices.columns))
        if unknown:
            raise ConfigError(f"universe.codes: {len(unknown)} codes have no bars in the bundle, e.g. {unknown[:5]}")
        mask = mask & pd.DataFrame(np.isin(prices.columns, u.codes)[None, :], index=mask.index, columns=mask.columns)
    mask = mask & prices.reindex(dates).notna()
    if not mask.to_numpy().any():
        raise DataMissingError("the universe is empty on every rebalance date; loosen universe.min_aum / "
                               "min_listed_months / categories or check the bundle.")
    return mask


def scores_panel(bundle, cfg: BacktestConfig, dates: pd.DatetimeIndex, mask: pd.DataFrame) -> pd.DataFrame:
    """Scores on the rebalance dates (higher = better), NaN outside the universe.

    factor: one factor ⇒ direction × value; several ⇒ Σ_f w_f · z_f with z the cross-sectional z-score of
    direction × value over the universe on each date (weights default equal, renormalised over the
    factors a code has). file: a wide CSV/Parquet panel (first column/ index = date), read as of each date
    (none after the file's last date: the run then ends there, :mod:`etfrot.strategies.coverage`).
    random: uniform(0, 1) scores from ``numpy.random.default_rng(seed)`` (the null strategy).
    """
    s = cfg.scores
    codes = mask.columns
    if s.source == "random":
        rng = np.random.default_rng(s.seed)
        out = pd.DataFrame(rng.random(mask.shape), index=dates, columns=codes)
    elif s.source == "file":
        p = Path(s.path)
        if not p.is_file():
            raise ConfigError(f"scores.path {s.path!r} not found")
        raw = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, index_col=0, parse_dates=True)
        if not isinstance(raw.index, pd.DatetimeIndex):
            raw = raw.set_index(pd.DatetimeIndex(raw.iloc[:, 0])).iloc[:, 1:]
        raw = raw.sort_index()
        pos = raw.index.searchsorted(dates, side="right") - 1
        vals = raw.reindex(columns=codes).to_numpy(dtype=float)
        inside = (pos >= 0) & (dates <= raw.index[-1])  # as of each date, but not past the file's last date
        out = pd.DataFrame(np.where(inside[:, None], vals[np.clip(pos, 0, None)], np.nan), index=dates, columns=codes)
    else:
        from etfrot.factors import FactorEngine, get_factor
        from etfrot.portfolio.composite import composite_scores

        eng = FactorEngine(bundle)
        level = "etf" if cfg.universe.kind == "etf" else "index"
        panels = {n: eng.compute(n, level, **s.params.get(n, {})).reindex(index=dates, columns=codes) for n in s.factors}
        dirs = {n: get_factor(n).direction for n in s.factors}
        if len(panels) == 1:
            out = next(iter(panels.values())) * dirs[s.factors[0]]
        else:
            out = composite_scores(panels, dirs, dict(zip(s.factors, s.weights)) if s.weights else None, mask=mask)
    out = out.where(mask)
    out.index.name, out.columns.name = "date", "code"
    return out


def benchmark_for(bundle, cfg: BacktestConfig, inst: Instruments, mask: pd.DataFrame) -> pd.Series | None:
    """The configured benchmark as a level series (``None`` for kind 'none')."""
    from etfrot.backtest.benchmarks import benchmark_nav

    b = cfg.benchmark
    if b.kind == "equal_weight":
        cols = mask.columns[mask.to_numpy().any(axis=0)]
        daily = mask[cols].astype(float).reindex(inst.prices.index).ffill().fillna(0.0).astype(bool)
        return benchmark_nav(bundle, "equal_weight", universe=inst.prices[cols], eligible=daily,
                             rebalance=b.rebalance).rename(f"equal weight of the universe ({b.rebalance})")
    nav = benchmark_nav(bundle, b.kind, b.code, rebalance=b.rebalance, source=b.source)
    if nav is not None and b.kind == "total_return":
        nav = nav.rename(f"{nav.name} (total return of {b.code})")
    return nav


def price_vs_total_return(bundle, cfg: BacktestConfig, bench: pd.Series | None, start,
                          price_share: float | None = None) -> str | None:
    """A warning when price indices (``universe.kind: index``, no dividends) are held against a total-return
    benchmark, with the measured gap: annual return of the total-return index − that of its price index over the
    backtest (≈ the dividend yield by which the excess is understated); None when the comparison is like for like.
    ``price_share``: the mean weight held in price indices when only part of the holdings are (the rest ETFs or
    total-return indices); 0 gives None."""
    from etfrot.backtest.benchmarks import index_nav
    from etfrot.backtest.metrics import annual_return

    if bench is None or cfg.universe.kind != "index" or cfg.benchmark.kind != "total_return":
        return None
    if price_share is not None and price_share <= 0:
        return None
    price = index_nav(bundle, cfg.benchmark.code or "000300.SH")
    tr = bench[bench.index >= pd.Timestamp(start)].dropna()
    common = tr.index.intersection(price.index)
    gap = (annual_return(tr[common]) - annual_return(price[common])) if len(common) > 2 else float("nan")
    size = f"{gap:.2%} a year" if np.isfinite(gap) else "the dividend yield (not measurable here)"
    part = ("the strategy holds index levels" if price_share is None or price_share >= 1 else
             f"{price_share:.0%} of the strategy's weight (on average) is in index levels — the indices with neither a "
             "listed ETF nor a total-return series —")
    scaled = "" if price_share is None or price_share >= 1 else f" × {price_share:.0%} held in them"
    return (f"PRICE INDICES vs a TOTAL-RETURN benchmark: {part}, which earn no dividends, "
            f"against {bench.name}, which reinvests them — every excess figure is understated by about the dividend "
            f"yield: {size}{scaled} over the backtest (total-return minus price index of {cfg.benchmark.code}). Hold "
            "the ETFs (universe.kind: etf) or compare with the price index (benchmark.kind: index) for a like-for-like "
            "excess.")


def build_weights(bundle, cfg: BacktestConfig):
    """(weights, scores, mask, instruments) of a config, all point-in-time on the rebalance dates."""
    from etfrot.portfolio import select_weights

    inst = instruments(bundle, cfg.universe.kind)
    dates = schedule(cfg, inst)
    mask = universe_mask(bundle, cfg, dates, inst.prices)
    scores = scores_panel(bundle, cfg, dates, mask)
    sel = cfg.selection
    rets = inst.prices / inst.prices.shift(1) - 1 if sel.method == "mmr" else None
    w = select_weights(scores, dates, method=sel.method, n=sel.n, q=sel.quantile, weighting=sel.weighting, cap=sel.cap,
                       universe=mask, returns=rets, lam=sel.lam, window=sel.window, min_overlap=sel.min_overlap)
    w = w.reindex(columns=w.columns[w.to_numpy().any(axis=0)])
    held_any = w.to_numpy().sum(axis=1) > 0
    if not held_any.any():
        raise DataMissingError("the selection is empty on every rebalance date (no scores inside the universe); "
                               "check scores.factors against the bundle's tables and the universe rules.")
    first = int(np.argmax(held_any))
    return w.iloc[first:], scores, mask, inst


def backtest_weights(cfg: BacktestConfig, weights: pd.DataFrame, inst: Instruments, bench: pd.Series | None,
                     scores: pd.DataFrame | None = None, coverage: ScoreCoverage | None = None):
    """The engine run of a config: its execution price, costs and end date on ``inst``'s prices; the lot-based
    engine (raw prices, whole lots, minimum fee, capital) when ``execution.lot_size`` is set.

    Rebalances without scores follow :mod:`etfrot.strategies.coverage` (``coverage``, else computed from
    ``scores`` and ``weights``): no trade inside the run, and the run ends at the first rebalance after the
    last scored one; it also ends where ``inst``'s prices end."""
    from etfrot.backtest.engine import run_backtest

    end = None if cfg.end is None else pd.Timestamp(cfg.end)
    sc = coverage if coverage is not None else (None if scores is None else score_coverage(scores, weights, schedule(cfg, inst)))
    if sc is not None:
        weights = sc.trim(weights)
        if sc.end is not None:
            end = sc.end if end is None else min(end, sc.end)
    price_end = inst.prices.last_valid_index()
    if price_end is not None and price_end < inst.prices.index[-1]:
        end = price_end if end is None else min(end, price_end)
    ex = cfg.execution
    lots = cfg.lot_rules()
    if lots is not None and inst.raw_prices is None:
        raise ConfigError(f"execution.lot_size needs ETFs with raw prices (universe.kind: etf); universe.kind "
                          f"{inst.kind!r} holds index levels, which are not prices of shares. Drop execution.lot_size.")
    return run_backtest(weights, inst.prices, opens=inst.opens if ex.price == "next_open" else None,
                        execution=ex.price, fee=cfg.costs.fee_per_side, slippage=cfg.costs.slippage,
                        tradable=inst.tradable, delisted=inst.delisted, benchmark=bench,
                        benchmark_name=None if bench is None else str(bench.name), scores=scores, names=inst.names,
                        end=end, lots=lots, raw_prices=None if lots is None else inst.raw_prices,
                        raw_opens=None if lots is None or ex.price != "next_open" else inst.raw_opens,
                        amount=None if lots is None or ex.max_participation is None else inst.amount)


def schedule(cfg: BacktestConfig, inst: Instruments) -> pd.DatetimeIndex:
    """The rebalance dates a config asks for on ``inst``'s calendar (``frequency``, ``start``–``end``)."""
    from etfrot.data.calendar import rebalance_dates

    return rebalance_dates(inst.prices.index, cfg.frequency, cfg.start, cfg.end)


def validate_config(config) -> BacktestConfig:
    """Strategy interface: a mapping (or a validated config) → :class:`BacktestConfig`."""
    return config if isinstance(config, BacktestConfig) else load_config(config, BacktestConfig)


def run(bundle, config, out_dir=None, *, progress=None):
    """Strategy interface: run one config on ``bundle``; returns ``(result, sections)``.

    With ``out_dir`` the HTML report, tables, manifest and the saved result are written there.
    ``progress``: optional callable(step_name) for a progress display.
    """
    from etfrot.report.sections import backtest_sections

    cfg = validate_config(config)
    step = progress or (lambda _name: None)
    step("universe, scores and selection")
    w, scores, mask, inst = build_weights(bundle, cfg)
    step("benchmark")
    bench = benchmark_for(bundle, cfg, inst, mask)
    step("backtest")
    sc = score_coverage(scores, w, schedule(cfg, inst))
    res = backtest_weights(cfg, w, inst, bench, scores, coverage=sc)
    cov = Coverage.of(bundle, run_inputs(cfg), sc)
    step("report")
    title = cfg.report.title or cfg.name
    n_univ = mask.sum(axis=1)
    describe = (f"Universe: {cfg.universe.kind}s, {int(n_univ.min())}–{int(n_univ.max())} eligible per date "
                f"(median {int(n_univ.median())}); scores: {cfg.scores.source}"
                + (f" {cfg.scores.factors}" if cfg.scores.source == "factor" else "")
                + f"; selection: {cfg.selection.method}" + (f" n={cfg.selection.n}" if cfg.selection.method != "top_quantile" else f" q={cfg.selection.quantile}")
                + f", {cfg.selection.weighting} weights, {cfg.frequency}. " + cov.note())
    secs = backtest_sections(res, title=title, synthetic=bundle.is_synthetic, last_holdings=cfg.report.last_holdings,
                             n_boot=cfg.report.bootstrap, block=cfg.report.block, seed=cfg.report.seed,
                             log_nav=cfg.report.log_nav, describe=describe, bundle=bundle)
    from etfrot.strategies.capacity import capacity_sections

    secs += capacity_sections(res, inst, cfg.capital, title=title, synthetic=bundle.is_synthetic)
    secs.append(coverage_section(cov, title=title))
    if out_dir is not None:
        write_run(out_dir, res, secs, cfg, bundle, coverage=cov)
    return res, secs


def run_inputs(cfg: BacktestConfig) -> list[str]:
    """The dated tables a config reads: its instruments' bars, its factors' tables, the benchmark's bars."""
    tables = [f"{cfg.universe.kind}_bars"]
    if cfg.scores.source == "factor":
        tables += factor_inputs(cfg.scores.factors)
    if cfg.benchmark.kind != "none":
        tables.append("etf_bars" if cfg.benchmark.kind == "etf" else f"{cfg.universe.kind}_bars"
                      if cfg.benchmark.kind == "equal_weight" else "index_bars")
    return tables


def run_manifest(cfg: BacktestConfig, bundle, coverage: Coverage | None = None) -> dict:
    """Manifest entries that make a run reproducible: data hash, bundle, seeds; and where its inputs end."""
    seeds = {"report.bootstrap_seed": cfg.report.seed}
    if cfg.scores.source == "random":
        seeds["scores.seed"] = cfg.scores.seed
    if cfg.synth is not None:
        seeds["synth.seed"] = cfg.synth.seed
    meta = bundle.manifest.get("meta", {}) or {}
    if "seed" in meta:
        seeds["bundle.seed"] = meta["seed"]
    out = {"data_hash": bundle.content_hash, "bundle": str(bundle.path), "data_source": bundle.source, "seeds": seeds}
    if coverage is not None:
        out["coverage"] = coverage.manifest()
    return out


def write_run(out_dir, res, sections, cfg: BacktestConfig, bundle, coverage: Coverage | None = None,
              caveats: list[str] | None = None) -> Path:
    """Write report.html, tables/, manifest.json, config.json and result/ into ``out_dir`` (``caveats`` go into
    the manifest and result/ beside the report's own text)."""
    import json

    from etfrot.report import write_report

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    conf = config_dict(cfg)
    res.save(out / "result")
    (out / "config.json").write_text(json.dumps(conf, indent=2, ensure_ascii=False))
    man = run_manifest(cfg, bundle, coverage)
    if caveats:
        man["caveats"] = list(caveats)
        (out / "result" / "CAVEATS.txt").write_text("\n".join(caveats) + "\n")
    return write_report(out, title=cfg.report.title or cfg.name, synthetic=bundle.is_synthetic, data_label=bundle.label,
                        sections=sections, config=conf, manifest=man)
