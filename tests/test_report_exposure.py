"""SW level-1 industry exposure in the strategies' reports (issue 14 item 3) on the small synthetic market:
the section and its chart are there, each month end's exposure sums to the weight held that day, one
industry's exposure equals a direct computation from the bundle's tables, and where the holdings cannot
be mapped the section says why."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from etfrot.backtest import analytics as an
from etfrot.report import write_report
from etfrot.report.tearsheet import comparison_sections, exposure_section
from etfrot.strategies import regime_rotation as rr
from etfrot.strategies import runner

CFG = {"name": "mom20 top5", "universe": {"kind": "etf", "min_aum": None}, "scores": {"source": "factor", "factors": ["mom20"]},
       "selection": {"method": "top_n", "n": 5}, "frequency": "weekly",
       "benchmark": {"kind": "total_return", "code": "000300.SH"}, "report": {"bootstrap": 50}}


@pytest.fixture(scope="module")
def etf_run(small_bundle, tmp_path_factory):
    out = tmp_path_factory.mktemp("exposure")
    res, secs = runner.run(small_bundle, CFG, out)
    return res, secs, out


def _section(secs, suffix):
    hits = [s for s in secs if s.title.endswith(suffix)]
    assert len(hits) == 1, [s.title for s in secs]
    return hits[0]


def _direct_share(bundle, code: str, date: pd.Timestamp, industry: str) -> float:
    """Share of ``industry`` in the index ``code`` tracks (or is), from the bundle's tables directly: the latest
    weight snapshot on or before ``date``, each constituent's industry = its latest stock_industry row ≤ date."""
    info = bundle.info("etf")["tracked_index"]
    idx = info.get(code, code)
    iw = bundle.table("index_weights")
    iw = iw[(iw["index_code"] == idx) & (iw["date"] <= date)]
    snap = iw[iw["date"] == iw["date"].max()]
    si = bundle.table("stock_industry")
    si = si[si["date"] <= date].sort_values("date").groupby("code")["industry_l1"].last()
    ind = snap["stock_code"].map(si)
    return float(snap.loc[(ind == industry).to_numpy(), "weight"].sum() / snap["weight"].sum())


def _check_exposure(res, exp: pd.DataFrame, bundle) -> None:
    held = res.weights.reindex(exp.index)
    np.testing.assert_allclose(exp.sum(axis=1).to_numpy(), held.sum(axis=1).to_numpy(), atol=1e-12)
    assert (exp.to_numpy() >= -1e-12).all()
    assert exp.drop(columns=an.UNCLASSIFIED).to_numpy().sum() > 0.5 * held.to_numpy().sum()  # most weight maps
    # the largest industry on the last month end, recomputed by hand from the tables
    d = exp.index[-1]
    top = exp.drop(columns=an.UNCLASSIFIED).loc[d].idxmax()
    w = held.loc[d]
    want = sum(float(w[c]) * _direct_share(bundle, c, d, top) for c in w.index[w > 0])
    assert exp.loc[d, top] == pytest.approx(want, abs=1e-12)


def test_etf_strategy_report_has_the_exposure_section_and_chart(etf_run, small_bundle):
    res, secs, out = etf_run
    sec = _section(secs, "SW level-1 industry exposure")
    assert len(sec.figures) == 1 and "latest" in sec.tables
    exp = sec.files["industry exposure"]
    d = res.weights.index.to_series()
    month_ends = d.groupby([d.index.year, d.index.month]).max()
    assert len(exp) >= 12 and exp.index.isin(month_ends).all()  # the last trading day of each month
    _check_exposure(res, exp, small_bundle)
    html = (out / "report.html").read_text()
    assert "SW level-1 industry exposure" in html and "unclassified" in html
    csv = pd.read_csv(next((out / "tables").glob("*industry_exposure_industry_exposure.csv")), index_col=0)
    np.testing.assert_allclose(csv.to_numpy(), exp.to_numpy())


def test_regime_rotation_report_maps_its_industry_holdings(null_bundle):
    cfg = rr.validate_config({"strategy": "regime_rotation"})
    res = rr.build(null_bundle, cfg)
    secs = rr.sections(res, cfg, null_bundle)
    sec = _section(secs, "SW level-1 industry exposure")
    assert len(sec.figures) == 1
    _check_exposure(res.variants[res.main], sec.files["industry exposure"], null_bundle)


def test_no_mapping_is_said_not_omitted(etf_run, tmp_path):
    res, _, _ = etf_run

    class NoWeights:  # a bundle without index_weights
        path = "bundle-without-weights"

        def has(self, name):
            return name != "index_weights"

    s = exposure_section(res, title="x", bundle=NoWeights())
    assert "has no index_weights table" in s.text and not s.figures
    s = exposure_section(res, title="x", bundle=None)
    assert "No data bundle" in s.text and not s.figures
    html = write_report(tmp_path, title="t", synthetic=True, data_label="SYNTHETIC DATA", sections=[s]).read_text()
    assert "No data bundle" in html


def test_comparison_report_has_the_exposure_of_every_strategy(etf_run, small_bundle):
    res, secs, _ = etf_run
    comp = comparison_sections({"a": res, "b": res}, synthetic=True, bundle=small_bundle)
    for s in comp[1:]:
        assert len(s.figures) == 1 and "unclassified" in s.text  # the exposure; the unclassified share
        pd.testing.assert_frame_equal(s.files["industry exposure"], _section(secs, "industry exposure").files["industry exposure"])
    comp = comparison_sections({"a": res}, synthetic=True)
    assert not comp[1].figures and "No data bundle" in comp[1].text


def test_industry_lookup_equals_the_bundle_panel(small_bundle):
    """The exposure's per-pair industry lookup gives what ``Bundle.industry_panel`` says for the same (date,
    stock), None included (a date before a stock's first classification, a code the bundle does not have)."""
    cal = small_bundle.calendar
    dates = pd.DatetimeIndex([cal[0], cal[len(cal) // 3], cal[len(cal) // 2], cal[-1]])
    panel = small_bundle.industry_panel(dates)
    rng = np.random.default_rng(0)
    stocks = pd.Index([*rng.choice(panel.columns, 40, replace=False), "999999.XX"])
    d, s = dates.repeat(len(stocks)), pd.Index(np.tile(stocks.to_numpy(dtype=object), len(dates)))
    want = panel.reindex(columns=stocks).to_numpy(dtype=object).ravel()
    want = np.where(pd.isna(want), None, want)
    got = an.bundle_industry_lookup(small_bundle)(d, s)
    assert list(got) == list(want)
    assert any(v is None for v in got) and sum(v is not None for v in got) > 40
