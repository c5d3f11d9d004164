"""Compare training histories on what is learnt, not on the run's resources."""

from __future__ import annotations

import pandas as pd


def learnt(history: pd.DataFrame) -> pd.DataFrame:
    """The history without the resource columns (wall time, peak memory), which vary run to run."""
    from etfrot.model.train import RESOURCE_COLUMNS

    return history.drop(columns=[c for c in RESOURCE_COLUMNS if c in history.columns])
