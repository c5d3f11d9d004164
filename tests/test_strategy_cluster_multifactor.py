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


class _HandResult:
    """A result stand-in over hand-made NAVs, using the package's metrics (what the tables read)."""

    def __init__(self, nav, bench):
        self.nav, self.benchmark_nav = nav, bench

    def metrics(self, ci=False):
        from etfrot.backtest.metrics import summary

        return summary(self.nav, self.benchmark_nav, ci=ci)

    def yearly(self):
        from etfrot.backtest.metrics import yearly_table

        return yearly_table(self.nav, self.benchmark_nav)


def _path(idx, year_returns: dict) -> pd.Series:
    """NAV compounding evenly to the given return in each calendar year (from the previous year's last close)."""
    g = np.ones(len(idx))
    for y, r in year_returns.items():
        days = np.flatnonzero(idx.year == y)
        days = days[days > 0]
        g[days] = (1 + r) ** (1 / len(days))
    return pd.Series(np.cumprod(g), index=idx)


def test_seed001_tables_carry_the_difference_of_annual_returns():
    """Tables 6/8: 19.70 % vs the benchmark's 2.40 % ⇒ seed 001's excess 17.30 %, next to the headline
    relative-NAV excess 1.197/1.024 − 1. Tables 7/9: per year, 8.82 % vs 11.50 % ⇒ −2.68 % (seed 001, 2024)."""
    idx = pd.bdate_range("2021-01-04", periods=253)
    t = np.arange(253) / 252
    one = _HandResult(pd.Series(1.197 ** t, index=idx), pd.Series(1.024 ** t, index=idx))
    t6 = cm.backtest_table({"composite": one})
    assert t6.loc["composite", cm.SEED001_EXCESS] == pytest.approx(0.173)
    assert t6.loc["composite", "annual_excess"] == pytest.approx(1.197 / 1.024 - 1)
    days = pd.bdate_range("2023-01-02", "2024-12-31")
    r = _HandResult(_path(days, {2023: 0.0008, 2024: 0.0882}), _path(days, {2023: -0.1350, 2024: 0.1150}))
    t7 = cm.yearly_returns_table({"composite": r}, r)
    assert t7.loc[2024, "composite"] == pytest.approx(0.0882)
    assert t7.loc[2024, cm.BENCH_LABEL] == pytest.approx(0.1150)
    assert t7.loc[2024, f"composite: {cm.SEED001_EXCESS}"] == pytest.approx(-0.0268)
    assert t7.loc[2023, f"composite: {cm.SEED001_EXCESS}"] == pytest.approx(0.1358)


def test_seed_tables_in_the_report_show_both_excess_definitions(run_small):
    """Tables 6 and 8 hold the headline annual_excess and the seed's column; 7 and 9 the seed's per year."""
    _, secs, out = run_small
    tables = {k: v for s in secs for k, v in s.tables.items()}
    for name in ("table 6: backtests", "table 8: backtests per N"):
        assert {"annual_excess", cm.SEED001_EXCESS} <= set(tables[name].columns), name
        assert tables[name][cm.SEED001_EXCESS].notna().all()
    assert "composite: " + cm.SEED001_EXCESS in tables["table 7: returns per year"].columns
    assert "N=2: " + cm.SEED001_EXCESS in tables["table 9: returns per year per N"].columns
    assert cm.SEED001_EXCESS in (out / "report.html").read_text()
