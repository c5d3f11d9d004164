"""YAML configs of the AGRU stock model (``etfrot model train CONFIG``) and the pipeline they drive.

A training config::

    name: agru
    bundle: bundles/synthetic          # or `synth: {size: default}` to build one there when absent
    out: runs/agru                     # models, scores.parquet, history.csv, report
    model: {model: agru, hidden_size: 64, num_layers: 2, seeds: 5, epochs: 50, patience: 5}
    window: {lookback: 40, horizon: 20}
    split: {scheme: walk_forward, test_start: 2017-01-01, valid_years: 1, retrain: yearly}
    evaluate: {pools: [all, csi300, csi500, csi1000], freq: monthly, quantiles: 10, compare: [gru, mse]}

``split.scheme``: ``fixed`` — one model: train ≤ ``train_end``, validate ≤ ``valid_end``, test after it
(or the fractions ``train_frac`` / ``valid_frac`` of the calendar when no dates are given);
``walk_forward`` — retrain every year (``retrain: yearly``) or once before ``test_start``, always
validating on the ``valid_years`` before the test year. Every range is purged by ``gap`` ≥ horizon.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from etfrot.config import StrictModel, SynthConfig, load_config
from etfrot.errors import ConfigError


class ModelConfig(StrictModel):
    """Hyper-parameters of :class:`etfrot.model.StockModel` (defaults: seed 000 / qlib ALSTM setup)."""

    model: Literal["agru", "gru"] = "agru"
    hidden_size: int = Field(64, ge=1)
    num_layers: int = Field(2, ge=1)
    dropout: float = Field(0.0, ge=0.0, lt=1.0)
    lr: float = Field(1e-3, gt=0.0)
    weight_decay: float = Field(0.0, ge=0.0)
    epochs: int = Field(50, ge=1)
    patience: int = Field(5, ge=1)
    batch_size: int = Field(1024, ge=1)
    grad_clip: float = Field(3.0, ge=0.0)
    extreme_weight: float = Field(2.0, ge=0.0)
    base_weight: float = Field(1.0, ge=0.0)
    n_bins: int = Field(10, ge=2)
    seeds: int | list[int] = 5
    train_date_stride: int = Field(1, ge=1)
    valid_date_stride: int = Field(1, ge=1)
    device: str = "auto"
    num_threads: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self):
        if isinstance(self.seeds, int) and self.seeds < 1:
            raise ValueError("seeds: give a count ≥ 1 or a list of seeds")
        if isinstance(self.seeds, list) and not self.seeds:
            raise ValueError("seeds: the list is empty")
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ValueError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")
        return self

    def kwargs(self) -> dict:
        return self.model_dump()


class WindowConfig(StrictModel):
    """Inputs and label (SPEC §4): lookback window L, label horizon h, optional date range of the data."""

    lookback: int = Field(40, ge=2)
    horizon: int = Field(20, ge=1)
    min_stocks: int = Field(10, ge=2)
    start: dt.date | None = None
    end: dt.date | None = None


class SplitConfig(StrictModel):
    """How dates are split into train / valid / test (module docstring)."""

    scheme: Literal["fixed", "walk_forward"] = "walk_forward"
    train_start: dt.date | None = None
    train_end: dt.date | None = None
    valid_end: dt.date | None = None
    test_end: dt.date | None = None
    train_frac: float = Field(0.6, gt=0.0, lt=1.0)
    valid_frac: float = Field(0.2, gt=0.0, lt=1.0)
    test_start: dt.date | None = None
    valid_years: int = Field(1, ge=1)
    min_train_years: int = Field(2, ge=1)
    retrain: Literal["yearly", "once"] = "yearly"
    gap: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _check(self):
        if self.scheme == "fixed" and (self.train_end is None) != (self.valid_end is None):
            raise ValueError("split: give both train_end and valid_end, or neither (then train_frac / valid_frac)")
        if self.train_end and self.valid_end and self.train_end >= self.valid_end:
            raise ValueError("split: train_end must be before valid_end")
        if self.train_frac + self.valid_frac >= 1:
            raise ValueError("split: train_frac + valid_frac must be < 1 (the rest is the test period)")
        return self


class EvalConfig(StrictModel):
    """Stock factor tests (SPEC §3 / seed 000 §2): pools, frequency, groups, models compared."""

    pools: list[str] = Field(default_factory=lambda: ["all", "csi300", "csi500", "csi1000"])
    freq: Literal["weekly", "monthly"] = "monthly"
    quantiles: int = Field(10, ge=2)
    compare: list[Literal["gru", "mse"]] = Field(default_factory=lambda: ["gru", "mse"])


class TrainConfig(StrictModel):
    """``etfrot model train CONFIG``."""

    name: str = "agru"
    bundle: str | None = None
    synth: SynthConfig | None = None
    out: str = "runs/agru"
    model: ModelConfig = Field(default_factory=ModelConfig)
    window: WindowConfig = Field(default_factory=WindowConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    evaluate: EvalConfig | None = Field(default_factory=EvalConfig)
    checkpoints: bool = True


def load_train_config(source) -> TrainConfig:
    """A YAML path or mapping → :class:`TrainConfig` (ConfigError naming every bad key)."""
    return source if isinstance(source, TrainConfig) else load_config(source, TrainConfig)


# ------------------------------------------------------------------------------------------ pipeline


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
                     dataset=None, checkpoint_dir: str | Path | None = None, progress: bool = True) -> StockFactorRun:
    """Train per ``split`` and predict the test range (only ``dates`` in it, if given): the AGRU stock factor."""
    from etfrot.model.dataset import WindowDataset
    from etfrot.model.train import DateSplit, StockModel

    ds = dataset if dataset is not None else WindowDataset.from_bundle(
        bundle, lookback=window.lookback, horizon=window.horizon, start=window.start, end=window.end,
        min_stocks=window.min_stocks)
    kw = dict(model.kwargs(), progress=progress)
    d = ds.dates
    ck = Path(checkpoint_dir) if checkpoint_dir is not None else None
    if split.scheme == "fixed":
        if split.train_end is not None:
            tr_end, va_end = pd.Timestamp(split.train_end), pd.Timestamp(split.valid_end)
            te_end = pd.Timestamp(split.test_end) if split.test_end else d[-1]
            s = DateSplit((split.train_start, tr_end), (tr_end + pd.Timedelta(days=1), va_end),
                          (va_end + pd.Timedelta(days=1), te_end))
        else:
            s = DateSplit.from_fractions(d, split.train_frac, split.valid_frac)
        m = StockModel(**kw, checkpoint_dir=ck).fit(ds, s.train, s.valid, gap=split.gap)
        t0, t1 = pd.Timestamp(s.test[0]), pd.Timestamp(s.test[1])
        scores = m.predict(ds, t0, t1, dates=dates)
        return StockFactorRun(scores, m.history_.assign(fold="fixed"), t0, t1, [("fixed", m)], ds)
    from etfrot.model.train import walk_forward_models

    t0 = pd.Timestamp(split.test_start) if split.test_start else default_test_start(d, split)
    t1 = pd.Timestamp(split.test_end) if split.test_end else d[-1]
    scores, hist, models = walk_forward_models(ds, test_start=t0, test_end=t1, valid_years=split.valid_years,
                                               train_start=split.train_start, retrain=split.retrain, gap=split.gap,
                                               checkpoint_dir=ck, dates=dates, **kw)
    return StockFactorRun(scores, hist, t0, t1, models, ds)


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
