"""``build-real --stock-source qlib``: the stocks from the folder's qlib dump, so that the CSI 500 / SSE 50 weights
find their constituents (issue 12 item 4). Skipped where ../shared/data/real is absent.

Built once per module, restricted to 3 ETFs and the 50 stocks of one SSE 50 snapshot (~20 s). Known answers come
from the raw files: BaoStock's unadjusted closes and the tushare weight file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

SNAPSHOT = "20180629"  # an SSE 50 month-end snapshot inside the weight file's window


def _snapshot(real_data) -> pd.DataFrame:
    f = next(real_data.glob("index_weight_csi500_sse50_*")) / "index_weight.csv"
    w = pd.read_csv(f, dtype={"trade_date": str})
    return w[(w["index_code"] == "000016.SH") & (w["trade_date"] == SNAPSHOT)]


@pytest.fixture(scope="module")
def qb(real_data, tmp_path_factory):
    from etfrot.data.real import build_real

    codes = sorted(_snapshot(real_data)["con_code"])
    return build_real(real_data, tmp_path_factory.mktemp("realq") / "bundle", stock_source="qlib",
                      etfs=["510300.SH", "510050.SH", "510500.SH"], stocks=codes).bundle


def test_stocks_come_from_the_qlib_dump_with_its_survivorship_caveat(qb, real_data):
    """The stock bars are the dump's (its first day, 2014, not BaoStock's 2010), the manifest names the source and
    carries the dump's survivorship caveat, which the bundle's label (every output) repeats."""
    from etfrot.data.sources.qlib import read_calendar

    sb = qb.table("stock_bars")
    qlib_dir = next(real_data.glob("qlib_cn_*"))
    assert sb["date"].min() == read_calendar(qlib_dir)[0]
    assert set(sb["code"]) <= set(_snapshot(real_data)["con_code"])
    assert qb.manifest["meta"]["stock_source"] == "qlib"
    assert any(c.startswith("survivorship bias") for c in qb.caveats) and "survivorship bias" in qb.label


def test_qlib_raw_closes_equal_baostock_unadjusted_closes(qb, real_data):
    """600036.SH in both sources: the dump's adjusted close / factor (the bundle's raw close) equals BaoStock's
    unadjusted close to the cent on ≥ 99 % of their common days."""
    raw = pd.read_csv(real_data / "stocks_csi300_bao" / "bao" / "600036.csv.gz", usecols=["date", "close"])
    bao = pd.Series(raw["close"].to_numpy(float), index=pd.DatetimeIndex(raw["date"]))
    ours = qb.panel("stock_bars", "close")["600036.SH"].dropna()
    common = ours.index.intersection(bao.index)
    assert len(common) > 1500
    assert np.mean(np.abs(ours[common].to_numpy() - bao[common].to_numpy()) <= 0.0101) >= 0.99


def test_sse50_weights_find_their_constituents(qb, real_data):
    """aggregate_to_index of a stock panel that is 1 wherever a stock has a close: the SSE 50 value is 1 and its
    coverage the weight share (from the raw weight file) of the snapshot's stocks with a close on the day."""
    from etfrot.factors.aggregate import aggregate_to_index

    day = pd.Timestamp("2018-07-02")
    close = qb.panel("stock_bars", "close").loc[[day]]
    val, cov = aggregate_to_index(close.notna().astype(float).where(close.notna()), qb, ["000016.SH"], min_coverage=0)
    snap = _snapshot(real_data)
    have = snap["con_code"].isin(close.columns[close.iloc[0].notna()])
    expected = snap.loc[have, "weight"].sum() / snap["weight"].sum()
    assert expected > 0.9
    assert cov.loc[day, "000016.SH"] == pytest.approx(expected, abs=1e-3)  # the build renormalises the rounded %
    assert val.loc[day, "000016.SH"] == pytest.approx(1.0)
