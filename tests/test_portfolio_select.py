"""Selection (SPEC §6): top-N, top-quantile, MMR incl. the worked example of seed 000 §3.4."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError, DataMissingError
from etfrot.portfolio.select import mmr_select, rank_normalize, top_n, top_quantile

# --------------------------------------------------------------------------------------------
# Seed 000 §3.4 worked example (D1..D5). The seed prints only part of its input table (the table
# itself is an image), so λ and the missing inputs are read off the printed numbers:
#
#   round 2, D2:  λ·0.90 − (1−λ)·0.11 = 0.395  ⇒ 1.01·λ = 0.505 ⇒ λ = 0.5;  s2 = 0.90, corr(D1,D2) = 0.11
#   round 3, D3:  λ·0.50 − (1−λ)·0.29 = 0.105  (0.25 − 0.145 ✓)  ⇒ s3 = 0.50, max(corr(D1,D3), corr(D2,D3)) = 0.29
#   round 2, D3:  0.5·0.50 − 0.5·corr(D1,D3) = 0.135 ⇒ corr(D1,D3) = 0.23, hence corr(D2,D3) = 0.29
#                 (the seed writes "max(corr(D1,D2), corr(D2,D3))": a typo for corr(D1,D3), as corr(D1,D2) = 0.11)
#   round 2, D4:  0.5·s4 − 0.5·corr(D1,D4) = −0.35 ⇒ corr(D1,D4) = s4 + 0.70   (so s4 ≤ 0.30)
#   round 3, D4:  −0.35 again ⇒ corr(D2,D4) ≤ corr(D1,D4)
#   round 2, D5:  0.5·s5 − 0.5·corr(D1,D5) = 0.19 ⇒ corr(D1,D5) = s5 − 0.38
#   round 3, D5:  0.5·s5 − 0.5·max(·) = 0.06 ⇒ corr(D2,D5) = s5 − 0.12
#   "without correlation the first three would be {D1, D2, D5}" ⇒ 0.50 < s5 < 0.90 < s1 (D1 picked first).
# Everything else (s1, s4, s5 inside those ranges; corr(D2,D4) ≤ corr(D1,D4); pairs among D3, D4, D5
# that rounds 2–3 never use) is free: the test runs two different admissible completions, each a
# valid (positive definite) correlation matrix, and both must reproduce every printed number.
# --------------------------------------------------------------------------------------------
LAM = (0.395 + 0.11) / (0.90 + 0.11)


def _example(s1, s4, s5, c24, c34, c35, c45):
    s = pd.Series([s1, 0.90, 0.50, s4, s5], index=["D1", "D2", "D3", "D4", "D5"])
    c = np.eye(5)
    pairs = {(0, 1): 0.11, (0, 2): 0.23, (0, 3): s4 + 0.70, (0, 4): s5 - 0.38, (1, 2): 0.29, (1, 3): c24,
             (1, 4): s5 - 0.12, (2, 3): c34, (2, 4): c35, (3, 4): c45}
    for (i, j), v in pairs.items():
        c[i, j] = c[j, i] = v
    assert np.linalg.eigvalsh(c).min() > 0  # a genuine correlation matrix
    return s, pd.DataFrame(c, index=s.index, columns=s.index)


@pytest.mark.parametrize("completion", [
    {"s1": 0.95, "s4": 0.20, "s5": 0.80, "c24": 0.30, "c34": 0.20, "c35": 0.30, "c45": 0.40},
    {"s1": 0.99, "s4": 0.10, "s5": 0.70, "c24": 0.10, "c34": 0.10, "c35": 0.25, "c45": 0.20},
])
def test_seed000_mmr_worked_example(completion):
    assert LAM == pytest.approx(0.5)
    s, corr = _example(**completion)
    r = mmr_select(s, corr, n=3, lam=LAM, normalize=False)
    assert list(r.selected) == ["D1", "D2", "D3"]
    tr = r.trace.round(10)
    # round 2: D2..D5 = 0.395, 0.135, −0.35, 0.19 (seed's order of the printed values)
    assert tr.loc[2, ["D2", "D3", "D4", "D5"]].tolist() == pytest.approx([0.395, 0.135, -0.35, 0.19])
    # round 3: D3 0.105, D4 −0.35, D5 0.06
    assert tr.loc[3, ["D3", "D4", "D5"]].tolist() == pytest.approx([0.105, -0.35, 0.06])
    assert r.max_corr.loc[3, "D3"] == pytest.approx(0.29)
    assert np.isnan(tr.loc[3, "D1"]) and np.isnan(tr.loc[3, "D2"])  # already picked
    # ignoring correlation (λ = 1) the first three are {D1, D2, D5}, as the seed says
    assert list(mmr_select(s, corr, n=3, lam=1.0, normalize=False).selected) == ["D1", "D2", "D5"]
    # "repeat until all are traversed": n=None orders every candidate
    assert len(mmr_select(s, corr, lam=LAM, normalize=False).selected) == 5


def _random_case(m=40, seed=1):
    rng = np.random.default_rng(seed)
    codes = [f"I{i:03d}" for i in range(m)]
    x = rng.standard_normal((500, 4)) @ rng.standard_normal((4, m)) + rng.standard_normal((500, m))
    corr = pd.DataFrame(np.corrcoef(x.T), index=codes, columns=codes)
    return pd.Series(rng.standard_normal(m), index=codes), corr


@pytest.mark.parametrize("normalize", [True, False])
def test_lambda_one_equals_top_n(normalize):
    s, corr = _random_case()
    s.iloc[3] = s.iloc[7]  # a tie: broken by code in both
    for n in (1, 5, 12):
        assert list(mmr_select(s, corr, n=n, lam=1.0, normalize=normalize).selected) == list(top_n(s, n))


def test_perfectly_correlated_second_is_skipped():
    s = pd.Series({"A": 1.0, "A2": 0.99, "B": 0.5, "C": 0.2})
    c = pd.DataFrame(np.eye(4), index=s.index, columns=s.index)
    c.loc["A", "A2"] = c.loc["A2", "A"] = 1.0  # A2 is a clone of A
    c.loc["A", "B"] = c.loc["B", "A"] = 0.2
    picks = mmr_select(s, c, n=2, lam=0.5).selected
    assert list(picks) == ["A", "B"]
    assert list(mmr_select(s, c, n=2, lam=1.0).selected) == ["A", "A2"]


def test_low_overlap_policies_and_candidates():
    s = pd.Series({"A": 3.0, "B": 2.0, "C": 1.0, "D": 0.0})
    c = pd.DataFrame(np.eye(4), index=s.index, columns=s.index)
    c.loc["A", "B"] = c.loc["B", "A"] = np.nan  # B too young to correlate with A
    c.loc["A", "C"] = c.loc["C", "A"] = 0.9
    assert list(mmr_select(s, c, n=2, lam=0.5).selected) == ["A", "B"]  # NaN → 0: B looks uncorrelated
    assert list(mmr_select(s, c, n=2, lam=0.5, low_overlap=1.0).selected) == ["A", "D"]  # NaN → 1: penalised
    assert list(mmr_select(s, c, n=2, lam=0.5, low_overlap="exclude").selected) == ["A", "D"]
    # candidates = top half: D can never be picked
    assert list(mmr_select(s, c, n=3, lam=0.5, candidates=0.5).selected) == ["A", "B"]
    assert list(mmr_select(s, c, n=2, lam=0.5, candidates=pd.Index(["C", "D"])).selected) == ["C", "D"]
    with pytest.raises(DataMissingError, match="lacks candidates"):
        mmr_select(s, c.drop(index="D", columns="D"), n=2)
    with pytest.raises(ConfigError, match="lambda"):
        mmr_select(s, c, n=2, lam=1.5)
    # min_mmr stops early
    assert len(mmr_select(s, c, lam=0.5, min_mmr=0.3).selected) < 4


def test_top_n_top_quantile_rank_normalize():
    s = pd.Series({"a": 0.1, "b": np.nan, "c": 0.7, "d": 0.7, "e": -1.0})
    assert list(top_n(s, 2)) == ["c", "d"]
    assert list(top_n(s, 10)) == ["c", "d", "a", "e"]  # NaN never selected
    assert list(top_n(s, 2, universe=["a", "d", "e"])) == ["d", "a"]
    s20 = pd.Series(np.arange(20.0), index=[f"x{i:02d}" for i in range(20)])
    assert len(top_quantile(s20, 0.1)) == 2 and len(top_quantile(s20.iloc[:15], 0.1)) == 2  # ceil(1.5)
    assert list(top_quantile(s20, 0.1)) == ["x19", "x18"]
    np.testing.assert_allclose(rank_normalize(pd.Series([3.0, 1.0, 2.0])).to_numpy(), [1.0, 0.0, 0.5])
    assert rank_normalize(pd.Series([5.0])).iloc[0] == 1.0
    with pytest.raises(ConfigError):
        top_quantile(s, 0.0)


# ---------------------------------------------------------------- max_corr drops, low-overlap counts, shrunk fill
def _four():
    """Scores (used as given) and correlations with hand-computed MMR rounds at λ = 0.7:
    round 2 without a threshold: B 0.7·0.8 − 0.3·0.95 = 0.275 > C 0.7·0.6 − 0.3·0.5 = 0.27 > D 0.15."""
    s = pd.Series({"A": 0.9, "B": 0.8, "C": 0.6, "D": 0.3})
    c = pd.DataFrame(np.eye(4), index=s.index, columns=s.index)
    for (i, j), v in {("A", "B"): 0.95, ("A", "C"): 0.5, ("A", "D"): 0.2, ("B", "C"): 0.4, ("B", "D"): 0.1,
                      ("C", "D"): 0.85}.items():
        c.loc[i, j] = c.loc[j, i] = v
    return s, c


def test_max_corr_drops_names_with_known_picks_and_count():
    s, c = _four()
    full = mmr_select(s, c, lam=0.7, normalize=False)
    assert list(full.selected) == ["A", "B", "C", "D"] and len(full.dropped) == 0
    assert full.trace.loc[2, ["B", "C", "D"]].tolist() == pytest.approx([0.275, 0.27, 0.15])
    # max_corr 0.8: A is picked, B (corr 0.95 with A) dropped; C picked (0.27 > D's 0.15); D (0.85 with C) dropped
    r = mmr_select(s, c, lam=0.7, normalize=False, max_corr=0.8)
    assert list(r.selected) == ["A", "C"]
    assert list(r.dropped) == ["B", "D"]
    assert r.low_overlap_pairs == 0
    # a threshold no pair exceeds drops nothing
    assert len(mmr_select(s, c, lam=0.7, normalize=False, max_corr=0.96).dropped) == 0


def _five_with_gaps():
    """A, B, E industry; C, D broad. Unknown: B–E (industry block) and B–D (cross block)."""
    codes = ["A", "B", "C", "D", "E"]
    c = pd.DataFrame(np.eye(5), index=codes, columns=codes)
    for (i, j), v in {("A", "B"): 0.6, ("A", "E"): 0.4, ("B", "E"): np.nan, ("C", "D"): 0.8, ("A", "C"): 0.3,
                      ("A", "D"): 0.1, ("B", "C"): 0.2, ("B", "D"): np.nan, ("E", "C"): 0.0, ("E", "D"): 0.2}.items():
        c.loc[i, j] = c.loc[j, i] = v
    groups = pd.Series({"A": "industry", "B": "industry", "E": "industry", "C": "broad", "D": "broad"})
    return c, groups


def test_category_mean_corr_fills_block_means_and_cross_sectional_mean():
    from etfrot.portfolio.select import _group_codes, category_mean_corr

    c, groups = _five_with_gaps()
    f = pd.DataFrame(category_mean_corr(c.to_numpy(), _group_codes(groups, c.index)), index=c.index, columns=c.index)
    assert f.loc["B", "E"] == pytest.approx((0.6 + 0.4) / 2)  # industry × industry known: A–B, A–E
    assert f.loc["B", "D"] == pytest.approx((0.3 + 0.1 + 0.2 + 0.0 + 0.2) / 5)  # industry × broad known pairs
    # E without a category: its pairs take the mean of all 8 known off-diagonal pairs (2.6 / 8)
    g2 = groups.drop("E")
    f2 = category_mean_corr(c.to_numpy(), _group_codes(g2, c.index))
    assert f2[1, 4] == pytest.approx(2.6 / 8)
    assert category_mean_corr(c.to_numpy())[1, 3] == pytest.approx(2.6 / 8)  # no categories at all


def test_low_overlap_shrunk_and_pair_count():
    c, groups = _five_with_gaps()
    s = pd.Series({"A": 0.1, "B": 1.0, "C": 0.2, "D": 0.5, "E": 0.9})
    # candidates B, E, D (top 3): unknown pairs among them: B–E and B–D
    r0 = mmr_select(s, c, n=2, lam=0.5, normalize=False, candidates=pd.Index(["B", "E", "D"]))
    assert r0.low_overlap_pairs == 2
    # NaN → 0: round 2, E: 0.5·0.9 − 0.5·0 = 0.45 beats D: 0.25 − 0 = 0.25
    assert list(r0.selected) == ["B", "E"]
    # shrunk: E–B = 0.5 (industry block), D–B = 0.16 (cross block): E 0.45 − 0.25 = 0.20, D 0.25 − 0.08 = 0.17
    r = mmr_select(s, c, n=2, lam=0.5, normalize=False, candidates=pd.Index(["B", "E", "D"]),
                   low_overlap="shrunk", groups=groups)
    assert r.trace.loc[2, ["E", "D"]].tolist() == pytest.approx([0.20, 0.17])
    assert list(r.selected) == ["B", "E"] and r.low_overlap_pairs == 2
    # a threshold of 0.3 then drops E (shrunk 0.5 with B) but keeps D (0.16)
    r3 = mmr_select(s, c, lam=0.5, normalize=False, candidates=pd.Index(["B", "E", "D"]), low_overlap="shrunk",
                    groups=groups, max_corr=0.3)
    assert list(r3.selected) == ["B", "D"] and list(r3.dropped) == ["E"]
    with pytest.raises(ConfigError, match="low_overlap"):
        mmr_select(s, c, low_overlap="median")


def test_corr_quantile_uses_each_known_pair_once():
    from etfrot.portfolio.select import corr_quantile

    c = np.eye(4)
    for (i, j), v in {(0, 1): 0.1, (0, 2): 0.2, (0, 3): 0.3, (1, 2): 0.4, (1, 3): 0.5, (2, 3): np.nan}.items():
        c[i, j] = c[j, i] = v
    assert corr_quantile(c, 0.5) == pytest.approx(0.3)  # median of the 5 known pairs
    assert corr_quantile(c, 1.0) == pytest.approx(0.5)
    assert np.isnan(corr_quantile(np.eye(2) * np.nan, 0.5))
