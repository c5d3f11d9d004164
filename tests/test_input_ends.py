"""Strategies on bundles whose inputs end at different dates (SPEC §10: an input that ended is reported).

Each test cuts one input of the small synthetic market about a year before the calendar ends and checks that
the strategy ends where its scores end (not holding cash to the calendar's end), names the input that ended
in its report and manifest, and lists every input's last date. One more test gives the generic runner a score
file with a gap and an early end: no trade on the gap date, the run ends at the first unscored rebalance.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from etfrot.data import write_bundle
from etfrot.data.calendar import rebalance_dates
from etfrot.strategies.coverage import KNOWN_ON


def _ended(bundle, table: str, cut: pd.Timestamp, path):
    """A copy of ``bundle`` whose ``table`` has no row known after ``cut`` (the other tables unchanged)."""
    tabs = {t: bundle.table(t).copy() for t in bundle.tables}
    col = KNOWN_ON.get(table, "date")
    tabs[table] = tabs[table][pd.to_datetime(tabs[table][col]) <= cut].reset_index(drop=True)
    return write_bundle(path, tabs, source=bundle.source, meta=bundle.manifest.get("meta"))


def _first_after(bundle, freq: str, day: pd.Timestamp) -> pd.Timestamp:
    d = rebalance_dates(bundle.calendar, freq)
    return d[d > day][0]


def _manifest(out) -> dict:
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def cut(small_bundle) -> pd.Timestamp:
    return small_bundle.calendar[-250]


def test_agru_rotation_ends_where_the_stock_bars_end(small_bundle, cut, tmp_path):
    from test_strategy_agru import _oracle_scores, tiny

    from etfrot.strategies import agru_index_rotation as agru

    b = _ended(small_bundle, "stock_bars", cut, tmp_path / "b")
    scores = _oracle_scores(b).loc[:cut]  # a stock factor needs stock bars: it ends where they end
    scores.to_parquet(tmp_path / "s.parquet")
    res, secs = agru.run(b, tiny(stock_model={"scores_path": str(tmp_path / "s.parquet"), "evaluate": None}),
                         tmp_path / "run")
    last_signal = rebalance_dates(b.calendar, "weekly")
    last_signal = last_signal[last_signal <= cut][-1]
    end = _first_after(b, "weekly", last_signal)
    assert res.nav.index[-1] == end < b.calendar[-1]  # not a year of cash to the calendar's end
    assert res.targets.index.max() == last_signal
    cov = _manifest(tmp_path / "run")["coverage"]
    assert cov["inputs"]["stock_bars"]["last"] == f"{cut:%Y-%m-%d}"
    assert cov["inputs"]["index_bars"]["last"] == f"{b.calendar[-1]:%Y-%m-%d}"
    assert cov["run_end"] == f"{end:%Y-%m-%d}" and cov["scores_end"] == f"{last_signal:%Y-%m-%d}"
    assert f"stock_bars ends {cut:%Y-%m-%d}" in secs[0].text  # the summary says which input ended
    assert any(s.title.endswith("inputs and where they end") for s in secs)


def test_regime_rotation_ends_where_the_regime_is_no_longer_known(null_bundle, tmp_path):
    from etfrot.strategies import regime_rotation as M

    cut = null_bundle.calendar[-250]
    b = _ended(null_bundle, "macro", cut, tmp_path / "b")
    res, secs = M.run(b, {"strategy": "regime_rotation"}, tmp_path / "run")
    known = res.regimes["regime"].dropna().index.max()
    assert known < b.calendar[-1]
    end = _first_after(b, "monthly", known)
    for r in res.variants.values():
        assert r.nav.index[-1] == end
    assert max(w.index.max() for w in res.weights.values()) <= known
    cov = _manifest(tmp_path / "run")["coverage"]
    assert pd.Timestamp(cov["inputs"]["macro"]["last"]) <= cut
    assert cov["run_end"] == f"{end:%Y-%m-%d}"
    assert "macro ends" in secs[0].text and "The regime is known to" in secs[0].text


def test_cluster_multifactor_ends_where_the_etf_bars_end(small_bundle, cut, tmp_path):
    from test_strategy_cluster_multifactor import LIGHT

    from etfrot.strategies import cluster_multifactor as cm

    b = _ended(small_bundle, "etf_bars", cut, tmp_path / "b")
    res, secs = cm.run(b, LIGHT, tmp_path / "run")  # no pool can form after the cut: it must not try to
    assert res.nav.index[-1] <= cut and res.nav.index[-1] >= cut - pd.Timedelta(days=10)
    cov = _manifest(tmp_path / "run")["coverage"]
    assert cov["inputs"]["etf_bars"]["last"] == f"{cut:%Y-%m-%d}"
    assert f"etf_bars ends {cut:%Y-%m-%d}" in secs[0].text


def test_runner_holds_through_a_gap_and_ends_at_the_first_unscored_rebalance(small_bundle, tmp_path):
    from etfrot.strategies import runner

    dates = rebalance_dates(small_bundle.calendar, "weekly")
    px = small_bundle.panel("etf_bars", "close", adjusted=True)
    rng = np.random.default_rng(3)
    s = pd.DataFrame(rng.random((len(dates), px.shape[1])), index=dates, columns=px.columns)
    gap, last = dates[-60], dates[-40]
    s.loc[gap] = np.nan  # no score on one week inside the run
    s = s.loc[:last]  # and none after ``last``
    s.index.name = "date"
    s.to_parquet(tmp_path / "s.parquet")
    cfg = {"strategy": "backtest", "name": "gap", "scores": {"source": "file", "path": str(tmp_path / "s.parquet")},
           "universe": {"kind": "etf", "min_aum": 0, "min_listed_months": 0},
           "selection": {"method": "top_n", "n": 3}, "report": {"bootstrap": 50}}
    res, secs = runner.run(small_bundle, cfg, tmp_path / "run")
    assert gap not in res.targets.index and res.targets.index.max() == last
    assert res.nav.index[-1] == dates[dates > last][0]
    # no trade on the gap date: the holdings after it are the ones bought the week before, drifted
    i = small_bundle.calendar.get_indexer([gap])[0]
    before, after = small_bundle.calendar[i - 1], small_bundle.calendar[i + 2]
    held = res.weights
    assert set(held.loc[before][held.loc[before] > 0].index) == set(held.loc[after][held.loc[after] > 0].index)
    cov = _manifest(tmp_path / "run")["coverage"]
    assert cov["rebalances_without_scores"] == [f"{gap:%Y-%m-%d}"]
    assert "1 rebalance date(s) inside the run had no score" in secs[0].text


def test_signal_refuses_picks_older_than_the_last_due_rebalance(small_bundle, tmp_path):
    """Scores that end before the bundle: the signal names the last rebalance due and the last one scored."""
    from etfrot.errors import DataMissingError
    from etfrot.signal import current_picks

    dates = rebalance_dates(small_bundle.calendar, "weekly")
    px = small_bundle.panel("etf_bars", "close", adjusted=True)
    last = dates[-20]
    s = pd.DataFrame(np.random.default_rng(4).random((len(dates), px.shape[1])), index=dates, columns=px.columns)
    s.loc[:last].rename_axis("date").to_parquet(tmp_path / "s.parquet")
    cfg = {"strategy": "backtest", "name": "old", "scores": {"source": "file", "path": str(tmp_path / "s.parquet")},
           "universe": {"kind": "etf", "min_aum": 0, "min_listed_months": 0}, "selection": {"method": "top_n", "n": 3}}
    due = dates[dates < small_bundle.calendar[-1]][-1]
    with pytest.raises(DataMissingError, match=f"no scores on the rebalance of {due:%Y-%m-%d}.*of {last:%Y-%m-%d}"):
        current_picks(small_bundle, cfg)
    picks = current_picks(small_bundle, cfg, dates[-19])  # the day after ``last`` is due: its picks are ``last``'s
    assert picks.attrs["date"] == last and len(picks) == 3
