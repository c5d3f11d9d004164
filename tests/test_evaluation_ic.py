"""IC / Rank IC, forward returns, Newey–West and regression t-values against known answers (SPEC §3)."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from etfrot.errors import ValidationError
from etfrot.evaluation import (
    forward_returns,
    ic_series,
    ic_summary,
    newey_west_se,
    overlap_lags,
    rank_rows,
    regression_tstats,
    row_corr,
)


def _prices(T=120, N=30, seed=0):
    rng = np.random.default_rng(seed)
    px = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (T, N)), axis=0))
    return pd.DataFrame(px, index=pd.bdate_range("2021-01-04", periods=T, name="date"),
                        columns=[f"C{j:02d}" for j in range(N)])


def test_forward_returns_by_hand():
    p = pd.DataFrame({"A": [10, 11, 12, 13, np.nan, 15.0], "B": [1, 1, 1, np.nan, 1, 2.0]},
                     index=pd.bdate_range("2021-01-04", periods=6, name="date"))
    d = p.index[[0, 2, 4]]
    f = forward_returns(p, d)
    assert f.loc[d[0], "A"] == pytest.approx(12 / 10 - 1)
    assert f.loc[d[1], "A"] == pytest.approx(13 / 12 - 1)  # end not traded: carried last close
    assert f.loc[d[1], "B"] == 0.0
    assert f.loc[d[2]].isna().all()  # no next rebalance date
    h = forward_returns(p, d[:2], horizon=3)
    assert h.loc[d[0], "A"] == pytest.approx(13 / 10 - 1)
    assert h.loc[d[1], "A"] == pytest.approx(15 / 12 - 1)
    lag = forward_returns(p, d[:2], entry_lag=1)
    assert lag.loc[d[0], "A"] == pytest.approx(13 / 11 - 1)
    with pytest.raises(ValidationError, match="not on the price panel"):
        forward_returns(p, [pd.Timestamp("2021-01-09")])


def test_ic_of_the_next_return_is_one_and_of_its_negative_minus_one():
    px = _prices()
    d = px.index[::5]
    fwd = forward_returns(px, d)
    fac = fwd.reindex(px.index)
    fac.iloc[:, :3] = np.nan  # missing values do not matter
    for m in ("pearson", "spearman"):
        ic = ic_series(fac, fwd, m).dropna()
        assert len(ic) == len(d) - 1
        np.testing.assert_allclose(ic, 1.0, atol=1e-12)
        np.testing.assert_allclose(ic_series(-fac, fwd, m).dropna(), -1.0, atol=1e-12)
    s = ic_summary(ic_series(fac, fwd, "pearson"))
    assert s["mean"] == pytest.approx(1.0) and s["pos_share"] == 1.0


def test_ic_of_noise_averages_zero():
    px = _prices(T=1300, N=60, seed=2)
    d = px.index[::5]
    fwd = forward_returns(px, d)
    rng = np.random.default_rng(9)
    noise = pd.DataFrame(rng.normal(size=px.shape), index=px.index, columns=px.columns)
    for m in ("pearson", "spearman"):
        s = ic_summary(ic_series(noise, fwd, m))
        assert abs(s["mean"]) < 3 * s["std"] / np.sqrt(s["n"])  # within 3 standard errors
        assert abs(s["t"]) < 3
        assert 0.4 < s["pos_share"] < 0.6


def test_rank_ic_equals_scipy_spearman_per_date_with_nans_and_ties():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 6, (40, 25)).astype(float)  # many ties
    b = rng.normal(size=(40, 25))
    a[rng.random(a.shape) < 0.2] = np.nan
    b[rng.random(b.shape) < 0.1] = np.nan
    ours = row_corr(a, b, "spearman")
    pear = row_corr(a, b, "pearson")
    for i in range(40):
        ok = np.isfinite(a[i]) & np.isfinite(b[i])
        assert ours[i] == pytest.approx(stats.spearmanr(a[i, ok], b[i, ok])[0], abs=1e-12)
        assert pear[i] == pytest.approx(stats.pearsonr(a[i, ok], b[i, ok])[0], abs=1e-12)


def test_rank_rows_average_ties_like_scipy():
    x = np.array([[3.0, 1.0, np.nan, 3.0, 2.0], [np.nan, np.nan, 1.0, 1.0, 1.0]])
    r = rank_rows(x)
    np.testing.assert_array_equal(r[0], [3.5, 1, np.nan, 3.5, 2])
    np.testing.assert_array_equal(r[1], [np.nan, np.nan, 2, 2, 2])


def test_row_corr_needs_enough_pairs_and_variation():
    a = np.array([[1.0, 2.0, np.nan, np.nan], [1.0, 1.0, 1.0, 1.0]])
    b = np.array([[2.0, 1.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]])
    assert np.isnan(row_corr(a, b)).all()


def test_newey_west_by_hand():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    d = x - 2.5
    g0, g1 = d @ d / 4, d[1:] @ d[:-1] / 4
    assert newey_west_se(x, 0) == pytest.approx(np.sqrt(g0 / 4))
    assert newey_west_se(x, 1) == pytest.approx(np.sqrt((g0 + 2 * 0.5 * g1) / 4))
    # positively autocorrelated IC: the NW t is smaller than the naive t
    rng = np.random.default_rng(0)
    e = rng.normal(size=600)
    ic = pd.Series(np.convolve(e, np.ones(4) / 4, "same") + 0.05)
    s = ic_summary(ic, nw_lags=3)
    assert abs(s["t_nw"]) < abs(s["t"])
    assert s["t"] == pytest.approx(ic.mean() / (ic.std() / np.sqrt(len(ic))))


def test_overlap_lags():
    cal = pd.bdate_range("2021-01-04", periods=100)
    weekly = cal[::5]
    assert overlap_lags(weekly, cal, None) == 0
    assert overlap_lags(weekly, cal, 5) == 0
    assert overlap_lags(weekly, cal, 20) == 3
    assert overlap_lags(weekly, cal, 21) == 4


def test_regression_t_matches_the_ic_identity_and_scipy():
    px = _prices(T=60, N=40, seed=5)
    d = px.index[::5]
    fwd = forward_returns(px, d)
    rng = np.random.default_rng(1)
    fac = (fwd + pd.DataFrame(rng.normal(0, 0.05, fwd.shape), index=fwd.index, columns=fwd.columns)).reindex(px.index)
    reg = regression_tstats(fac, fwd).dropna()
    ic = ic_series(fac, fwd).reindex(reg.index)
    n = reg["n"]
    np.testing.assert_allclose(reg["t"], ic * np.sqrt(n - 2) / np.sqrt(1 - ic**2), rtol=1e-9)
    t0 = reg.index[0]
    lr = stats.linregress(fac.loc[t0].to_numpy(), fwd.loc[t0].to_numpy())
    assert reg.loc[t0, "beta"] == pytest.approx(lr.slope)
    assert reg.loc[t0, "t"] == pytest.approx(lr.slope / lr.stderr)


def test_blocked_threaded_path_equals_the_single_block():
    rng = np.random.default_rng(7)
    a = rng.normal(size=(900, 2500))
    b = a * 0.1 + rng.normal(size=a.shape)
    a[rng.random(a.shape) < 0.05] = np.nan
    from etfrot.evaluation.ic import _row_corr

    for m in ("pearson", "spearman"):
        whole = _row_corr(a, b, m, 3)
        np.testing.assert_array_equal(row_corr(a, b, m, threads=2), whole)
        np.testing.assert_array_equal(row_corr(a, b, m, threads=1), whole)
    ok = np.isfinite(a[-1])
    assert whole[-1] == pytest.approx(stats.spearmanr(a[-1, ok], b[-1, ok])[0], abs=1e-12)
