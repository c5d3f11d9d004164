"""``agru_index_rotation`` (seed 000): AGRU stock factor → index factor → top 10 % of indices weekly with
MMR de-duplication → one ETF per index → backtest against the CSI 300 total-return index.

Pipeline (each step uses data known on the date):

1. **Stock factor** (seed 000 §2): the AGRU model trained per ``stock_model.split`` (walk-forward yearly
   by default) scores every stock out of sample on the weekly ∪ monthly rebalance dates
   (:func:`etfrot.model.pipeline.cached_stock_factor`; cached on disk by data + settings, so variants
   and sweeps reuse it). ``stock_model.scores_path`` takes a precomputed panel instead
   (``etfrot model predict``).
2. **Index factor** (seed 000 §3.2): index_factor(t) = Σ w_i(s)·f_i(t) / Σ_known w_i(s) over the latest
   constituent snapshot s ≤ t (:func:`etfrot.factors.aggregate.aggregate_to_index`), NaN below
   ``index_factor.min_coverage``. Tested weekly and monthly, on all indices and industry/theme only.
3. **Universe** (seed 000 §3.1, §3.5): A-share indices tracked by a listed ETF on the date
   (:func:`etfrot.universe.screen.screen_etfs`, overseas excluded), one ETF per index (largest size,
   then 20-day amount, then fee); the AUM ≥ 1e8 variant sets ``universe.min_aum``. ``universe.kind: index``
   holds the indices themselves (for data whose ETF-tracked indices have no constituent weights, such as
   the real bundle, where only SW level-1 industries carry weights).
4. **Selection** (seed 000 §3.3–3.4, §4, :class:`MMRSection`): s = rank-normalised index factor, corr =
   Pearson correlation of the indices' daily returns over the trailing ``selection.window`` days
   (5 years), greedy MMR λ·s_i − (1−λ)·max_{j∈S} corr(i, j). Without ``selection.n`` (the seed's
   strategy, "将指数因子排名靠前的10％的指数作为备选标的，额外使用MMR算法排除掉相关性过高的指数"): the
   candidates are the top ``mmr.candidates`` (10 %) of the universe, held in MMR's order less every
   candidate too correlated with a name already held (``mmr.max_corr_quantile``: above the date's
   90th percentile of the universe's pair correlations; or an absolute ``mmr.max_corr``), so the
   number held varies; the holdings table shows how many were dropped per date. With
   ``selection.n`` (the fixed-N variants, seed 000 §4, which re-tuned MMR): N picks by MMR with
   λ = ``mmr.n_lam`` from the top ``mmr.n_candidates`` (at least N), no threshold.
   ``selection.method: top_quantile`` / ``top_n`` give the plain versions. Equal weight.
5. **Backtest** (seed 000 §3.3): the chosen ETFs, weekly, 0.05 % per side (0.1 % round trip), signal at
   the close of t, trade at the close of t+1; benchmark: CSI 300 total return.

λ is not given in seed 000: 0.7 (score-leaning) in the top-10 % strategy, 0.5 for fixed N (the only λ
the seed shows, in its worked example); both documented choices, swept with ``etfrot sweep``. The
previous default (MMR picks as many as the top 10 % from the top 30 %, λ = 0.7, no drops) is the named
config ``agru_index_rotation_mmr30``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from etfrot.config import (
    BacktestConfig,
    BenchmarkConfig,
    SelectionConfig,
    StrictModel,
    UniverseConfig,
    load_config,
    register_config,
)
from etfrot.errors import ConfigError, DataMissingError
from etfrot.model.config import EvalConfig, ModelConfig, SplitConfig, WindowConfig
from etfrot.strategies import runner
from etfrot.strategies.agru_mmr import MMRSection, mmr_section, mmr_settings, mmr_words
from etfrot.strategies.index_holdings import (
    etf_weights,
    held_instruments,
    held_mix,
    holders,
    index_scores_on,
    price_index_share,
    weight_set_table,
    weight_sets,
)


class AgruUniverse(UniverseConfig):
    """The universe, plus ``hold_etf`` (``kind: index`` only): hold each selected index through its ETF where one
    passes the ETF screen on the date (largest size, then 20-day amount, then fee), else through its total-return
    index where the bundle has one (``index_info.total_return_of``), else the (price) index itself — what an
    investor can hold, and only the indices without either are price series against the benchmark."""

    hold_etf: bool = False

    @model_validator(mode="after")
    def _hold(self):
        if self.hold_etf and self.kind != "index":
            raise ValueError("universe.hold_etf is for kind: index (kind: etf holds ETFs already); drop it")
        return self


class StockModelSection(StrictModel):
    """How the AGRU stock factor is made (``etfrot.model``) and how it is tested."""

    model: ModelConfig = Field(default_factory=ModelConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    scores_path: str | None = None  # a precomputed date × stock panel (Parquet/CSV) instead of training
    cache_dir: str | None = "runs/cache"
    evaluate: EvalConfig | None = Field(default_factory=lambda: EvalConfig(compare=[]))
    progress: bool = False


class IndexFactorSection(StrictModel):
    """Stock → index aggregation and the index factor tests (seed 000 §3.2)."""

    min_coverage: float = Field(0.5, ge=0.0, le=1.0)
    #: a rebalance with fewer scored indices than this counts as unscored (a rotation needs a choice; e.g. when
    #: the weights of all but one index have ended, the run ends instead of holding the last one for ever)
    min_indices: int = Field(1, ge=1)
    test_freqs: list[Literal["weekly", "monthly"]] = Field(default_factory=lambda: ["weekly", "monthly"])
    test_universes: list[Literal["all", "industry"]] = Field(default_factory=lambda: ["all", "industry"])
    quantiles: int = Field(5, ge=2)


@register_config("agru_index_rotation")
class AgruIndexRotationConfig(BacktestConfig):
    """Seed 000 defaults: every A-share index category, weekly, top 10 % by MMR, CSI 300 total return."""

    strategy: Literal["agru_index_rotation"] = "agru_index_rotation"
    name: str = "agru_index_rotation"
    universe: AgruUniverse = Field(default_factory=lambda: AgruUniverse(
        kind="etf", categories=["broad", "industry_theme", "strategy_style"], min_aum=None, min_listed_months=3))
    selection: SelectionConfig = Field(default_factory=lambda: SelectionConfig(
        method="mmr", n=None, quantile=0.1, lam=0.7, window=1250, min_overlap=250))
    mmr: MMRSection = Field(default_factory=MMRSection)
    frequency: Literal["weekly", "monthly"] = "weekly"
    benchmark: BenchmarkConfig = Field(default_factory=lambda: BenchmarkConfig(kind="total_return", code="000300.SH"))
    stock_model: StockModelSection = Field(default_factory=StockModelSection)
    index_factor: IndexFactorSection = Field(default_factory=IndexFactorSection)
    holdings_weeks: int = Field(12, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data):
        if isinstance(data, dict) and "mmr_candidates" in data:
            raise ValueError("mmr_candidates moved: use mmr.candidates (top-quantile MMR) or mmr.n_candidates "
                             "(fixed N, selection.n set); the old default 0.3 is config agru_index_rotation_mmr30")
        if isinstance(data, dict) and isinstance(data.get("selection"), dict) and "n" not in data["selection"]:
            data = {**data, "selection": {**data["selection"], "n": None}}  # seed 000: top 10 % unless n is given
        return data

    @model_validator(mode="after")
    def _check(self):
        if self.selection.n and self.selection.method == "mmr" and "lam" in self.selection.model_fields_set:
            raise ValueError("with selection.n set (fixed N) MMR's λ is mmr.n_lam; leave selection.lam out "
                             "(it is the top-quantile strategy's λ)")
        if "scores" in self.model_fields_set:
            raise ValueError("scores: this strategy makes its own scores (set stock_model, or stock_model.scores_path "
                             "for a precomputed panel); leave `scores` out")
        return self


def validate_config(config) -> AgruIndexRotationConfig:
    """Strategy interface: mapping / path → validated config (ConfigError naming bad keys)."""
    return config if isinstance(config, AgruIndexRotationConfig) else load_config(config, AgruIndexRotationConfig)


# ------------------------------------------------------------------------------------------ steps
def stock_scores(bundle, cfg: AgruIndexRotationConfig, *, progress=None) -> tuple[pd.DataFrame, pd.DataFrame, dict, object]:
    """(AGRU stock scores on weekly ∪ monthly dates, training history, {variant: scores}, dataset or None)."""
    from etfrot.model.pipeline import cached_stock_factor, prediction_dates, variant

    sm = cfg.stock_model
    if sm.scores_path is not None:
        from pathlib import Path

        p = Path(sm.scores_path)
        if not p.is_file():
            raise ConfigError(f"stock_model.scores_path {sm.scores_path!r} not found; write one with "
                              "`etfrot model predict MODEL_DIR --bundle B --out FILE`")
        s = pd.read_parquet(p) if p.suffix == ".parquet" else pd.read_csv(p, index_col=0, parse_dates=True)
        s.index = pd.DatetimeIndex(s.index, name="date")
        return s, pd.DataFrame(), {"agru": s}, None
    dates = prediction_dates(bundle.calendar, "rebalance")
    step = progress or (lambda _m: None)
    step("stock model: agru")
    scores, hist, ds = cached_stock_factor(bundle, sm.model, sm.window, sm.split, dates=dates, cache_dir=sm.cache_dir,
                                           progress=sm.progress)
    out, hists = {"agru": scores}, [hist.assign(variant="agru")]
    for v in (sm.evaluate.compare if sm.evaluate else []):
        step(f"stock model: {v}")
        out[v], h, ds = cached_stock_factor(bundle, variant(sm.model, v), sm.window, sm.split, dates=dates,
                                            cache_dir=sm.cache_dir, dataset=ds, progress=sm.progress)
        hists.append(h.assign(variant=v))
    return scores, pd.concat(hists, ignore_index=True), out, ds


def index_scores(bundle, stock: pd.DataFrame, cfg: AgruIndexRotationConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(index factor, coverage) on the stock scores' dates for every A-share index with weights."""
    from etfrot.factors.aggregate import aggregate_to_index

    info = bundle.table("index_info")
    codes = info.loc[info["region"].astype(str) != "overseas", "code"].astype(str).tolist()
    return aggregate_to_index(stock, bundle, codes, min_coverage=cfg.index_factor.min_coverage)


def index_factor_table(bundle, factor: pd.DataFrame, cfg: AgruIndexRotationConfig) -> tuple[pd.DataFrame, dict]:
    """Seed 000 §3.2 tables: index factor tests per frequency × universe (indices with a listed ETF)."""
    from etfrot.data.calendar import rebalance_dates
    from etfrot.evaluation import factor_test
    from etfrot.universe.screen import index_universe

    f = cfg.index_factor
    u = cfg.universe
    have = factor.index[factor.notna().any(axis=1)]
    prices = bundle.panel("index_bars", "close")
    rows, results = [], {}
    for freq in f.test_freqs:
        dates = rebalance_dates(bundle.calendar, freq, cfg.start, cfg.end)
        dates = dates[dates.isin(have)]
        if len(dates) < 3:
            continue
        for uni in f.test_universes:
            cats = ["industry_theme"] if uni == "industry" else list(u.categories)
            if u.kind == "etf":
                mask = index_universe(bundle, dates, categories=cats, min_aum=u.min_aum,
                                      min_listed_months=u.min_listed_months)
            else:
                mask = direct_index_universe(bundle, dates, cats, u.exclude_overseas, u.codes)
            mask = mask.reindex(columns=prices.columns, fill_value=False)
            r = factor_test(factor.reindex(index=dates, columns=prices.columns), prices, dates, quantiles=f.quantiles,
                            universe=mask, name=f"{freq}/{uni}")
            results[(freq, uni)] = r
            q = r.quantiles.metrics() if r.quantiles is not None else {}
            rows.append({"frequency": freq, "indices": uni, "ic_mean": r.ic_stats["mean"], "icir": r.ic_stats["icir"],
                         "ic_t_nw": r.ic_stats["t_nw"], "ic_win_rate": r.ic_stats["pos_share"], "rank_ic_mean": r.rank_ic_stats["mean"],
                         "rank_icir": r.rank_ic_stats["icir"], "long_excess_annual": q.get("excess_annual_return", np.nan),
                         "long_excess_max_drawdown": q.get("excess_max_drawdown", np.nan),
                         "long_ir": q.get("information_ratio", np.nan), "long_win_rate": q.get("win_rate", np.nan),
                         "periods": r.ic_stats["n"], "indices_per_date": float(mask.sum(axis=1).mean())})
    return pd.DataFrame(rows), results


def direct_index_universe(bundle, dates: pd.DatetimeIndex, categories, exclude_overseas: bool = True,
                          codes=None) -> pd.DataFrame:
    """``universe.kind: index``: bool panel date × index of the indices held directly (no ETF): the given
    categories (overseas excluded), a close on the date — for data whose ETF-tracked indices lack
    constituent weights (e.g. the real bundle's SW level-1 industries). A total-return series of an index
    (``index_info.total_return_of``) is the same index, not another one: left out (``universe.hold_etf`` holds
    through it)."""
    from etfrot.universe.screen import is_overseas_code

    info = bundle.table("index_info")
    ok = info["category"].astype(str).isin(list(categories)).to_numpy(dtype=bool) & info["total_return_of"].isna().to_numpy()
    if exclude_overseas:
        ok = ok & (info["region"].astype(str) != "overseas").to_numpy(dtype=bool) & ~is_overseas_code(info["code"])
    sel = pd.Index(info.loc[ok, "code"].astype(str))
    if codes is not None:
        sel = sel.intersection(pd.Index(codes))
    px = bundle.panel("index_bars", "close").reindex(index=pd.DatetimeIndex(dates), columns=sel)
    return px.notna()


def select_indices(bundle, scores: pd.DataFrame, dates: pd.DatetimeIndex, universe: pd.DataFrame,
                   cfg: AgruIndexRotationConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(index weights date × index, MMR table per date or None): MMR / top-quantile / top-N of the index
    factor over the universe. The MMR table: candidates, held, dropped, low_overlap_pairs, max_corr."""
    from etfrot.portfolio import select_weights

    sel = cfg.selection
    n = sel.n if sel.method != "top_quantile" else None
    if sel.method == "top_n" and not n:
        raise ConfigError("selection.method top_n needs selection.n")
    if sel.method != "mmr":
        return select_weights(scores, dates, method=sel.method, n=n, q=sel.quantile, universe=universe), None
    px = bundle.panel("index_bars", "close")
    rets = (px / px.shift(1) - 1).reindex(columns=scores.columns)
    info = bundle.table("index_info")
    groups = pd.Series(info["category"].astype(str).to_numpy(), index=info["code"].astype(str).to_numpy())
    return select_weights(scores, dates, method="mmr", n=n, q=sel.quantile, universe=universe, returns=rets,
                          window=sel.window, min_overlap=sel.min_overlap, groups=groups, return_mmr=True,
                          **mmr_settings(cfg))


def holdings_table(w_idx: pd.DataFrame, idx_scores: pd.DataFrame, etf_for_index: pd.DataFrame, bundle,
                   last: int, mmr: pd.DataFrame | None = None) -> pd.DataFrame:
    """Seed 000 §4: the holdings of the last ``last`` rebalances — index, name, ETF, weight, factor, rank;
    with ``mmr`` (the MMR table per date) also the date's MMR candidates and how many of them were dropped."""
    w = w_idx.iloc[-last:]
    d, j = np.nonzero(w.to_numpy() > 0)
    dates, idx = w.index[d], w.columns[j]
    names = bundle.info("index")["name"]
    etf_names = bundle.info("etf")["name"] if etf_for_index is not None else None
    s = idx_scores.reindex(index=w.index, columns=w.columns)
    rank = s.rank(axis=1, ascending=False, method="min")
    out = pd.DataFrame({"date": dates, "index": idx, "index_name": names.reindex(idx).to_numpy()})
    if etf_for_index is not None:
        etf = etf_for_index.reindex(index=w.index, columns=w.columns).to_numpy(object)[d, j]
        out["etf"], out["etf_name"] = etf, etf_names.reindex(pd.Index(etf)).to_numpy()
    out["weight"], out["index_factor"], out["rank"] = w.to_numpy()[d, j], s.to_numpy()[d, j], rank.to_numpy()[d, j]
    if mmr is not None:
        m = mmr.reindex(pd.DatetimeIndex(dates))
        out["mmr_candidates"] = m["candidates"].to_numpy()
        out["mmr_dropped"] = m["dropped"].to_numpy()
    return out.sort_values(["date", "rank"], ascending=[False, True]).reset_index(drop=True)


# ------------------------------------------------------------------------------------------ run
def run(bundle, config, out_dir=None, *, progress=None):
    """Strategy interface: ``(Result, sections)``; with ``out_dir`` writes report.html, tables, manifest, result.

    Sections: backtest summary / NAV / per-year excess / holdings, weekly holdings with index and ETF
    names, index factor tests (weekly, monthly × all, industry), the stock model's out-of-sample IC and
    (``stock_model.evaluate``) its stock factor tests per pool, all labelled SYNTHETIC on synthetic data.
    """
    from etfrot.data.calendar import rebalance_dates
    from etfrot.report import charts
    from etfrot.report.html import Section
    from etfrot.report.sections import backtest_sections
    from etfrot.universe.screen import screen_etfs

    cfg = validate_config(config)
    step = progress or (lambda _m: None)
    syn = bundle.is_synthetic
    lab = "SYNTHETIC DATA. " if syn else ""

    stock, hist, variants, ds = stock_scores(bundle, cfg, progress=step)
    step("index factor")
    idx_f, cov = index_scores(bundle, stock, cfg)
    have = idx_f.index[idx_f.notna().any(axis=1)]
    if len(have) == 0:
        raise DataMissingError("no index has a factor value (constituent weights do not cover the scored stocks); "
                               "check index_weights or lower index_factor.min_coverage")
    dates = rebalance_dates(bundle.calendar, cfg.frequency, cfg.start, cfg.end)
    dates = dates[(dates >= have[0]) & dates.isin(idx_f.index)]
    if len(dates) < 2:
        raise DataMissingError(f"fewer than 2 {cfg.frequency} rebalance dates carry index scores "
                               f"({have[0]:%Y-%m-%d} → {have[-1]:%Y-%m-%d}); lengthen the test period")
    step("universe and selection")
    u = cfg.universe
    if u.kind == "etf":
        scr = screen_etfs(bundle, dates, categories=tuple(u.categories), exclude_overseas=u.exclude_overseas,
                          min_aum=u.min_aum, min_listed_months=u.min_listed_months, one_per_index=u.one_per_index)
        uni, etf_for_index = scr.index_universe, scr.etf_for_index
    else:  # indices held directly (hold_etf: through their ETF, else total-return index, where there is one)
        uni, etf_for_index = direct_index_universe(bundle, dates, u.categories, u.exclude_overseas, u.codes), None
        if u.hold_etf:
            scr = screen_etfs(bundle, dates, categories=tuple(u.categories), exclude_overseas=u.exclude_overseas,
                              min_aum=u.min_aum, min_listed_months=u.min_listed_months, one_per_index=True)
            etf_for_index = holders(bundle, scr.etf_for_index.reindex(index=dates, columns=uni.columns))
    uni = uni.reindex(columns=idx_f.columns, fill_value=False)
    scores = idx_f.reindex(index=dates).where(uni.reindex(dates).to_numpy())
    few = (scores.notna().sum(axis=1) < cfg.index_factor.min_indices).to_numpy()
    scores.iloc[few] = np.nan  # counted as unscored: the coverage rule ends the run or holds through the gap
    few_note = (f" {int(few.sum())} rebalance(s) with fewer than {cfg.index_factor.min_indices} scored indices count as "
                f"unscored (index_factor.min_indices), from {scores.index[few][0]:%Y-%m-%d}." if few.any() else "")
    w_idx, mmr_table = select_indices(bundle, scores, dates, uni, cfg)
    held = w_idx.to_numpy().sum(axis=1) > 0
    if not held.any():
        raise DataMissingError("no index was selected on any date; check the universe rules and index weights")
    w_idx = w_idx.iloc[int(np.argmax(held)):]
    step("backtest")
    inst = runner.instruments(bundle, u.kind)
    price_share = None
    if u.kind == "etf":
        w_trade, trade_scores = etf_weights(w_idx, etf_for_index), index_scores_on(scores, etf_for_index)
        bench = runner.benchmark_for(bundle, cfg, inst, scr.kept.reindex(columns=inst.prices.columns, fill_value=False))
    elif u.hold_etf:
        w_trade, trade_scores = etf_weights(w_idx, etf_for_index), index_scores_on(scores, etf_for_index)
        inst = held_instruments(bundle, w_trade.columns)
        price_share = price_index_share(bundle, w_trade)
        bench = runner.benchmark_for(bundle, cfg, inst, uni.reindex(columns=inst.prices.columns, fill_value=False))
    else:
        w_trade, trade_scores = w_idx.loc[:, w_idx.to_numpy().any(axis=0)], scores
        bench = runner.benchmark_for(bundle, cfg, inst, uni.reindex(columns=inst.prices.columns, fill_value=False))
    price_warning = runner.price_vs_total_return(bundle, cfg, bench, w_trade.index[0], price_share=price_share)
    if price_warning:  # named in every output that names the benchmark (tables, CSV, summary, result)
        bench = bench.rename(f"{bench.name} [total return; holdings are PRICE indices]")
    sc = runner.score_coverage(trade_scores, w_trade, runner.schedule(cfg, inst))
    res = runner.backtest_weights(cfg, w_trade, inst, bench, trade_scores, coverage=sc)
    w_idx = sc.trim(w_idx)
    inputs = runner.Coverage.of(bundle, ["stock_bars", "index_weights", "index_bars"]
                                 + ["etf_bars"] * (u.kind == "etf" or u.hold_etf), sc)

    step("report")
    sel = cfg.selection
    how = mmr_words(cfg) if sel.method == "mmr" else sel.method.replace("_", " ")
    share = cfg.mmr.candidates if sel.method == "mmr" else sel.quantile
    size = f"{sel.n}" if sel.n else "all" if share == "all" else f"the top {share:.0%} of the universe's"
    held_as = ("one ETF per index" if u.kind == "etf" else
               "each index through its ETF where one is listed, else its total-return index, else the index itself "
               f"(universe.hold_etf; {held_mix(bundle, w_trade)})" if u.hold_etf else
               "the indices held directly (no ETF: universe.kind index)")
    where = (f"{', '.join(u.categories)} indices with a listed ETF" + (f", AUM ≥ {u.min_aum:,.0f} CNY" if u.min_aum else "")
             if u.kind == "etf" else f"{', '.join(u.categories)} indices with a price")
    describe = (f"{lab}Seed 000: AGRU stock factor aggregated to indices by constituent weight; {size} indices by {how}, "
                f"equal weight, {held_as}, {cfg.frequency}; universe: {where}.{few_note} " + inputs.note())
    sections = backtest_sections(res, title=cfg.report.title or cfg.name, synthetic=syn,
                                 last_holdings=cfg.report.last_holdings, n_boot=cfg.report.bootstrap,
                                 block=cfg.report.block, seed=cfg.report.seed, log_nav=cfg.report.log_nav,
                                 describe=describe, bundle=bundle)
    hold = holdings_table(w_idx, scores, etf_for_index, bundle, cfg.holdings_weeks, mmr_table)
    n_held = (w_idx > 0).sum(axis=1)
    sections.append(Section(f"Holdings of the last {cfg.holdings_weeks} rebalances (seed 000 §4)",
                            f"{lab}Index, its ETF, weight, index factor and its rank in the universe"
                            + ("; mmr_candidates / mmr_dropped: the date's MMR candidates and how many of them MMR "
                               "dropped" if mmr_table is not None else "")
                            + f"; {int(n_held.median())} indices held at the median date "
                            f"({int(n_held.min())}–{int(n_held.max())}).",
                            tables={"holdings": hold.set_index("date")}))
    if mmr_table is not None:
        sections.append(mmr_section(mmr_table.loc[w_idx.index], cfg, lab))
    itab, ires = index_factor_table(bundle, idx_f, cfg)
    figs = []
    for (freq, uni_name), r in ires.items():
        if r.quantiles is not None and freq == cfg.frequency and uni_name == "all":
            q = r.quantiles
            figs.append(charts.quantile_nav_chart(q.nav[[f"Q{g}" for g in range(1, q.quantiles + 1)]]
                                                  .div(q.nav["universe"], axis=0), q.nav["long_short"],
                                                  title=f"Index factor: quantile NAV / universe, {freq}", synthetic=syn))
            figs.append(charts.ic_chart(r.rank_ic.dropna(), title=f"Index factor Rank IC, {freq}", synthetic=syn))
    cov_on = cov.reindex(dates).where(uni.reindex(dates).to_numpy())
    wsets = weight_set_table(bundle, cov_on)
    n_uni = uni.reindex(dates).sum(axis=1)
    n_scored = scores.notna().sum(axis=1)
    thin = ("" if n_scored.median() >= 5 else
            f" WARNING: only {int(n_scored.median())} index(es) per date carry a factor value — the bundle lacks "
            "constituent weights (or stock scores) for most ETF-tracked indices, so the selection is degenerate.")
    if thin:
        sections[0].text = sections[0].text + thin
    if price_warning:
        sections[0].text = f"{price_warning} {sections[0].text}"
    sections.append(Section("Index factor tests (seed 000 §3.2)",
                            f"{lab}Index factor = constituent-weighted mean of the AGRU stock scores (latest weight "
                            f"snapshot, coverage ≥ {cfg.index_factor.min_coverage:.0%}; median coverage over the "
                            f"universe {float(np.nanmedian(cov_on.to_numpy())):.0%}; indices with a value per date: "
                            f"median {int(n_scored.median())} of {int(n_uni.median())} in the universe).{thin} "
                            "IC against the return to the next "
                            f"rebalance; {cfg.index_factor.quantiles} groups; long = top group vs the universe's equal "
                            "weight; universe = "
                            + ("indices tracked by a listed ETF" if u.kind == "etf" else
                               f"the {', '.join(u.categories)} indices with a price") + " (all, or industry/theme only)"
                            + "; only indices with constituent weights get a value: " + weight_sets(wsets) + ".",
                            tables={"index factor tests": itab.set_index(["frequency", "indices"]) if len(itab) else itab,
                                    "weight sets (indices with a factor value)": wsets.set_index("index")},
                            figures=figs))
    sections.extend(_model_sections(bundle, cfg, variants, hist, ds, lab, syn))
    sections.append(runner.coverage_section(inputs, title=cfg.report.title or cfg.name))
    if out_dir is not None:
        runner.write_run(out_dir, res, sections, cfg, bundle, coverage=inputs,
                         caveats=[price_warning] if price_warning else None)
    return res, sections


def _model_sections(bundle, cfg, variants: dict, hist: pd.DataFrame, ds, lab: str, syn: bool) -> list:
    from etfrot.model.pipeline import test_ic_table
    from etfrot.report import charts
    from etfrot.report.html import Section

    sm = cfg.stock_model
    m = sm.model
    secs = []
    text = (f"{lab}AGRU (seed 000 §2): GRU({m.hidden_size}×{m.num_layers}) over {sm.window.lookback}-day windows of "
            f"adjusted OHLC, volume, VWAP; label = {sm.window.horizon}-day forward return z-scored per date; loss "
            f"weights {m.extreme_weight:g}/{m.base_weight:g} (top/bottom decile vs the rest); split: {sm.split.scheme}"
            + (f" ({sm.split.retrain} retraining)" if sm.split.scheme == "walk_forward" else "")
            + f"; {m.seeds if isinstance(m.seeds, int) else len(m.seeds)} seed(s) averaged. Scores are out of sample.")
    tables = {}
    if ds is not None:
        tables["test IC of the stock scores"] = test_ic_table(variants, ds)
    figs = []
    if len(hist) and "valid_rank_ic" in hist:
        key = ["variant", "epoch"] if "variant" in hist else ["epoch"]
        curves = hist.groupby(key)["valid_rank_ic"].mean()
        curves = curves.unstack("variant") if "variant" in hist else curves.to_frame("agru")
        figs.append(charts.lines_chart(curves, title="Validation Rank IC per epoch (mean over folds, seeds)", synthetic=syn))
    if sm.evaluate is not None:
        from etfrot.model.evaluate import stock_factor_table

        e = sm.evaluate
        try:
            table, _, notes = stock_factor_table(bundle, variants, pools=e.pools, freq=e.freq, quantiles=e.quantiles,
                                                 start=cfg.start, end=cfg.end)
            tables["stock factor tests per pool"] = table.set_index(["model", "pool"])
            text += (f" Stock factor tests: {e.freq}, {e.quantiles} groups per pool, excluding suspended / ST / "
                     "limit stocks. " + " ".join(notes))
        except DataMissingError as err:
            text += f" Stock factor tests skipped: {err}"
    secs.append(Section("AGRU stock factor (seed 000 §2)", text, tables=tables, figures=figs))
    return secs
