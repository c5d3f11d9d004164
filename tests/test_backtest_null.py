"""Backtest-engine accounting against the equal-weight benchmark of the same universe (SPEC §1.4, §7).

Random picks measured against the equal weight of the universe they are drawn from have zero expected
excess on ANY market, predictable or not — so the first test checks the engine's bookkeeping (drift,
rebalancing, delistings, benchmark construction: no systematic gap between a random portfolio and its
benchmark), NOT the absence of look-ahead; it is run on a null and on a planted-signal market to make that
explicit. The look-ahead claim is carried by the strategy-level null tests (tests/test_strategy_*.py,
three null-market seeds each). The second test only shows that the engine rewards foresight when a score
does peek (so a leak in a strategy's scores would show up in its excess)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import metrics as M
from etfrot.backtest import run_backtest
from etfrot.config import load_config
from etfrot.data.calendar import rebalance_dates
from etfrot.portfolio import select_weights
from etfrot.strategies.runner import instruments, universe_mask

N_SEEDS = 60


@pytest.fixture(scope="module", params=["null", "signal"])
def market(request, null_bundle, small_bundle):
    bundle = null_bundle if request.param == "null" else small_bundle
    cfg = load_config({"universe": {"kind": "etf", "min_aum": None, "min_listed_months": 3}})
    inst = instruments(bundle, "etf")
    dates = rebalance_dates(bundle.calendar, "weekly")[4:]
    mask = universe_mask(bundle, cfg, dates, inst.prices)
    daily = mask.astype(float).reindex(inst.prices.index).ffill().fillna(0.0).astype(bool)
    from etfrot.backtest.benchmarks import equal_weight_nav

    bench = equal_weight_nav(inst.prices[mask.columns], daily, "daily")
    return inst, dates, mask, bench


def _excess(inst, dates, mask, bench, scores, fast: bool = False) -> float:
    if fast:  # top 5 by score inside the universe, equal weight (vectorised: many seeds stay cheap)
        w = (scores.where(mask).rank(axis=1, ascending=False, method="first") <= 5).astype(float) / 5
    else:
        w = select_weights(scores, dates, method="top_n", n=5, universe=mask)
    w = w.loc[w.sum(axis=1) > 0]
    r = run_backtest(w, inst.prices, fee=0.0, tradable=inst.tradable, delisted=inst.delisted, benchmark=bench)
    return M.annual_excess(r.nav, r.benchmark_nav)


def test_random_selection_has_no_excess_over_its_universe_equal_weight(market):
    """Mean annual excess of 60 random top-5 portfolios over the universe's equal weight is within 2 SE of 0,
    on the null and on the signal market alike (an engine/benchmark accounting check, not a look-ahead check)."""
    inst, dates, mask, bench = market
    ex = np.array([_excess(inst, dates, mask, bench,
                           pd.DataFrame(np.random.default_rng(s).random(mask.shape), index=dates, columns=mask.columns),
                           fast=True)
                   for s in range(N_SEEDS)])
    se = ex.std(ddof=1) / np.sqrt(N_SEEDS)
    assert ex.std(ddof=1) > 0.001  # the seeds do pick different portfolios
    assert abs(ex.mean()) < 2 * se, f"mean annual excess {ex.mean():.4%} vs 2·SE {2 * se:.4%}"


def test_peeking_strategy_is_far_outside_the_null_band(market):
    """Scores equal to next week's return (look-ahead on purpose) earn > 20 % a year over the same benchmark."""
    inst, dates, mask, bench = market
    px = inst.prices
    fwd = (px.shift(-5) / px - 1).reindex(dates)  # next week's return: look-ahead on purpose
    ex = _excess(inst, dates, mask, bench, fwd.where(mask))
    assert ex > 0.2  # a week of perfect foresight is worth far more than any null band
