"""Seed 000 comparison tables (model/seed000.py): NW lags rule, bootstrap CIs with known answers, layout."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from etfrot.model.seed000 import (
    METRICS,
    SEED000,
    comparison_table,
    inference_table,
    nw_rule_lags,
)


def _row(model, pool, **v):
    base = {m: np.nan for m in METRICS}
    base.update(v)
    return {"model": model, "pool": pool, **base}


def test_nw_rule_lags():
    """⌊4 (n/100)^(2/9)⌋: 4 at n = 100, 3 at n = 47, 6 at n = 950."""
    assert (nw_rule_lags(100), nw_rule_lags(47), nw_rule_lags(950)) == (4, 3, 6)


def test_ic_bootstrap_ci_covers_and_scales_like_the_iid_standard_error():
    """IID IC ~ N(0.05, 0.1), n = 400: the 95 % CI of the mean holds the sample mean and is ≈ 2·1.96·0.1/√400 wide."""
    ic = pd.Series(np.random.default_rng(3).normal(0.05, 0.1, 400))
    table = pd.DataFrame([_row("agru", "all", ic_mean=ic.mean(), icir=ic.mean() / ic.std(), ic_win_rate=(ic > 0).mean())])
    inf = inference_table(table, {("agru", "all"): SimpleNamespace(ic=ic, quantiles=None)}, n_boot=1000)
    r = inf.set_index("metric").loc["ic_mean"]
    assert r["ci_lo"] < ic.mean() < r["ci_hi"]
    assert (r["ci_hi"] - r["ci_lo"]) == pytest.approx(2 * 1.96 * 0.1 / 20, rel=0.25)
    assert r["t_nw"] == pytest.approx(ic.mean() / (ic.std() / 20), rel=0.15)  # no autocorrelation: NW ≈ iid t
    assert r["seed000"] == SEED000[("agru", "all", "ic_mean")] == 0.1331


def test_daily_bootstrap_of_a_constant_excess_has_no_drawdown_and_a_point_annual_return():
    """Every day +0.1 % over the pool: every resample's annual excess is 1.001^252 − 1 and its max drawdown 0."""
    days = pd.bdate_range("2020-01-01", periods=300)
    uni = pd.Series(np.cumprod(np.full(300, 1.0005)), index=days)
    top = uni * np.cumprod(np.full(300, 1.001))
    ls = pd.Series(np.cumprod(1 + np.random.default_rng(0).normal(0.001, 0.01, 300)), index=days)
    nav = pd.DataFrame({"Q2": top, "universe": uni, "long_short": ls})
    q = SimpleNamespace(top="Q2", nav=nav)
    table = pd.DataFrame([_row("gru", "csi300", long_excess_annual=1.001 ** 252 - 1, long_excess_max_drawdown=0.0,
                               long_short_sharpe=0.5)])
    ic = pd.Series(np.linspace(-0.1, 0.2, 30))
    inf = inference_table(table, {("gru", "csi300"): SimpleNamespace(ic=ic, quantiles=q)}, n_boot=300).set_index("metric")
    a = inf.loc["long_excess_annual"]
    assert a["ci_lo"] == pytest.approx(1.001 ** 252 - 1, rel=1e-6) and a["ci_hi"] == pytest.approx(1.001 ** 252 - 1, rel=1e-6)
    assert inf.loc["long_excess_max_drawdown", "ci_lo"] == pytest.approx(0.0, abs=1e-12)
    s = inf.loc["long_short_sharpe"]
    assert s["ci_lo"] < s["ci_hi"] and s["n"] == 299
    assert np.isnan(inf.loc["icir", "t_nw"])  # no mean to test


def test_comparison_table_puts_published_figures_beside_ours():
    """One row per (pool, metric); a model's cell reads 'estimate [lo, hi] t', the seed's its figure or '—'."""
    ic = pd.Series(np.random.default_rng(1).normal(0.1, 0.1, 60))
    rows = [_row(m, p, ic_mean=0.1, icir=1.0, ic_win_rate=0.8) for m in ("agru", "mse") for p in ("all", "csi500")]
    res = {(m, p): SimpleNamespace(ic=ic, quantiles=None) for m in ("agru", "mse") for p in ("all", "csi500")}
    wide = comparison_table(inference_table(pd.DataFrame(rows), res, n_boot=200))
    assert wide.shape == (2 * len(METRICS), 4)
    assert wide.loc[("all", "IC mean"), "agru seed 000"] == "13.31 %"
    assert wide.loc[("all", "IC mean"), "mse seed 000"] == "14.53 %"
    assert wide.loc[("csi500", "IC mean"), "agru seed 000"] == "—"
    assert wide.loc[("all", "IC mean"), "agru (ours)"].startswith("10.00 % [") and " t " in wide.loc[("all", "IC mean"), "agru (ours)"]
