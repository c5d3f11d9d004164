"""cluster_multifactor (seed 001) on the small synthetic market: pipeline, point-in-time pool, null market, signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.portfolio.composite import composite_scores
from etfrot.strategies import cluster_multifactor as cm

LIGHT = {"pool": {"k_max": 5, "gap_refs": 3, "n_init": 2, "share": 0.5}, "selection": {"method": "top_n", "n": 3},
         "n_grid": [2, 3], "single_factor_models": False, "report": {"bootstrap": 50},
         "test_factors": ["mom20", "mom250", "bias", "eps_growth_qoq", "main_inflow", "dde10"]}


def test_composite_scores_known_answer():
    d = pd.to_datetime(["2024-01-05"])
    a = pd.DataFrame([[1.0, 2.0, 3.0]], index=d, columns=list("xyz"))
    b = pd.DataFrame([[3.0, 2.0, np.nan]], index=d, columns=list("xyz"))
    s = composite_scores({"a": a, "b": b}, {"a": 1, "b": -1})
    za = np.array([-1, 0, 1]) / np.sqrt(2 / 3)  # z of 1,2,3 (ddof 0)
    zb = -np.array([1.0, -1.0])  # z of 3,2 then direction −1
    np.testing.assert_allclose(s.iloc[0].to_numpy(), [(za[0] + zb[0]) / 2, (za[1] + zb[1]) / 2, za[2]])


@pytest.fixture(scope="module")
def run_small(small_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("cm")
    res, secs = cm.run(small_bundle, LIGHT, out)
    return res, secs, out


def test_runs_end_to_end_with_seed_tables(run_small, small_bundle):
    res, secs, out = run_small
    titles = " | ".join(s.title for s in secs)
    for part in ("table 1", "tables 4–5", "tables 6–7", "tables 8–9", "table 10"):
        assert part in titles
    assert (out / "report.html").exists() and "SYNTHETIC" in (out / "report.html").read_text()
    w = res.targets
    assert (w.gt(0).sum(axis=1) <= 3).all() and np.allclose(w.sum(axis=1), 1.0)
    tests_text = next(s.text for s in secs if "tables 4–5" in s.title)  # synthetic fundamentals: no source EPS YoY
    assert ("Factor definitions: eps_growth_qoq: g_q − g_{q−1} (difference of YoY growth) of EPS YoY derived from "
            "the single-quarter eps") in tests_text
    assert res.benchmark_nav is not None and res.nav.index[0] >= small_bundle.calendar[250]


def test_pool_uses_only_the_past(small_bundle, tmp_path):
    """Prices changed after a formation date leave that formation's pool unchanged."""
    from etfrot.data import write_bundle

    cfg = cm.validate_config(LIGHT)
    d = small_bundle.calendar[400]
    base = cm.form_pool(small_bundle, d, cfg)
    tables = {t: small_bundle.table(t) for t in small_bundle.tables}
    ib = tables["index_bars"].copy()
    late = ib["date"] > d
    rng = np.random.default_rng(1)
    f = np.exp(rng.normal(0, 0.05, late.sum()))
    for c in ("open", "high", "low", "close"):
        ib.loc[late, c] = ib.loc[late, c] * f
    tables["index_bars"] = ib
    other = write_bundle(tmp_path / "b", tables, source="synthetic")
    again = cm.form_pool(other, d, cfg)
    pd.testing.assert_frame_equal(base.table, again.table)
    later = cm.form_pool(other, small_bundle.calendar[700], cfg)
    assert later.date > d


@pytest.mark.slow
def test_null_market_has_no_excess(null_bundles):
    """Look-ahead check (SPEC §1.4): on three signal=0 markets (nothing is predictable) the strategy's mean daily
    excess over the equal weight is within noise on each (|t| < 3) and pooled over the seeds (|Σt|/√3 < 3).
    A strategy reading future prices, flows or fundamentals would earn excess on every seed."""
    ts = []
    for b in null_bundles:
        res, _ = cm.run(b, LIGHT)
        m = res.metrics(ci=False)
        ts.append(m["information_ratio"] * np.sqrt(len(res.nav) / 252))  # t of the mean daily excess
    ts = np.array(ts)
    assert len(ts) >= 3 and np.isfinite(ts).all()
    assert (np.abs(ts) < 3.0).all() and abs(ts.sum()) / np.sqrt(len(ts)) < 3.0, ts


def test_signal_matches_last_rebalance(run_small, small_bundle):
    res, _, _ = run_small
    d = res.targets.index[-1]
    picks = cm.signal(small_bundle, LIGHT, d)
    held = res.targets.loc[d]
    assert set(picks.index) == set(held[held > 0].index)
    np.testing.assert_allclose(picks["weight"].sum(), 1.0)
    assert {"name", "score", "rank_mom250", "rank_dde10"} <= set(picks.columns)
