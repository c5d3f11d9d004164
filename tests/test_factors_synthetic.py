"""On the synthetic market (SPEC §1.4): planted factors show the planted (positive) IC, and with signal 0
no factor is significant beyond chance; every factor computes at every level it supports."""

import numpy as np
import pytest

from etfrot.evaluation import run_factor_tests
from etfrot.factors import FactorEngine, list_factors

PLANTED_STOCK = ["net_buy", "net_active_buy", "main_inflow", "dde10", "np_yoy", "sue", "prosperity", "mom250"]
PLANTED_INDEX = ["net_buy", "main_inflow", "np_yoy", "prosperity", "mom250", "mom20"]


@pytest.fixture(scope="module")
def stock_tests(small_bundle):
    return run_factor_tests("all", small_bundle, universe="stock", freq="weekly", correlation=False)


def test_planted_stock_factors_have_significant_positive_rank_ic(stock_tests):
    t4 = stock_tests.table4()
    for n in PLANTED_STOCK:
        assert t4.loc[n, "rank_ic_mean"] > 0, n
        assert t4.loc[n, "rank_ic_t_nw"] > 2, (n, t4.loc[n, "rank_ic_t_nw"])
    # the planted flows also order the quantile groups: top beats the universe
    t5 = stock_tests.table5()
    assert (t5.loc[["net_buy", "dde10", "np_yoy", "sue"], "excess_annual_return"] > 0).all()


def test_planted_index_factors_have_positive_ic(small_bundle):
    rep = run_factor_tests(PLANTED_INDEX, small_bundle, universe="index", freq="weekly", correlation=False)
    t4 = rep.table4()
    assert (t4["ic_mean"] > 0).all(), t4["ic_mean"]
    assert (t4["rank_ic_mean"] > 0).all(), t4["rank_ic_mean"]
    assert (t4["ic_t_nw"] > 1.5).sum() >= 4


def test_no_signal_means_nothing_significant_beyond_chance(null_bundle):
    rep = run_factor_tests("all", null_bundle, universe="stock", freq="weekly", correlation=False)
    t = rep.table4()["rank_ic_t_nw"].abs()
    assert (t < 3).all(), t[t >= 3]
    assert (t > 2).sum() <= 3  # ~5 % of 23 by chance (the factors are correlated)
    assert t.mean() < 1.2
    idx = run_factor_tests(PLANTED_INDEX, null_bundle, universe="index", freq="weekly", correlation=False)
    assert (idx.table4()["ic_t_nw"].abs() < 3).all()


def test_every_factor_computes_at_its_levels_on_the_synthetic_bundle(small_bundle):
    e = FactorEngine(small_bundle)
    for s in list_factors():
        for level in (("index", "etf") if s.level == "constituents" else ("stock", "index", "etf")):
            p = e.compute(s.name, level)
            assert p.index.equals(small_bundle.calendar)
            share = np.isfinite(p.to_numpy()).mean()
            assert share > 0.05, (s.name, level, share)
            assert np.isfinite(p.to_numpy()[np.isfinite(p.to_numpy())]).all()
