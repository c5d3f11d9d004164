"""Bundle: atomic writes, determinism, panels, point-in-time access (SPEC §1.1–1.2)."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from etfrot.data import Bundle, rebalance_dates, write_bundle
from etfrot.data.bundle import MANIFEST
from etfrot.data.pit import asof_panel
from etfrot.data.sources.files import import_folder
from etfrot.data.synthetic import synthesize
from etfrot.errors import BundleError, DataMissingError, ValidationError


@pytest.fixture(scope="module")
def tables():
    return synthesize("small", seed=3, signal=1.0)


def test_same_seed_same_hash_other_seed_differs(tmp_path, tables, small_bundle):
    again = write_bundle(tmp_path / "a", synthesize("small", seed=0, signal=1.0), source="synthetic")
    assert again.content_hash == small_bundle.content_hash
    other = write_bundle(tmp_path / "b", tables, source="synthetic")
    assert other.content_hash != small_bundle.content_hash


def test_interrupted_write_leaves_old_bundle_readable(tmp_path, tables, monkeypatch):
    path = tmp_path / "bundle"
    old = write_bundle(path, tables, source="synthetic")
    old_close = old.panel("etf_bars", "close").copy()
    changed = dict(tables)
    changed["etf_bars"] = tables["etf_bars"].assign(close=tables["etf_bars"]["close"] * 1.0)
    calls = {"n": 0}
    real = pd.DataFrame.to_parquet

    def crash_midway(self, *a, **k):  # the third table file dies mid-write
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full (simulated)")
        return real(self, *a, **k)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", crash_midway)
    with pytest.raises(OSError):
        write_bundle(path, changed, source="synthetic")
    monkeypatch.undo()
    reopened = Bundle.open(path)
    assert reopened.content_hash == old.content_hash
    pd.testing.assert_frame_equal(reopened.panel("etf_bars", "close"), old_close)
    reopened.validate()
    # the next successful write cleans the leftovers of the crashed one
    write_bundle(path, tables, source="synthetic")
    assert len([p for p in os.listdir(path) if p.startswith("data-")]) == 1


def test_invalid_tables_write_nothing(tmp_path, tables):
    bad = dict(tables)
    bad["etf_bars"] = tables["etf_bars"].assign(volume=-1.0)
    with pytest.raises(ValidationError):
        write_bundle(tmp_path / "x", bad, source="synthetic")
    assert not (tmp_path / "x" / MANIFEST).exists()


def test_open_errors_are_clear(tmp_path, small_bundle):
    with pytest.raises(BundleError, match="not a bundle"):
        Bundle.open(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"format_version": 99}))
    with pytest.raises(BundleError, match="format version 99"):
        Bundle.open(tmp_path)
    with pytest.raises(DataMissingError, match="no table 'foo'"):
        small_bundle.table("foo")


def test_panel_matches_long_table(small_bundle):
    t = small_bundle.table("etf_bars")
    p = small_bundle.panel("etf_bars", "close")
    row = t.iloc[len(t) // 2]
    assert p.loc[row["date"], row["code"]] == row["close"]
    assert p.index.equals(small_bundle.calendar)
    assert p.notna().sum().sum() == len(t)
    s = small_bundle.table("stock_bars")
    adj = small_bundle.panel("stock_bars", "close", adjusted=True)
    r = s.iloc[-1]
    assert adj.loc[r["date"], r["code"]] == pytest.approx(r["close"] * r["adj_factor"])


def test_rebalance_dates_are_last_trading_days():
    cal = pd.DatetimeIndex(pd.bdate_range("2024-01-01", "2024-04-03").drop(pd.to_datetime(["2024-01-31", "2024-02-09"])))
    m = rebalance_dates(cal, "monthly")
    assert list(m.strftime("%Y-%m-%d")) == ["2024-01-30", "2024-02-29", "2024-03-29", "2024-04-03"]  # last: partial month
    w = rebalance_dates(cal, "weekly")
    assert pd.Timestamp("2024-02-08") in w and pd.Timestamp("2024-02-09") not in w  # Friday 9 Feb is a holiday
    assert all(d.weekday() == 4 for d in w[:-1] if d != pd.Timestamp("2024-02-08"))
    assert len(w) == 14 and w[-1] == cal[-1]


def test_asof_panel_known_answer():
    ev = pd.DataFrame({"code": ["A", "A", "B", "A"], "eff": pd.to_datetime(["2024-01-03", "2024-01-05", "2024-01-04", "2024-01-05"]),
                       "v": [1.0, 2.0, 10.0, 3.0]})
    dates = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
    p = asof_panel(ev, dates, effective="eff", code="code", value="v")
    np.testing.assert_array_equal(p["A"].to_numpy(), [np.nan, 1, 1, 3, 3])  # same-day tie: last row wins
    np.testing.assert_array_equal(p["B"].to_numpy(), [np.nan, np.nan, 10, 10, 10])


def _changed_after(tables, table, col, t, factor=1.7):
    out = dict(tables)
    df = tables[table].copy()
    late = df[col] > t
    num = df.select_dtypes("float").columns.drop(col, errors="ignore")
    df.loc[late, num] = df.loc[late, num] * factor
    out[table] = df
    return out


def test_point_in_time_fundamentals_macro_weights(tmp_path, tables):
    """Changing any value dated after t leaves every as-of lookup at t unchanged (SPEC §1.2)."""
    base = write_bundle(tmp_path / "base", tables, source="synthetic")
    t = base.calendar[len(base.calendar) // 2]
    dates = base.calendar[base.calendar <= t]
    ch = _changed_after(tables, "fundamentals", "announce_date", t)
    ch = _changed_after(ch, "macro", "release_date", t)
    ch = _changed_after(ch, "index_weights", "date", t, factor=1.0)
    w = ch["index_weights"]
    late = w["date"] > t
    w.loc[late, "weight"] = w.loc[late].groupby(["date", "index_code"])["weight"].transform(lambda x: x[::-1].to_numpy())
    other = write_bundle(tmp_path / "changed", ch, source="synthetic")
    assert other.content_hash != base.content_hash
    for field in ("np_yoy", "eps", "roe_ttm"):
        a, b = base.fundamentals_panel(field, dates), other.fundamentals_panel(field, dates)
        pd.testing.assert_frame_equal(a, b)
        assert a.notna().any().any()
    pd.testing.assert_frame_equal(base.macro_panel(dates=dates), other.macro_panel(dates=dates))
    pd.testing.assert_frame_equal(base.index_weights_panel("000300.SH", dates), other.index_weights_panel("000300.SH", dates))
    # ...while after t they do differ, so the test can fail
    later = base.calendar[base.calendar > t]
    assert not base.fundamentals_panel("np_yoy", later).equals(other.fundamentals_panel("np_yoy", later))


def test_fundamental_visible_only_from_announce_date(small_bundle):
    f = small_bundle.table("fundamentals")
    row = f[f["announce_date"] > small_bundle.calendar[300]].iloc[0]
    p = small_bundle.fundamentals_panel("eps")[row["code"]]
    before = p[p.index < row["announce_date"]].iloc[-1]
    after = p[p.index >= row["announce_date"]].iloc[0]
    assert after == row["eps"] and before != row["eps"]


def test_delisted_stocks_kept_and_listed_mask(small_bundle):
    info = small_bundle.table("stock_info")
    gone = info[info["delist_date"].notna()]
    assert len(gone) > 0, "the synthetic market must contain delisted stocks"
    code, d = gone.iloc[0]["code"], gone.iloc[0]["delist_date"]
    bars = small_bundle.table("stock_bars")
    assert bars.loc[bars["code"] == code, "date"].max() < d
    listed = small_bundle.listed("stock")
    assert listed.loc[listed.index < d, code].iloc[-1] and not listed.loc[listed.index >= d, code].any()


def test_import_folder_roundtrip(tmp_path, small_bundle):
    src = tmp_path / "csv"
    src.mkdir()
    for t in ("calendar", "etf_bars", "etf_info", "index_bars", "index_info"):
        df = small_bundle.table(t)
        (df.to_csv(src / f"{t}.csv", index=False) if t != "etf_bars" else df.to_parquet(src / f"{t}.parquet"))
    b = import_folder(src, tmp_path / "imp")
    pd.testing.assert_frame_equal(b.panel("etf_bars", "close"), small_bundle.panel("etf_bars", "close"))
