"""The regime_rotation strategy (seed 002, SPEC §6/§8) on small synthetic markets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.data import write_bundle
from etfrot.data.calendar import rebalance_dates
from etfrot.errors import ConfigError
from etfrot.portfolio.regime import QUADRANTS, macro_rows, regime_series
from etfrot.strategies import get_strategy, regime_report
from etfrot.strategies import regime_rotation as M

CFG = {"strategy": "regime_rotation"}


@pytest.fixture(scope="module")
def null_run(null_bundle):
    return M.build(null_bundle, CFG)


def _perturbed_after(bundle, cut: pd.Timestamp, path, seed=1, drop=()):
    """A copy of ``bundle`` whose prices, flows, valuation, fundamentals and macro AFTER ``cut`` are scrambled."""
    rng = np.random.default_rng(seed)
    tabs = {t: bundle.table(t).copy() for t in bundle.tables if t not in drop}
    for t in ("etf_bars", "index_bars", "stock_bars"):
        df = tabs[t]
        after = (df["date"] > cut).to_numpy()
        f = np.exp(rng.normal(0, 0.05, after.sum()))
        for c in ("open", "high", "low", "close"):
            df.loc[after, c] = df.loc[after, c].to_numpy() * f
    for t, cols in (("flows", ["main_net_inflow", "northbound_value", "net_buy_amount"]), ("valuation", ["pe_ttm", "pb"])):
        if t in tabs:
            df = tabs[t]
            after = (df["date"] > cut).to_numpy()
            for c in cols:
                df.loc[after, c] = df.loc[after, c].to_numpy() * rng.uniform(0.2, 3.0, after.sum())
    fd = tabs["fundamentals"]
    after = (fd["announce_date"] > cut).to_numpy()
    for c in ("np_yoy", "eps"):
        fd.loc[after, c] = rng.normal(0, 1, after.sum())
    mc = tabs["macro"]
    after = (mc["release_date"] > cut).to_numpy()
    mc.loc[after, "value"] = rng.normal(0, 50, after.sum())
    return write_bundle(path, tabs, source="synthetic")


def test_null_market_excess_is_within_noise(null_run, null_bundles):
    """Look-ahead check (SPEC §1.4): on three signal=0 markets the no-exclusion and double-exclusion variants'
    mean excess over the industry equal weight is within noise on each seed (|t| < 2.5, |annual excess| < 6 %)
    and pooled over the seeds (|Σt|/√3 < 2.5); a strategy reading future macro, flows or prices would not be."""
    ts = []
    for i, b in enumerate(null_bundles):
        vm = (null_run if i == 0 else M.build(b, CFG)).variant_metrics()
        assert list(vm.columns) == ["none", "double"]
        years = vm.loc["days"].astype(float) / 252
        t = vm.loc["information_ratio"].astype(float) * np.sqrt(years)  # t-stat of the mean excess
        assert (t.abs() < 2.5).all(), (i, t.to_dict())
        assert (vm.loc["annual_excess"].astype(float).abs() < 0.06).all(), i
        assert (vm.loc["periods"].astype(float) >= 24).all()  # a real backtest, not a stub
        ts.append(t.to_numpy())
    ts = np.array(ts)
    assert ts.shape[0] >= 3 and (np.abs(ts.sum(axis=0)) / np.sqrt(ts.shape[0]) < 2.5).all(), ts


def test_regimes_follow_the_bundle_macro_history(null_bundle, null_run):
    """The vectorised classifier equals a date-by-date recomputation from Bundle.macro_history (as known then)."""
    dates = null_run.dates
    for d in dates[::5]:
        dirs = []
        for s in ("industrial_profit_yoy", "tsf_yoy"):
            h = null_bundle.macro_history(s, d).dropna()  # released ≤ d only
            p = h.index.max()
            lag = h[h.index <= p - pd.DateOffset(months=3)]
            dirs.append("+" if h[p] - lag.iloc[-1] > 0 else "-")
        assert null_run.regimes["regime"][d] == f"E{dirs[0]}C{dirs[1]}", d
    assert set(null_run.regimes["regime"].dropna()) <= set(QUADRANTS)
    r = regime_series(macro_rows(null_bundle, "industrial_profit_yoy"), macro_rows(null_bundle, "tsf_yoy"), dates)
    assert r.equals(null_run.regimes["regime"])


def test_selection_and_weights_ignore_the_future(null_bundle, null_run, tmp_path):
    dates = null_run.dates
    cut = dates[int(len(dates) * 0.7)]
    other = _perturbed_after(null_bundle, cut, tmp_path / "perturbed")
    res2 = M.build(other, CFG)
    past = dates[dates <= cut]
    k = len(past)  # the per-quadrant IC statistics known on each past date (continuous: any leak shows)
    np.testing.assert_array_equal(null_run.path.mean[:k], res2.path.mean[:k])
    np.testing.assert_array_equal(null_run.path.t[:k], res2.path.t[:k])
    np.testing.assert_array_equal(null_run.path.n[:k], res2.path.n[:k])
    pd.testing.assert_frame_equal(null_run.directions.loc[past], res2.directions.loc[past])
    assert null_run.rules.loc[past].equals(res2.rules.loc[past])
    assert null_run.regimes["regime"].loc[past].equals(res2.regimes["regime"].loc[past])
    pd.testing.assert_frame_equal(null_run.scores.loc[past], res2.scores.loc[past])
    for v in null_run.weights:
        a, b = null_run.weights[v], res2.weights[v]
        a, b = a.loc[a.index <= cut], b.loc[b.index <= cut]
        cols = a.columns.union(b.columns)
        pd.testing.assert_frame_equal(a.reindex(columns=cols, fill_value=0.0), b.reindex(columns=cols, fill_value=0.0))
    # ... and the perturbation is real: the IC of the period starting at the cut (realised after it) changed
    assert not np.allclose(null_run.ic.loc[cut].to_numpy(float), res2.ic.loc[cut].to_numpy(float), equal_nan=True)


def test_picks_are_top_n_of_the_composite_after_exclusions(null_run):
    res = null_run
    active = res.rules[res.rules.str.startswith("quadrant") | (res.rules == "full sample")].index
    active = active[active >= res.start]
    assert len(active) > 5
    for v in res.weights:
        w = res.weights[v]
        for d in active[::3]:
            s = res.scores.loc[d].where(res.universe.loc[d]).where(~res.excluded[v].loc[d]).dropna()
            top = s.sort_values(ascending=False, kind="stable").iloc[:5]
            want = set(top[top > 0].index)  # alpha weights: a pick with alpha ≤ 0 gets no weight
            got = set(w.loc[d][w.loc[d] > 0].index)
            if not want:  # no positive alpha at all: alpha_weights falls back to equal weights of the top 5
                assert got == set(top.index) and np.allclose(w.loc[d][list(got)], 1 / len(got)), (v, d)
                continue
            assert got == want, (v, d)
            assert w.loc[d].sum() == pytest.approx(min(1.0, 0.3 * len(want)))  # rest in cash only if the cap binds
            assert w.loc[d].max() <= 0.3 + 1e-12  # alpha weights with the 30 % cap
            if len(want) >= 4:  # uncapped names are ∝ alpha
                a = top[list(want)]
                free = w.loc[d][list(want)] < 0.3 - 1e-9
                if free.sum() >= 2:
                    r = (w.loc[d][list(want)][free] / a[free]).to_numpy()
                    np.testing.assert_allclose(r, r[0])
            assert not (res.excluded[v].loc[d] & (w.loc[d].reindex(res.excluded[v].columns, fill_value=0) > 0)).any()
    # double exclusion flags the most crowded / most expensive 20 %: something is flagged
    assert res.excluded["double"].loc[active].to_numpy().any()
    assert not res.excluded["none"].to_numpy().any()


def test_benchmark_fallback_rows_hold_the_universe_equal_weight(null_run):
    res = null_run
    fb = res.rules[(res.rules == "benchmark") & (res.rules.index >= res.start)].index
    for d in fb:
        w = res.weights["none"].loc[d]
        u = res.universe.loc[d]
        assert set(w[w > 0].index) == set(u[u].index)
        np.testing.assert_allclose(w[w > 0], 1.0 / u.sum())


def test_factor_rank_table_matches_the_seed_layout(null_run):
    res = null_run
    d = res.rules[res.rules.str.startswith("quadrant") | (res.rules == "full sample")].index[-1]
    t = M.factor_rank_table(res, "none", d)
    picks = res.weights["none"].loc[d]
    assert set(t.index) == set(picks[picks > 0].index)
    rank_cols = [c for c in t.columns if c.endswith(("(+)", "(−)"))]
    assert len(rank_cols) == int((res.directions.loc[d] != 0).sum()) > 0
    np.testing.assert_allclose(t["mean_rank"], t[rank_cols].mean(axis=1))
    f, sign = rank_cols[0].rsplit(" ", 1)
    vals = res.factors[f].loc[d].dropna() * (1 if sign == "(+)" else -1)
    code = t.index[0]
    assert t.loc[code, rank_cols[0]] == (vals > vals[code]).sum() + 1  # rank 1 = best
    np.testing.assert_allclose(t["alpha"], res.scores.loc[d, t.index])
    wa = regime_report.weights_with_alpha(res, d)
    assert set(wa["variant"]) == {M.VARIANT_LABELS["none"], M.VARIANT_LABELS["double"]}
    # fully invested unless the 30 % cap binds on too few positive-alpha picks (the rest is then cash)
    held = wa[wa["weight"] > 0].groupby("variant")["weight"]
    np.testing.assert_allclose(held.sum(), np.minimum(1.0, 0.3 * held.size()))


def test_missing_tables_skip_factors_and_variants_with_a_message(null_bundle, tmp_path):
    b = _perturbed_after(null_bundle, pd.Timestamp("2100-01-01"), tmp_path / "noflows", drop=("flows", "valuation"))
    res, secs = M.run(b, CFG, out_dir=tmp_path / "run")
    assert "northbound" in res.skipped and "bubble" in res.skipped
    assert "variant double" in res.skipped and list(res.variants) == ["none"]
    html = (tmp_path / "run" / "report.html").read_text()
    assert "northbound" in html and "Left out" in html and "SYNTHETIC" in html
    titles = [s.title for s in secs]
    assert any("regime history" in t for t in titles) and any("latest picks" in t for t in titles)


def test_config_validation():
    with pytest.raises(ConfigError, match="unknown key 'rotation.t_treshold'"):
        M.validate_config({**CFG, "rotation": {"t_treshold": 2}})
    with pytest.raises(ConfigError, match="remove `scores`"):
        M.validate_config({**CFG, "scores": {"source": "factor", "factors": ["mom20"]}})
    with pytest.raises(ConfigError, match="index_universe 'all' needs universe.kind 'index'"):
        M.validate_config({**CFG, "index_universe": "all"})
    with pytest.raises(ConfigError, match="variants"):
        M.validate_config({**CFG, "exclusions": {"variants": ["none", "triple"]}})
    cfg = M.validate_config(CFG)
    assert cfg.selection.n == 5 and cfg.frequency == "monthly" and cfg.exclusions.variants == ["none", "double"]
    assert get_strategy("regime_rotation") is M


def test_monthly_dates_and_weekly_option(null_bundle):
    res = M.build(null_bundle, {**CFG, "frequency": "weekly", "exclusions": {"variants": ["none"]}})
    assert res.dates.equals(rebalance_dates(null_bundle.calendar, "weekly"))
    assert list(res.variants) == ["none"]


def test_index_universe_all_is_every_priced_industry_index(null_bundle):
    cfg = {**CFG, "universe": {"kind": "index", "categories": ["industry_theme"], "min_aum": None,
                               "min_listed_months": None}, "index_universe": "all", "exclusions": {"variants": ["none"]}}
    res = M.build(null_bundle, cfg)
    info = null_bundle.table("index_info")
    codes = info.loc[(info["category"] == "industry_theme") & (info["region"] == "cn") & info["total_return_of"].isna(), "code"]
    px = null_bundle.panel("index_bars", "close").reindex(index=res.dates)
    want = px.notna() & px.columns.isin(codes)[None, :]
    pd.testing.assert_frame_equal(res.universe, want, check_names=False)
    held = res.weights["none"].columns
    assert set(held) <= set(codes)


def test_signal_is_the_seed_ranking_table_of_the_last_rebalance(null_bundle, null_run):
    d = null_run.rules[null_run.rules.str.startswith("quadrant") | (null_run.rules == "full sample")].index[-1]
    t = M.signal(null_bundle, CFG, d)
    assert t.attrs["date"] == d and t.attrs["rule"] == null_run.rules[d]
    assert list(t.columns[:3]) == ["name", "weight", "score"] and "mean_rank" in t.columns
    w = null_run.weights["none"].loc[d]
    pd.testing.assert_series_equal(t["weight"].sort_index(), w[w > 0].sort_index(), check_names=False)
    assert (t["regime"] == null_run.regimes["regime"][d]).all()


FALLBACK_CFG = {"strategy": "regime_rotation", "exclusions": {"variants": ["none"]},
                "rotation": {"t_threshold": 1e9, "skip_warmup": False}}  # no factor can be significant


def test_fallback_is_said_in_words_and_printed_compactly(null_bundle, tmp_path):
    """τ = 1e9: every date falls back to the industry equal weight. The signal says why, holds 1/n of the
    eligible ETFs with no empty score/rank columns; the CLI prints one line instead of n rows; the report
    lists the fallback months."""
    import yaml
    from typer.testing import CliRunner

    from etfrot.cli import app

    res = M.build(null_bundle, FALLBACK_CFG)
    assert (res.rules == "benchmark").all()
    d = res.weights["none"].index[-1]
    t = M.signal(null_bundle, FALLBACK_CFG)
    n = int(res.universe.loc[d].sum())
    q = res.regimes["regime"][d]
    assert n > 5 and t.attrs["fallback"] and t.attrs["date"] == d
    assert t.attrs["note"] == (f"no significant factor in quadrant {q}: holding the industry equal weight "
                               "(none over the full sample either)")
    assert list(t.columns) == ["name", "weight", "regime", "rule"] and len(t) == n
    assert sorted(t.index) == sorted(res.universe.columns[res.universe.loc[d]])
    np.testing.assert_allclose(t["weight"].to_numpy(), 1 / n, rtol=0, atol=1e-12)
    assert t.attrs["compact"].startswith(f"{n} ETFs at {100 / n:.2f} % each: ") and "\n" not in t.attrs["compact"]

    p = tmp_path / "fb.yaml"
    p.write_text(yaml.safe_dump(FALLBACK_CFG))
    r = CliRunner().invoke(app, ["signal", str(p), "--bundle", str(null_bundle.path)])
    assert r.exit_code == 0, r.output
    assert f"no significant factor in quadrant {q}: holding the industry equal weight" in r.output
    assert f"{n} ETFs at {100 / n:.2f} % each" in r.output
    assert "mean_rank" not in r.output and "score" not in r.output

    _, secs = M.run(null_bundle, FALLBACK_CFG)
    text = {s.title: s.text for s in secs}
    latest = next(v for k, v in text.items() if "latest picks" in k)
    assert "No significant factor in quadrant" in latest and f"{n} ETFs at" in latest
    hist = next(s for s in secs if "regime history" in s.title)
    fb = hist.tables["fallback dates"]
    traded = res.weights["none"].index
    assert fb.index.equals(pd.DatetimeIndex(traded, name="signal date")) and (fb["rule"] == "benchmark").all()
    assert f"Fallback (no significant factor) on {len(traded)} rebalance date(s): {traded[0]:%Y-%m}, " in hist.text
