"""In-quadrant IC statistics, factor selection and the composite (seed 002 §3, SPEC §6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.portfolio.regime import (
    ALL,
    QUADRANTS,
    composite_score,
    factor_directions,
    factor_ranks,
    quadrant_ic,
    quadrant_ic_path,
    select_factors,
    zscore,
)

DATES = pd.date_range("2010-01-31", periods=120, freq="ME")


def _hand_ic(seed=0):
    """IC table with known structure: A > 0 in E+C+, B < 0 in E+C+, C noise, D > 0 only in E-C-."""
    rng = np.random.default_rng(seed)
    reg = pd.Series(np.array(QUADRANTS, dtype=object)[np.arange(len(DATES)) % 4], index=DATES)
    n = len(DATES)
    ic = pd.DataFrame({
        "A": np.where(reg == "E+C+", 0.10, 0.0) + rng.normal(0, 0.03, n),
        "B": np.where(reg == "E+C+", -0.10, 0.0) + rng.normal(0, 0.03, n),
        "C": rng.normal(0, 0.03, n),
        "D": np.where(reg == "E-C-", 0.10, 0.0) + rng.normal(0, 0.03, n),
    }, index=DATES)
    return ic, reg


def test_t_stat_known_answer():
    d = pd.date_range("2020-01-31", periods=4, freq="ME")
    ic = pd.DataFrame({"f": [0.1, 0.2, 0.3, 9.9]}, index=d)
    reg = pd.Series(["E+C+"] * 4, index=d)
    st = quadrant_ic(ic, reg, d[3], min_obs=2)  # uses the first three rows only
    assert st.loc[("E+C+", "f"), "n"] == 3
    assert st.loc[("E+C+", "f"), "mean_ic"] == pytest.approx(0.2)
    assert st.loc[("E+C+", "f"), "t"] == pytest.approx(0.2 / (0.1 / np.sqrt(3)))
    assert st.loc[(ALL, "f"), "n"] == 3
    assert st.loc[("E-C-", "f"), "n"] == 0 and np.isnan(st.loc[("E-C-", "f"), "t"])
    assert np.isnan(quadrant_ic(ic, reg, d[3], min_obs=4).loc[("E+C+", "f"), "t"])  # n < min_obs


def test_selection_picks_significant_positive_and_flips_significant_negative():
    ic, reg = _hand_ic()
    d = DATES[-4]  # an E+C+ month (index 116 % 4 == 0)
    assert reg[d] == "E+C+"
    st = quadrant_ic(ic, reg, d)
    dirs, why = select_factors(st, reg[d], t_threshold=2.0)
    assert dirs.to_dict() == {"A": 1, "B": -1, "C": 0, "D": 0}
    assert why == "quadrant E+C+"
    # in E-C- only D is significant
    d2 = DATES[-1]
    assert reg[d2] == "E-C-"
    dirs2, _ = select_factors(quadrant_ic(ic, reg, d2), reg[d2])
    assert dirs2.to_dict() == {"A": 0, "B": 0, "C": 0, "D": 1}


def test_threshold_decides_exactly_which_factors_pass():
    d = pd.date_range("2020-01-31", periods=10, freq="ME")
    reg = pd.Series(["E+C+"] * 10, index=d)
    # t-stats by construction: column k has mean m_k and the same spread
    base = np.array([-1, 1] * 4 + [0, 0]) * 0.05
    ic = pd.DataFrame({f"f{k}": m + base for k, m in enumerate([0.0, 0.01, 0.02, 0.05, -0.02, -0.05])}, index=d)
    st = quadrant_ic(ic, reg, pd.Timestamp("2030-01-01"))
    t = st.loc["E+C+", "t"]
    se = np.sqrt(8 * 0.05**2 / 9 / 10)  # sample std of the common spread / sqrt(n)
    np.testing.assert_allclose(t, np.array([0.0, 0.01, 0.02, 0.05, -0.02, -0.05]) / se)  # 0, .67, 1.34, 3.35, …
    dirs, _ = select_factors(st, "E+C+", t_threshold=1.2)
    assert set(dirs[dirs == 1].index) == {"f2", "f3"} and set(dirs[dirs == -1].index) == {"f4", "f5"}
    dirs, _ = select_factors(st, "E+C+", t_threshold=2.0)
    assert dirs.to_dict() == {"f0": 0, "f1": 0, "f2": 0, "f3": 1, "f4": 0, "f5": -1}


def test_selection_uses_only_the_past():
    ic, reg = _hand_ic()
    d = DATES[-4]
    base_st = quadrant_ic(ic, reg, d)
    base_dirs, _ = select_factors(base_st, reg[d])
    # scramble every IC at or after d (the future relative to the decision) and their regimes
    ic2, reg2 = ic.copy(), reg.copy()
    ic2.loc[ic2.index >= d] = -ic2.loc[ic2.index >= d] * 50
    reg2[reg2.index > d] = "E-C-"
    pd.testing.assert_frame_equal(quadrant_ic(ic2, reg2, d), base_st)
    assert select_factors(quadrant_ic(ic2, reg2, d), reg2[d])[0].equals(base_dirs)
    path = quadrant_ic_path(ic2, reg2)
    assert factor_directions(path, reg2)[0].loc[d].equals(base_dirs.rename(d).rename_axis("factor"))
    # ... while changing the last PAST row does change the statistics (the test can fail)
    ic3 = ic.copy()
    ic3.iloc[DATES.get_loc(d) - 4] += 5.0  # an E+C+ row before d
    assert not quadrant_ic(ic3, reg, d).equals(base_st)


def test_horizon_drops_unrealised_rows():
    ic, reg = _hand_ic()
    d = DATES[50]
    a = quadrant_ic(ic, reg, d, horizon=2)
    b = quadrant_ic(ic.iloc[:49], reg, d, horizon=1)  # the row of DATES[49] is not yet realised
    pd.testing.assert_frame_equal(a, b)


def test_path_equals_direct_computation_on_every_date():
    ic, reg = _hand_ic(1)
    ic.iloc[5:9, 2] = np.nan  # missing ICs count as missing, not zero
    reg.iloc[:3] = None  # unknown regimes count only in "all"
    path = quadrant_ic_path(ic, reg, min_obs=3)
    for d in DATES[::7]:
        a, b = path.at(d), quadrant_ic(ic, reg, d, min_obs=3)
        np.testing.assert_allclose(a["mean_ic"], b["mean_ic"], atol=1e-12)
        np.testing.assert_allclose(a["t"], b["t"], rtol=1e-9, atol=1e-9)
        assert (a["n"] == b["n"]).all()


def test_vectorised_directions_equal_per_date_selection():
    ic, reg = _hand_ic(2)
    reg.iloc[:20] = None
    path = quadrant_ic_path(ic, reg)
    for fb in ("full_sample", "benchmark", "cash"):
        dirs, why = factor_directions(path, reg, t_threshold=2.0, fallback=fb)
        for d in DATES:
            one, w = select_factors(path.at(d), reg[d], t_threshold=2.0, fallback=fb)
            assert (dirs.loc[d].to_numpy() == one.to_numpy()).all(), (fb, d)
            assert why[d] == w


def test_fallbacks():
    d = pd.date_range("2020-01-31", periods=12, freq="ME")
    reg = pd.Series(["E+C+", "E-C-"] * 6, index=d)
    # f is strongly positive overall but only 6 obs per quadrant with high noise in E-C-
    ic = pd.DataFrame({"f": [0.1, 0.3, 0.1, -0.2, 0.1, 0.3, 0.1, -0.1, 0.1, 0.3, 0.1, 0.0]}, index=d)
    st = quadrant_ic(ic, reg, pd.Timestamp("2021-06-30"), min_obs=3)
    assert abs(st.loc[("E-C-", "f"), "t"]) < 2 and st.loc[(ALL, "f"), "t"] > 2
    dirs, why = select_factors(st, "E-C-")
    assert why == "full sample" and dirs["f"] == 1
    dirs, why = select_factors(st, "E-C-", fallback="benchmark")
    assert why == "benchmark" and (dirs == 0).all()
    dirs, why = select_factors(st, None, fallback="cash")
    assert why == "cash" and (dirs == 0).all()
    noise = ic * 0  # nothing significant anywhere → benchmark
    dirs, why = select_factors(quadrant_ic(noise, reg, pd.Timestamp("2021-06-30"), min_obs=3), "E+C+")
    assert why == "benchmark" and (dirs == 0).all()
    with pytest.raises(ConfigError):
        select_factors(st, "E+C+", fallback="nope")


def test_zscore_and_composite_known_answer():
    d = pd.DatetimeIndex(["2021-01-29", "2021-02-26"], name="date")
    a = pd.DataFrame({"x": [1.0, 2.0], "y": [2.0, 2.0], "z": [3.0, np.nan]}, index=d)
    b = pd.DataFrame({"x": [3.0, 0.0], "y": [2.0, 1.0], "z": [1.0, 5.0]}, index=d)
    za = zscore(a, clip=None)
    s = np.sqrt(2 / 3)
    np.testing.assert_allclose(za.iloc[0], [-1 / s, 0, 1 / s])
    np.testing.assert_allclose(za.iloc[1, :2], [0, 0])  # constant row → 0
    dirs = pd.DataFrame({"A": [1, 1], "B": [-1, 0]}, index=d)
    comp = composite_score({"A": a, "B": b}, dirs, clip=None)
    zb = zscore(b, clip=None)
    # date 1: mean of z_A and −z_B (= z_A since b is the reverse of a) ; date 2: B not selected
    np.testing.assert_allclose(comp.iloc[0], ((za.iloc[0] - zb.iloc[0]) / 2).to_numpy())
    np.testing.assert_allclose(comp.iloc[1, :2], za.iloc[1, :2])
    assert np.isnan(comp.iloc[1]["z"])  # A missing for z and B not selected → no score
    none = composite_score({"A": a, "B": b}, dirs * 0)
    assert none.isna().all().all()


def test_factor_ranks_seed_table_shape():
    d = pd.DatetimeIndex(["2021-01-29"], name="date")
    p1 = pd.DataFrame([[0.3, 0.1, 0.2, 0.0]], index=d, columns=list("abcd"))
    p2 = pd.DataFrame([[1.0, 4.0, 3.0, 2.0]], index=d, columns=list("abcd"))
    r = factor_ranks({"f1": p1, "f2": p2, "f3": p1}, pd.Series({"f1": 1, "f2": -1, "f3": 0}), d[0])
    assert list(r.columns) == ["f1", "f2", "mean_rank"]
    assert r["f1"].to_dict() == {"a": 1, "b": 3, "c": 2, "d": 4}
    assert r["f2"].to_dict() == {"a": 1, "b": 4, "c": 3, "d": 2}  # flipped: lowest value ranks first
    assert r.loc["d", "mean_rank"] == 3.0
