"""Decile-weighted MSE: weights 1/1 = MSE; weight 2 lands exactly on the top/bottom decile of each date."""

import numpy as np
import pytest
import torch

from etfrot.errors import ConfigError
from etfrot.model.loss import decile_weights, group_ranks, weighted_mse


def test_weights_one_one_equal_plain_mse():
    g = torch.Generator().manual_seed(0)
    pred, y = torch.randn(257, generator=g), torch.randn(257, generator=g)
    grp = torch.randint(0, 5, (257,), generator=g)
    got = weighted_mse(pred, y, grp, extreme_weight=1.0, base_weight=1.0)
    assert torch.allclose(got, torch.nn.functional.mse_loss(pred, y))
    # and the default 2/1 differs from it
    assert not torch.allclose(weighted_mse(pred, y, grp), torch.nn.functional.mse_loss(pred, y))


def test_decile_weights_land_on_top_and_bottom_tenth_of_each_date():
    # date 0: 100 samples with labels 0..99 shuffled; date 1: 20 samples with labels 0..19 shuffled
    rng = np.random.default_rng(1)
    y0, y1 = rng.permutation(100).astype(np.float32), rng.permutation(20).astype(np.float32) + 1000
    y = torch.tensor(np.concatenate([y0, y1]))
    grp = torch.tensor([7] * 100 + [3] * 20)  # any ids
    w = decile_weights(y, grp).numpy()
    w0, w1 = w[:100], w[100:]
    assert set(np.flatnonzero(w0 == 2)) == set(np.flatnonzero((y0 < 10) | (y0 >= 90)))
    assert set(np.flatnonzero(w1 == 2)) == set(np.flatnonzero((y1 - 1000 < 2) | (y1 - 1000 >= 18)))
    assert (w0 == 2).sum() == 20 and (w1 == 2).sum() == 4 and set(np.unique(w)) == {1.0, 2.0}


def test_weighted_mse_formula():
    y = torch.arange(10, dtype=torch.float32)  # one date, 10 samples: deciles 0..9, extremes are y=0 and y=9
    pred = torch.zeros(10)
    w = torch.tensor([3.0] + [0.5] * 8 + [3.0])
    expected = (w * y**2).sum() / w.sum()
    assert torch.allclose(weighted_mse(pred, y, None, extreme_weight=3.0, base_weight=0.5), expected)


def test_group_ranks_are_within_group():
    v = torch.tensor([5.0, 1.0, 3.0, 2.0, 9.0])
    g = torch.tensor([0, 1, 0, 1, 0])
    r, n = group_ranks(v, g)
    assert r.tolist() == [1, 0, 0, 1, 2] and n.tolist() == [3, 2, 3, 2, 3]


def test_bad_weights_raise():
    with pytest.raises(ConfigError, match="n_bins"):
        decile_weights(torch.zeros(3), n_bins=1)
    with pytest.raises(ConfigError, match="non-negative"):
        weighted_mse(torch.zeros(3), torch.zeros(3), extreme_weight=-1.0)
