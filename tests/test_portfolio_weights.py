"""Equal and alpha weights with caps (SPEC §6, seed 002) and exclusion filters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.portfolio.exclusions import (
    apply_exclusions,
    cross_sectional_percentile,
    exclusion_flags,
)
from etfrot.portfolio.weights import alpha_weights, cap_weights, equal_weights


def test_equal_weights():
    w = equal_weights(["a", "b", "c", "d"])
    assert w.tolist() == [0.25] * 4
    assert equal_weights([]).empty
    with pytest.raises(ConfigError):
        equal_weights(["a", "a"])


def test_alpha_weights_proportional_on_seed002_alphas():
    """w ∝ alpha on the five alphas of seed 002's "无剔除" table. This does NOT reproduce the seed's weight
    column (25.4 %, 24.2 %, 17.8 %, 17.0 %, 15.6 %): there 2.519 → 24.2 % but 2.395 → 25.4 %, which no rule
    monotone in alpha can give; proportional weights give 24.3 % / 25.6 % for those two."""
    a = pd.Series({"159940": 2.395, "159507": 2.519, "159801": 1.703, "513750": 1.642, "560880": 1.589})
    w = alpha_weights(a)
    assert w.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(w.to_numpy(), a.to_numpy() / a.sum())
    assert w["159507"] == pytest.approx(2.519 / 9.848, abs=1e-12) and w["159940"] == pytest.approx(2.395 / 9.848, abs=1e-12)
    seed = pd.Series({"159940": 0.254, "159507": 0.242, "159801": 0.178, "513750": 0.170, "560880": 0.156})
    assert not (a.rank() == seed.rank()).all()  # the seed's column is not monotone in alpha: no weight rule matches it
    assert (w.rank() == a.rank()).all()


def test_alpha_weights_caps_redistribute_and_sum_to_one():
    a = pd.Series({"a": 10.0, "b": 5.0, "c": 1.0, "d": 1.0, "e": 1.0, "f": -3.0, "g": np.nan})
    w = alpha_weights(a, cap=0.3)
    assert w.sum() == pytest.approx(1.0)
    assert (w <= 0.3 + 1e-12).all()
    assert w["f"] == 0 and w["g"] == 0  # non-positive / missing alpha gets nothing
    # round 1 caps a (10/18); spreading its excess lifts b to 5/8·0.7 > 0.3, so round 2 caps b;
    # the remaining 0.4 goes to c, d, e ∝ alpha (equal)
    assert w["a"] == pytest.approx(0.3) and w["b"] == pytest.approx(0.3)
    np.testing.assert_allclose(w[["c", "d", "e"]].to_numpy(), [0.4 / 3] * 3)
    # cascading: after capping 'a' the redistribution pushes 'b' over the cap too
    w2 = cap_weights(pd.Series({"a": 0.6, "b": 0.25, "c": 0.1, "d": 0.05}), 0.3)
    assert w2.sum() == pytest.approx(1.0) and w2.max() == pytest.approx(0.3)
    np.testing.assert_allclose(w2[["c", "d"]].to_numpy(), [0.4 * 2 / 3, 0.4 / 3])


def test_alpha_weights_infeasible_cap_and_fallback():
    a = pd.Series({"a": 3.0, "b": 1.0, "c": 0.0})
    w = alpha_weights(a, cap=0.25)  # only two positive names × 0.25 < 1: the rest is cash
    assert w.tolist() == [0.25, 0.25, 0.0]
    assert alpha_weights(pd.Series({"a": -1.0, "b": -2.0})).tolist() == [0.5, 0.5]
    assert alpha_weights(pd.Series({"a": -1.0, "b": -2.0}), fallback="cash").sum() == 0
    assert alpha_weights(a, codes=["b", "c"]).to_dict() == {"b": 1.0, "c": 0.0}
    with pytest.raises(ConfigError):
        alpha_weights(a, cap=1.5)


def _factors():
    codes = [f"E{i}" for i in range(10)]
    crowd = pd.Series(np.arange(10.0), index=codes)  # E8, E9 top 20 %
    val = pd.Series(np.arange(10.0)[::-1], index=codes)  # E0, E1 top 20 %
    val["E5"] = np.nan
    return crowd, val


def test_double_exclusion_removes_exactly_the_flagged():
    crowd, val = _factors()
    assert set(crowd.index[exclusion_flags("crowded", crowding=crowd)]) == {"E8", "E9"}
    # valuation has 9 values: percentiles k/9; > 0.8 ⇒ the top 2 (E0, E1); NaN E5 not flagged
    assert set(val.index[exclusion_flags("bubble", valuation=val)]) == {"E0", "E1"}
    flags = exclusion_flags("double", crowding=crowd, valuation=val)
    assert set(flags.index[flags]) == {"E0", "E1", "E8", "E9"}
    assert not exclusion_flags("none", crowding=crowd).any()
    scores = pd.Series(1.0, index=crowd.index)
    kept = apply_exclusions(scores, "double", crowding=crowd, valuation=val).dropna()
    assert sorted(kept.index) == ["E2", "E3", "E4", "E5", "E6", "E7"]
    flags_m = exclusion_flags("bubble", valuation=val, flag_missing=True)
    assert flags_m["E5"]
    with pytest.raises(ConfigError, match="needs"):
        exclusion_flags("double", crowding=crowd)
    with pytest.raises(ConfigError, match="unknown"):
        exclusion_flags("triple", crowding=crowd)


def test_exclusions_on_panels_rowwise():
    crowd, _val = _factors()
    cp = pd.DataFrame([crowd.to_numpy(), crowd.to_numpy()[::-1]], columns=crowd.index,
                      index=pd.to_datetime(["2021-01-29", "2021-02-26"]))
    p = cross_sectional_percentile(cp)
    assert p.iloc[0, -1] == 1.0 and p.iloc[1, 0] == 1.0
    f = exclusion_flags("crowded", crowding=cp, crowding_pct=0.8)
    assert f.sum(axis=1).tolist() == [2, 2]
    assert f.iloc[1][["E0", "E1"]].all()
    sc = apply_exclusions(pd.DataFrame(1.0, index=cp.index, columns=cp.columns), "crowded", crowding=cp)
    assert sc.isna().sum(axis=1).tolist() == [2, 2]
