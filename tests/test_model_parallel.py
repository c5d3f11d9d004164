"""Model fits as independent tasks (etfrot.model.parallel): the same models as one process, on any local backend."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from etfrot.errors import ConfigError
from etfrot.model.config import ModelConfig, SplitConfig, WindowConfig
from etfrot.model.parallel import fit_variants, plan_folds

from _history_helpers import learnt as _learnt

TINY = ModelConfig(hidden_size=4, num_layers=1, seeds=[0, 1], epochs=1, train_date_stride=10, valid_date_stride=5,
                   num_threads=1, device="cpu")
WINDOW = WindowConfig(lookback=20, horizon=5)
WF = SplitConfig(scheme="walk_forward", test_start="2015-07-01", test_end="2016-12-31", valid_years=1)


def _states_equal(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_plan_folds_walk_forward_years_and_fixed(small_bundle):
    d = small_bundle.calendar
    folds = plan_folds(d, WF)
    assert [f.label for f in folds] == ["2015-07-01", "2016-01-01"]
    assert folds[0].test == (pd.Timestamp("2015-07-01"), pd.Timestamp("2015-12-31"))
    assert folds[1].valid == (pd.Timestamp("2015-01-01"), pd.Timestamp("2015-12-31"))
    fixed = plan_folds(d, SplitConfig(scheme="fixed", train_end="2014-12-31", valid_end="2015-06-30"))
    assert [f.label for f in fixed] == ["fixed"] and fixed[0].test[0] == pd.Timestamp("2015-07-01")


@pytest.mark.slow
def test_fits_as_tasks_equal_walk_forward_in_one_process(small_bundle):
    """Seeds × folds as separate tasks, merged, give the very models walk_forward_models trains in one loop."""
    from etfrot.model.dataset import WindowDataset
    from etfrot.model.train import walk_forward_models

    ds = WindowDataset.from_bundle(small_bundle, lookback=WINDOW.lookback, horizon=WINDOW.horizon)
    run = fit_variants(small_bundle, {"agru": TINY}, WINDOW, WF, dataset=ds, progress=False)["agru"]
    kw = dict(TINY.kwargs(), progress=False)
    scores, hist, models = walk_forward_models(ds, test_start=WF.test_start, test_end=WF.test_end, valid_years=1, **kw)
    pd.testing.assert_frame_equal(run.scores, scores, check_exact=True)
    pd.testing.assert_frame_equal(_learnt(run.history), _learnt(hist), check_exact=True)
    assert [f for f, _ in run.models] == [f for f, _ in models] == ["2015-07-01", "2016-01-01"]
    for (_, a), (_, b) in zip(run.models, models):
        assert all(_states_equal(a.states[s], b.states[s]) for s in (0, 1))


@pytest.mark.slow
def test_process_pool_equals_serial(small_bundle):
    models = {"agru": TINY, "gru": TINY.model_copy(update={"model": "gru"})}
    split = SplitConfig(scheme="fixed", train_end="2014-12-31", valid_end="2015-06-30")
    serial = fit_variants(small_bundle, models, WINDOW, split, progress=False)
    pool = fit_variants(small_bundle, models, WINDOW, split, backend="process", jobs=2, progress=False)
    for v in models:
        pd.testing.assert_frame_equal(pool[v].scores, serial[v].scores, check_exact=True)
        pd.testing.assert_frame_equal(_learnt(pool[v].history), _learnt(serial[v].history), check_exact=True)
    assert not serial["agru"].scores.equals(serial["gru"].scores)  # the variants are different models


def test_bad_backend_and_ship_without_ray(small_bundle):
    with pytest.raises(ConfigError, match="unknown backend 'spark'"):
        fit_variants(small_bundle, {"agru": TINY}, WINDOW, WF, backend="spark")
    with pytest.raises(ConfigError, match="ship_bundle"):
        fit_variants(small_bundle, {"agru": TINY}, WINDOW, WF, backend="process", ship_bundle=True)

