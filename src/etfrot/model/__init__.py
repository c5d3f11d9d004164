"""The AGRU stock model (seed 000 §2; SPEC §4): lazy windows, AGRU/GRU, decile-weighted loss, training."""

from etfrot.model.agru import AGRU, GRU, RecurrentRegressor, build_model
from etfrot.model.dataset import FEATURES, WindowDataset
from etfrot.model.loss import decile_weights, weighted_mse
from etfrot.model.train import DateSplit, StockModel, grouped_ic, walk_forward

__all__ = ["AGRU", "GRU", "RecurrentRegressor", "build_model", "FEATURES", "WindowDataset", "decile_weights",
           "weighted_mse", "DateSplit", "StockModel", "grouped_ic", "walk_forward"]
