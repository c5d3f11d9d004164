"""The AGRU stock-factor pipeline: train per a split, predict out of sample, test, save, report.

``fit_stock_factor`` (one model setting → out-of-sample scores), ``cached_stock_factor`` (the same
with an on-disk cache keyed by data + settings, used by strategies and sweeps), ``test_ic_table``
(IC / Rank IC against the training label), ``train_from_config`` (``etfrot model train``) and
``predict_with_saved`` (``etfrot model predict``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.errors import ConfigError, EtfrotError
from etfrot.model.config import ModelConfig, SplitConfig, TrainConfig, WindowConfig


@dataclass
class StockFactorRun:
    """Out-of-sample stock scores of one model setting, with what produced them."""

    scores: pd.DataFrame  # date × stock (test range; only the requested dates if any)
    history: pd.DataFrame  # per seed/epoch (and fold)
    test_start: pd.Timestamp
    test_end: pd.Timestamp
    models: list  # [(fold label, StockModel)]
    dataset: object  # the WindowDataset


def variant(model: ModelConfig, name: str) -> ModelConfig:
    """The comparison settings of seed 000: 'agru' (as given), 'gru' (no attention), 'mse' (weights 1/1)."""
    if name == "agru":
        return model
    if name == "gru":
        return model.model_copy(update={"model": "gru"})
    if name == "mse":
        return model.model_copy(update={"extreme_weight": 1.0, "base_weight": 1.0})
    raise ConfigError(f"unknown model variant {name!r}; use agru, gru or mse")


def default_test_start(dates: pd.DatetimeIndex, split: SplitConfig) -> pd.Timestamp:
    """First 1 January leaving ``min_train_years`` + ``valid_years`` of history before it."""
    first = pd.Timestamp(dates[0])
    y = first.year + split.min_train_years + split.valid_years + (0 if (first.month, first.day) == (1, 1) else 1)
    t = pd.Timestamp(year=y, month=1, day=1)
    if t > dates[-1]:
        raise ConfigError(f"the data ({dates[0]:%Y-%m-%d} → {dates[-1]:%Y-%m-%d}) are too short for "
                          f"{split.min_train_years} training + {split.valid_years} validation years; shorten them "
                          "or use split.scheme: fixed")
    return t


def fit_stock_factor(bundle, model: ModelConfig, window: WindowConfig, split: SplitConfig, *, dates=None,
                     dataset=None, checkpoint_dir: str | Path | None = None, progress: bool = True,
                     backend: str = "serial", jobs: int = 1, ship_bundle: bool = False,
                     address: str | None = None) -> StockFactorRun:
    """Train per ``split`` and predict the test range (only ``dates`` in it, if given): the AGRU stock factor.

    Its fits (seeds × folds) run on ``backend`` (serial | process | ray): :func:`etfrot.model.parallel.fit_variants`.
    """
    from etfrot.model.parallel import fit_variants

    return fit_variants(bundle, {"model": model}, window, split, dates=dates, dataset=dataset,
                        checkpoint_dirs={"model": checkpoint_dir}, backend=backend, jobs=jobs,
                        ship_bundle=ship_bundle, address=address, progress=progress)["model"]


def cache_key(bundle, *parts) -> str:
    """sha256 of the bundle's content hash and the JSON of the settings (for score caches)."""
    h = hashlib.sha256(bundle.content_hash.encode())
    for p in parts:
        h.update(json.dumps(p.model_dump(mode="json") if hasattr(p, "model_dump") else p, sort_keys=True,
                            default=str).encode())
    return h.hexdigest()[:16]


def cached_stock_factor(bundle, model: ModelConfig, window: WindowConfig, split: SplitConfig, *, dates=None,
                        cache_dir: str | Path | None = None, dataset=None, progress: bool = True,
                        ) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """:func:`fit_stock_factor` with an on-disk cache of its scores and history (keyed by data + settings).

    Returns (scores, history, dataset or None when read from the cache).
    """
    key = cache_key(bundle, model, window, split, None if dates is None else [str(x.date()) for x in pd.DatetimeIndex(dates)])
    if cache_dir is not None:
        f = Path(cache_dir) / f"stock_scores_{key}.parquet"
        h = Path(cache_dir) / f"stock_history_{key}.csv"
        if f.exists() and h.exists():
            return pd.read_parquet(f), pd.read_csv(h), dataset
    run = fit_stock_factor(bundle, model, window, split, dates=dates, dataset=dataset, progress=progress)
    if cache_dir is not None:
        Path(cache_dir).mkdir(parents=True, exist_ok=True)
        tmp = f.with_name(f".{f.name}.tmp")
        run.scores.to_parquet(tmp)
        tmp.replace(f)
        run.history.to_csv(h, index=False)
    return run.scores, run.history, run.dataset


def test_ic_table(runs: dict[str, pd.DataFrame], dataset) -> pd.DataFrame:
    """Per model: IC and Rank IC of its scores against the standardised forward label (the training
    target) on every scored date — mean, std, ICIR = mean/std, share > 0 and the Newey–West t with
    lags for the overlapping labels (``evaluation.ic.overlap_lags``)."""
    from etfrot.evaluation.ic import ic_summary, overlap_lags

    rows = {}
    for name, sc in runs.items():
        r = dataset.dates.get_indexer(sc.index)
        if (r < 0).any():
            raise ConfigError(f"scores of {name!r} have dates outside the dataset, e.g. {sc.index[r < 0][0]:%Y-%m-%d}")
        vals = sc.reindex(columns=dataset.codes).to_numpy(dtype=float)
        y = dataset.label[r]
        lags = overlap_lags(sc.index, dataset.dates, dataset.horizon)
        row = {}
        for k, method in (("ic", False), ("rank_ic", True)):
            ic = pd.Series(_row_ic(vals, y, method), index=sc.index)
            st = ic_summary(ic, nw_lags=lags)
            row.update({f"{k}_mean": st["mean"], f"{k}_std": st["std"], f"{k}ir": st["icir"],
                        f"{k}_pos": st["pos_share"], f"{k}_t_nw": st["t_nw"]})
        row.update(dates=int(st["n"]), start=f"{sc.index[0]:%Y-%m-%d}", end=f"{sc.index[-1]:%Y-%m-%d}")
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


test_ic_table.__test__ = False  # a function, not a pytest test


def _row_ic(x: np.ndarray, y: np.ndarray, rank: bool) -> np.ndarray:
    """Per row: correlation of x and y over the columns where both are finite (Spearman if ``rank``)."""
    from etfrot.model.train import grouped_ic

    m = np.isfinite(x) & np.isfinite(y)
    d, s = np.nonzero(m)
    out = np.full(x.shape[0], np.nan)
    if d.size:
        ic = grouped_ic(x[d, s], y[d, s], d, rank=rank)
        out[np.unique(d)] = ic
    return out


# ------------------------------------------------------------------------------------------ train / predict CLI


@dataclass
class TrainResult:
    out_dir: Path
    scores: dict[str, pd.DataFrame]
    history: pd.DataFrame
    test_ic: pd.DataFrame
    factor_table: pd.DataFrame | None
    report: Path
    notes: list[str] = field(default_factory=list)


def prediction_dates(calendar: pd.DatetimeIndex, how: str = "rebalance") -> pd.DatetimeIndex | None:
    """Weekly ∪ monthly rebalance dates (``rebalance``), or None = every trading day (``daily``)."""
    from etfrot.data.calendar import rebalance_dates

    if how == "daily":
        return None
    if how in ("weekly", "monthly"):
        return rebalance_dates(calendar, how)
    if how != "rebalance":
        raise ConfigError(f"unknown prediction dates {how!r}; use rebalance, daily, weekly or monthly")
    return rebalance_dates(calendar, "weekly").union(rebalance_dates(calendar, "monthly"))


def train_from_config(bundle, cfg: TrainConfig, *, progress: bool = True, log=None, backend: str = "serial",
                      jobs: int = 1, ship_bundle: bool = False, address: str | None = None) -> TrainResult:
    """``etfrot model train``: each variant (agru + ``evaluate.compare``) → models, scores, tests, report.

    Every (variant, fold, seed) fit is one task on ``backend`` (serial | process | ray; see
    :func:`etfrot.model.parallel.fit_variants`); the results do not depend on the backend.
    """
    from etfrot.model.dataset import WindowDataset
    from etfrot.model.parallel import fit_variants

    say = log or (lambda *_a, **_k: None)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    w = cfg.window
    ds = WindowDataset.from_bundle(bundle, lookback=w.lookback, horizon=w.horizon, start=w.start, end=w.end,
                                   min_stocks=w.min_stocks, pool=w.pool, **w.dataset_kwargs())
    say(f"dataset: {ds}")
    dates = prediction_dates(ds.dates, cfg.predict_on)
    names = ["agru"] + [v for v in (cfg.evaluate.compare if cfg.evaluate else []) if v != "agru"]
    models = {v: variant(cfg.model, v) for v in names}
    for v, mc in models.items():
        say(f"training [bold]{v}[/] ({mc.model}, loss weights {mc.extreme_weight:g}/{mc.base_weight:g}, "
            f"{len(_seeds(mc))} seed(s))")
    if backend != "serial":
        say(f"fits run on backend [bold]{backend}[/]" + (f" with {jobs} workers" if backend == "process" else "")
            + (" (bundle shipped through the object store)" if ship_bundle else ""))
    ck = {v: (out / "checkpoints" / v).resolve() for v in names} if cfg.checkpoints else None
    runs = fit_variants(bundle, models, w, cfg.split, dates=dates, dataset=ds, checkpoint_dirs=ck, backend=backend,
                        jobs=jobs, ship_bundle=ship_bundle, address=address, progress=progress)
    scores, hists = {}, []
    for v, run in runs.items():
        for fold, m in run.models:
            m.save(out / "models" / v / fold)
        (out / "models" / v / "window.json").write_text(json.dumps(w.model_dump(mode="json")))
        (out / "scores").mkdir(exist_ok=True)
        run.scores.to_parquet(out / "scores" / f"{v}.parquet")
        scores[v] = run.scores
        hists.append(run.history.assign(variant=v))
    history = pd.concat(hists, ignore_index=True)
    history.to_csv(out / "history.csv", index=False)
    tic = test_ic_table(scores, ds)
    table, notes = None, []
    if cfg.evaluate is not None:
        from etfrot.model.evaluate import stock_factor_table

        e = cfg.evaluate
        table, _results, notes = stock_factor_table(bundle, scores, pools=e.pools, freq=e.freq, quantiles=e.quantiles)
    report = write_model_report(out, bundle, cfg, tic, table, history, scores, notes)
    return TrainResult(out, scores, history, tic, table, report, notes)


def _seeds(m: ModelConfig) -> list[int]:
    return list(range(m.seeds)) if isinstance(m.seeds, int) else list(m.seeds)


def write_model_report(out: Path, bundle, cfg: TrainConfig, tic: pd.DataFrame, table: pd.DataFrame | None,
                       history: pd.DataFrame, scores: dict, notes: list[str]) -> Path:
    """report.html: test IC table, stock factor tests per pool, training curves (all labelled SYNTHETIC if so)."""
    from etfrot.report import charts, write_report
    from etfrot.report.html import Section

    syn = bundle.is_synthetic
    lab = "SYNTHETIC DATA. " if syn else ""
    m = cfg.model
    text = (f"{lab}AGRU stock model (seed 000 §2): GRU({m.hidden_size}×{m.num_layers}) over {cfg.window.lookback}-day "
            f"windows of adjusted OHLC, volume and VWAP (normalised per sample), attention over all steps, linear head; "
            f"label = {cfg.window.horizon}-day forward return z-scored per date; loss = decile-weighted MSE "
            f"({m.extreme_weight:g}/{m.base_weight:g}); early stopping on validation Rank IC; "
            f"{len(_seeds(m))} seed(s) averaged; split: {cfg.split.scheme}"
            + (f" ({cfg.split.retrain} retraining)" if cfg.split.scheme == "walk_forward" else "") + ". "
            "Variants: gru = last hidden state instead of attention; mse = loss weights 1/1.")
    secs = [Section("Out-of-sample IC of the stock scores", text + " IC / Rank IC against the standardised forward "
                    "label on every scored test date; t with Newey–West lags for the overlapping labels.",
                    tables={"test IC": tic})]
    if table is not None:
        from etfrot.data.calendar import rebalance_dates
        from etfrot.evaluation import forward_returns, ic_series, stock_pool

        e = cfg.evaluate
        px = bundle.panel("stock_bars", "close", adjusted=True)
        d = rebalance_dates(bundle.calendar, e.freq)
        for sc in scores.values():
            d = d[d.isin(sc.index[sc.notna().any(axis=1)])]
        mask = stock_pool(bundle, "all", d).reindex(columns=px.columns, fill_value=False)
        fwd = forward_returns(px, d).where(mask.to_numpy())
        ric = {v: ic_series(sc.reindex(index=d, columns=px.columns), fwd, "spearman") for v, sc in scores.items()}
        figs = [charts.lines_chart(pd.DataFrame(ric).cumsum(), title=f"Cumulative Rank IC, pool all, {e.freq}",
                                   synthetic=syn)]
        secs.append(Section("Stock factor tests per pool (seed 000 §2 tables)",
                            f"{lab}{e.freq.capitalize()} rebalancing, {e.quantiles} equal-weight groups per pool; stocks "
                            "suspended, ST or closed at a limit on the rebalance date excluded; long = top group against "
                            "the pool's equal weight; long–short = top − bottom. " + " ".join(notes),
                            tables={"factor tests": table.set_index(["model", "pool"])}, figures=figs))
    curves = history.groupby(["variant", "epoch"])["valid_rank_ic"].mean().unstack("variant")
    best = history.groupby(["variant", "fold", "seed"]).agg(epochs=("epoch", "max"), best_epoch=("best_epoch", "first"),
                                                           best_valid_rank_ic=("valid_rank_ic", "max"))
    tables, wall = {"folds and seeds": best}, ""
    if "seconds" in history:  # wall time and memory per seed (issue 12 item 5)
        agg = {"epochs": ("epoch", "max"), "seconds_total": ("seconds", "sum"), "seconds_per_epoch": ("seconds", "mean"),
               "peak_rss_mib": ("peak_rss_mib", "max")}
        if "peak_cuda_mib" in history:
            agg["peak_cuda_mib"] = ("peak_cuda_mib", "max")
        tables["time and memory per seed"] = history.groupby(["variant", "fold", "seed"]).agg(**agg)
        tables["time per epoch (s)"] = history.pivot_table(index=["variant", "fold", "seed"], columns="epoch",
                                                           values="seconds")
        wall = f" Total training wall time {history['seconds'].sum() / 60:.1f} min."
    secs.append(Section("Training", f"{lab}Validation Rank IC per epoch (mean over folds and seeds); the best epoch's "
                        "weights are kept. Wall time per epoch includes its validation pass; peak memory is the "
                        "process's peak resident set so far (and the CUDA peak allocated per epoch on a GPU)." + wall,
                        tables=tables,
                        figures=[charts.lines_chart(curves, title="Validation Rank IC per epoch", synthetic=syn)]))
    return write_report(out, title=f"{cfg.name}: AGRU stock model", synthetic=syn, data_label=bundle.label,
                        sections=secs, config=cfg.model_dump(mode="json"),
                        manifest={"data_hash": bundle.content_hash, "bundle": str(bundle.path),
                                  "seeds": {"model": _seeds(cfg.model)}})


def predict_with_saved(model_dir, bundle, *, start=None, end=None, freq: str = "daily", fold: str | None = None,
                       device: str = "auto") -> tuple[pd.DataFrame, str]:
    """Score ``bundle`` with a model saved by ``train_from_config`` (``OUT/models/<variant>``), the latest fold
    unless ``fold`` is given. Returns (date × stock panel, the model file used)."""
    from etfrot.model.dataset import WindowDataset
    from etfrot.model.train import StockModel

    d = Path(model_dir)
    if (d / "model.pt").exists():
        f, wfile = d / "model.pt", d.parent / "window.json"
    else:
        folds = sorted(p.name for p in d.iterdir() if (p / "model.pt").exists()) if d.is_dir() else []
        if not folds:
            raise EtfrotError(f"no trained model under {d}; train one with `etfrot model train CONFIG` "
                              "and pass OUT/models/agru")
        if fold is not None and fold not in folds:
            raise ConfigError(f"fold {fold!r} not in {d} (folds: {folds})")
        f, wfile = d / (fold or folds[-1]) / "model.pt", d / "window.json"
    w = WindowConfig(**json.loads(wfile.read_text())) if wfile.exists() else WindowConfig()
    m = StockModel.load(f, device=device)
    lo = pd.Timestamp(start) if start else None
    first = None if lo is None else bundle.calendar[max(bundle.calendar.searchsorted(lo) - w.lookback, 0)]
    ds = WindowDataset.from_bundle(bundle, lookback=m.lookback or w.lookback, horizon=w.horizon, start=first, end=end,
                                   min_stocks=w.min_stocks, pool=w.pool, **w.dataset_kwargs())
    dates = prediction_dates(ds.dates, freq) if freq != "daily" else None
    return m.predict(ds, lo, end, dates=dates), str(f)
