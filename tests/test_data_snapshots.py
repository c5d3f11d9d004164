"""Weight snapshots stay in force until the next one, and stop after the series ends (data.pit.snapshot_expiry)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.pit import active_snapshot, snapshot_expiry


def test_a_snapshot_is_in_force_until_the_next_and_expires_after_the_last():
    snaps = pd.DatetimeIndex(["2020-01-31", "2020-02-28", "2020-03-31"])  # gaps 28 and 32 days: median 30
    assert snapshot_expiry(snaps) == pd.Timestamp("2020-05-30")  # 2020-03-31 + 60 days
    dates = pd.DatetimeIndex(["2020-01-30", "2020-01-31", "2020-02-15", "2020-03-31", "2020-05-30", "2020-05-31"])
    np.testing.assert_array_equal(active_snapshot(snaps, dates), [-1, 0, 0, 2, 2, -1])


def test_a_single_snapshot_lasts_31_days():
    snaps = pd.DatetimeIndex(["2020-06-30"])
    np.testing.assert_array_equal(active_snapshot(snaps, pd.DatetimeIndex(["2020-07-31", "2020-08-01"])), [0, -1])
