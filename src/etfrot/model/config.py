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
from typing import Literal

from pydantic import Field, model_validator

from etfrot.config import StrictModel, SynthConfig, load_config


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
    precision: Literal["fp32", "bf16"] = "fp32"  # bf16 matmuls (float32 states/gradients); see StockModel

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
    pool: str | None = None  # train/score only members of this index on each date (e.g. csi300); None = all
    start: dt.date | None = None
    end: dt.date | None = None
    label_winsor: tuple[float, float] | None = (0.01, 0.99)  # per-date quantiles clipped before the z-score
    adjust_volume: bool = True  # volume ÷ adj_factor (split-adjusted), as the prices are adjusted

    def dataset_kwargs(self) -> dict:
        """The keywords of ``WindowDataset.from_bundle`` beyond lookback / horizon / dates / pool."""
        return {"label_winsor": self.label_winsor, "adjust_volume": self.adjust_volume}


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
    predict_on: Literal["rebalance", "daily"] = "rebalance"  # test scores on weekly ∪ monthly dates, or every day
    checkpoints: bool = True


def load_train_config(source) -> TrainConfig:
    """A YAML path or mapping → :class:`TrainConfig` (ConfigError naming every bad key)."""
    return source if isinstance(source, TrainConfig) else load_config(source, TrainConfig)
