"""import-qlib on tiny qlib directories written here: start index, NaN runs, stubs, lowercase codes, missing
fields, ETFs, incremental update, cut_qlib, survivorship caveat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from etfrot.data import Bundle
from etfrot.data.qlib_import import cut_qlib, import_qlib
from etfrot.data.sources.qlib import kind_of, to_bundle_code
from etfrot.errors import SourceError

CAL = pd.bdate_range("2021-01-04", periods=30)


def write_qlib(root: Path, series: dict, instruments: dict | None = None, cal=CAL) -> Path:
    """series: folder → {field: (start index, values)}; instruments: name → [(code, start, end)]."""
    (root / "calendars").mkdir(parents=True)
    (root / "calendars" / "day.txt").write_text("".join(f"{d:%Y-%m-%d}\n" for d in cal))
    (root / "instruments").mkdir()
    for name, rows in (instruments or {}).items():
        (root / "instruments" / f"{name}.txt").write_text("".join(f"{c}\t{a}\t{b}\n" for c, a, b in rows))
    for folder, fields in series.items():
        d = root / "features" / folder
        d.mkdir(parents=True)
        for f, (s, v) in fields.items():
            np.concatenate([[s], np.asarray(v, float)]).astype("<f4").tofile(d / f"{f}.day.bin")
    return root


def stock(start: int, close, factor=2.0, volume=1000.0, **extra) -> dict:
    c = np.asarray(close, float)
    n = len(c)
    fac = np.broadcast_to(np.asarray(factor, float), (n,))
    out = {"open": (start, c), "high": (start, c * 1.01), "low": (start, c * 0.99), "close": (start, c),
           "volume": (start, np.broadcast_to(np.asarray(volume, float), (n,))), "factor": (start, fac)}
    out.update({k: (start, np.asarray(v, float)) for k, v in extra.items()})
    return out


def index(start: int, close) -> dict:
    c = np.asarray(close, float)
    return {"open": (start, c), "high": (start, c * 1.01), "low": (start, c * 0.99), "close": (start, c),
            "volume": (start, np.full(len(c), 1e9)), "factor": (start, np.ones(len(c)))}


def test_codes_and_kinds():
    """qlib spellings in either case map to the bundle's; kinds follow the exchanges' code ranges."""
    assert list(to_bundle_code(["SH600000", "sh600000", "SZ000001", "bj430047"])) == [
        "600000.SH", "600000.SH", "000001.SZ", "430047.BJ"]
    assert list(kind_of(["SH000300", "SZ399006", "SZ000001", "SH600000", "sh688981", "SZ300750", "SH510300",
                         "SZ159915", "SH900901", "XYZ"])) == [
        "index", "index", "stock", "stock", "stock", "stock", "etf", "etf", "other", "other"]


def test_start_index_raw_prices_and_lowercase(tmp_path):
    """Element 0 places the series on the calendar; raw = adjusted / factor; lowercase folders and instrument codes."""
    adj = 20.0 + np.arange(25)
    src = write_qlib(tmp_path / "q", {"sh600000": stock(5, adj, factor=4.0), "sz000001": stock(0, np.full(30, 10.0)),
                                      "sh000300": index(0, np.full(30, 4000.0))},
                     {"csi300": [("sh600000", "2021-01-11", "2021-02-12"), ("SZ000001", "2021-01-04", "2021-01-20")]})
    r = import_qlib(src, tmp_path / "b")
    sb = r.bundle.table("stock_bars")
    a = sb[sb["code"] == "600000.SH"]
    assert a["date"].iloc[0] == CAL[5] and len(a) == 25
    np.testing.assert_allclose(a["close"].to_numpy(), adj / 4.0)
    np.testing.assert_allclose((a["close"] * a["adj_factor"]).to_numpy(), adj)
    assert set(sb["code"]) == {"600000.SH", "000001.SZ"}
    assert list(r.bundle.table("index_bars")["code"].unique()) == ["000300.SH"]
    m = r.bundle.table("index_members")
    assert set(m["stock_code"]) == {"600000.SH", "000001.SZ"} and set(m["index_code"]) == {"000300.SH"}
    # the interval ending on the dump's last day is open; the other keeps its end
    ends = m.set_index("stock_code")["end_date"]
    assert pd.isna(ends["600000.SH"]) and ends["000001.SZ"] == pd.Timestamp("2021-01-20")
    r.bundle.validate()


def test_nan_runs_stub_etf_and_missing_field(tmp_path):
    """NaN runs are dropped and counted; stubs, ETF folders and folders missing a field are skipped and listed."""
    c = np.full(30, 10.0)
    c[10:14] = np.nan
    ic = np.full(30, 3000.0)
    ic[:6] = np.nan
    nofactor = stock(0, np.full(30, 5.0))
    del nofactor["factor"]
    src = write_qlib(tmp_path / "q", {
        "sh600000": stock(0, c),
        "sh600001": stock(2, np.full(3, 8.0)),  # stub: 3 days, stops long before the end
        "sh600002": stock(27, np.full(3, 8.0)),  # a new listing at the end: kept
        "sh600003": nofactor,
        "sh510300": stock(0, np.full(30, 4.0)),
        "sh000905": index(0, ic)})
    r = import_qlib(src, tmp_path / "b", min_days=10)
    sb = r.bundle.table("stock_bars")
    assert set(sb["code"]) == {"600000.SH", "600002.SH"}
    assert len(sb[sb["code"] == "600000.SH"]) == 26
    rep = r.report
    assert (rep.get("qlib_stock_nan_prices")["rows"], rep.get("qlib_stock_nan_prices")["items"]) == (4, 1)
    assert (rep.get("qlib_index_nan")["rows"], rep.get("qlib_index_nan")["items"]) == (6, 1)
    assert len(r.bundle.table("index_bars")) == 24
    assert rep.get("qlib_stubs")["items"] == 1 and rep.get("qlib_missing_fields")["items"] == 1
    assert rep.get("qlib_etfs")["items"] == 1
    why = r.skipped.set_index("folder")["why"]
    assert why["sh600001"].startswith("stub") and "factor" in why["sh600003"] and why["sh510300"].startswith("ETF")
    assert pd.read_csv(tmp_path / "b" / "skipped.csv")["folder"].tolist() == r.skipped["folder"].tolist()


def test_amount_absent_vwap_and_amount_fields(tmp_path):
    """No amount/vwap: amount NaN and stated; vwap given: amount = vwap/factor × volume; amount given: used as is."""
    src = write_qlib(tmp_path / "q", {"sh600000": stock(0, np.full(30, 10.0)), "sh000300": index(0, np.full(30, 4000.0))})
    r = import_qlib(src, tmp_path / "b")
    assert r.bundle.table("stock_bars")["amount"].isna().all()
    assert "unavailable" in r.bundle.manifest["meta"]["vwap"] and r.report.get("qlib_no_amount")["items"] == 2
    src2 = write_qlib(tmp_path / "q2", {"sh600000": stock(0, np.full(30, 10.0), factor=2.0, volume=100.0,
                                                          vwap=np.full(30, 12.0)), "sh000300": index(0, np.full(30, 4000.0))})
    sb = import_qlib(src2, tmp_path / "b2").bundle.table("stock_bars")
    np.testing.assert_allclose(sb["amount"].to_numpy(), 12.0 / 2.0 * 100.0)
    src3 = write_qlib(tmp_path / "q3", {"sh600000": stock(0, np.full(30, 10.0), amount=np.full(30, 777.0)),
                                        "sh000300": index(0, np.full(30, 4000.0))})
    b3 = import_qlib(src3, tmp_path / "b3").bundle
    np.testing.assert_allclose(b3.table("stock_bars")["amount"].to_numpy(), 777.0)
    np.testing.assert_allclose(b3.vwap(adjusted=False).iloc[:, 0].to_numpy(), 777.0 / 1000.0)


def test_suspension_limits_and_survivorship(tmp_path):
    """Volume 0 / NaN → suspended (volume 0); a +10 % close is limit-up; no delisted stock → caveat in the label."""
    c = np.full(30, 10.0)
    c[5:] = 11.0  # +10 % on day 5
    vol = np.full(30, 1000.0)
    vol[8], vol[9] = 0.0, np.nan
    src = write_qlib(tmp_path / "q", {"sh600000": stock(0, c, factor=1.5, volume=vol), "sh000300": index(0, np.full(30, 4000.0))})
    b = import_qlib(src, tmp_path / "b").bundle
    sb = b.table("stock_bars").set_index("date")
    assert sb.loc[CAL[5], "limit_up"] and not sb.loc[CAL[6], "limit_up"]
    assert sb.loc[[CAL[8], CAL[9]], "is_suspended"].all() and (sb.loc[[CAL[8], CAL[9]], "volume"] == 0).all()
    assert int(sb["is_suspended"].sum()) == 2
    assert "survivorship bias" in b.label and b.caveats
    # a stock that stops while the dump goes on is delisted: no caveat
    src2 = write_qlib(tmp_path / "q2", {"sh600000": stock(0, np.full(30, 10.0)), "sh600001": stock(0, np.full(20, 9.0)),
                                        "sh000300": index(0, np.full(30, 4000.0))})
    b2 = import_qlib(src2, tmp_path / "b2").bundle
    info = b2.table("stock_info").set_index("code")
    assert info.loc["600001.SH", "delist_date"] == CAL[19] + pd.Timedelta(days=1) and pd.isna(info.loc["600000.SH", "delist_date"])
    assert b2.caveats == []


def test_second_run_only_appends(tmp_path):
    """A newer dump into the same bundle adds only the later days; earlier rows stay even where the dump revised them."""
    base = 10.0 + np.arange(30) * 0.01
    old_dump = write_qlib(tmp_path / "q_old", {"sh600000": stock(0, base[:20]), "sh000300": index(0, np.full(20, 4000.0))},
                          cal=CAL[:20])
    first = import_qlib(old_dump, tmp_path / "b")
    old_rows = first.bundle.table("stock_bars").copy()
    revised = base.copy()
    revised[3] = 10.5  # the newer dump changed a past day
    new_dump = write_qlib(tmp_path / "q_new", {"sh600000": stock(0, revised), "sh000300": index(0, np.full(30, 4000.0)),
                                               "sz000002": stock(0, np.full(30, 7.0))})
    second = import_qlib(new_dump, tmp_path / "b")
    assert first.appended_days is None and second.appended_days == 10
    sb = second.bundle.table("stock_bars")
    pd.testing.assert_frame_equal(sb[sb["date"] <= CAL[19]].reset_index(drop=True), old_rows)
    assert set(sb.loc[sb["date"] > CAL[19], "date"]) == set(CAL[20:])
    assert len(sb[sb["code"] == "000002.SZ"]) == 10  # a stock new to the dump: only its new days
    assert second.report.get("qlib_update_stock_bars")["rows"] == 1 + 20
    assert len(second.bundle.calendar) == 30 and len(second.bundle.manifest["meta"]["updates"]) == 1
    second.bundle.validate()
    # rerun on the same dump: nothing new, nothing changed
    third = import_qlib(new_dump, tmp_path / "b")
    assert third.appended_days == 0 and third.bundle.content_hash == second.bundle.content_hash


def test_refuses_other_bundle(tmp_path, small_bundle):
    """An existing bundle from another source is not overwritten by an import into it."""
    src = write_qlib(tmp_path / "q", {"sh600000": stock(0, np.full(30, 10.0)), "sh000300": index(0, np.full(30, 4000.0))})
    with pytest.raises(SourceError, match="not one written by import-qlib"):
        import_qlib(src, small_bundle.path)


def test_cut_qlib_and_invariance(tmp_path):
    """cut_qlib truncates calendar, intervals and bins (folders starting later removed); importing the cut equals
    importing the full dump up to the cut, except intervals open at the cut."""
    src = write_qlib(tmp_path / "q", {"sh600000": stock(0, 10 + np.arange(30) * 0.1), "sh600001": stock(12, np.full(18, 5.0)),
                                      "sh600002": stock(20, np.full(10, 6.0)), "sh000300": index(0, np.full(30, 4000.0))},
                     {"csi300": [("SH600000", "2021-01-04", "2021-02-12"), ("SH600001", "2021-01-20", "2021-01-29"),
                                 ("SH600002", "2021-02-01", "2021-02-12")]})
    cut = tmp_path / "cut"
    at = CAL[14]
    cut_qlib(src, cut, at)
    assert (cut / "calendars" / "day.txt").read_text().split()[-1] == f"{at:%Y-%m-%d}"
    assert not (cut / "features" / "sh600002").exists()
    a = np.fromfile(cut / "features" / "sh600001" / "close.day.bin", "<f4")
    assert a[0] == 12 and len(a) == 1 + 3
    rows = (cut / "instruments" / "csi300.txt").read_text().splitlines()
    assert rows == [f"SH600000\t2021-01-04\t{at:%Y-%m-%d}", f"SH600001\t2021-01-20\t{at:%Y-%m-%d}"]
    b_cut = import_qlib(cut, tmp_path / "bc").bundle
    b_full = import_qlib(src, tmp_path / "bf").bundle
    for t in ("stock_bars", "index_bars", "calendar"):
        f = b_full.table(t)
        pd.testing.assert_frame_equal(f[f["date"] <= at].reset_index(drop=True), b_cut.table(t))
    m_full, m_cut = b_full.table("index_members"), b_cut.table("index_members")
    m_full = m_full[m_full["start_date"] <= at].reset_index(drop=True)
    later = m_cut["end_date"].isna()  # open at the cut: their end is known only later
    pd.testing.assert_frame_equal(m_full.drop(columns="end_date"), m_cut.drop(columns="end_date"))
    assert (m_full["end_date"][~later.to_numpy()].reset_index(drop=True)
            .equals(m_cut["end_date"][~later].reset_index(drop=True)))
    assert m_full.loc[later.to_numpy(), "end_date"].tolist()[1] == pd.Timestamp("2021-01-29")


def test_not_a_qlib_dir(tmp_path):
    with pytest.raises(SourceError, match="calendars/day.txt"):
        import_qlib(tmp_path, tmp_path / "b")


def test_bundle_reopens(tmp_path):
    src = write_qlib(tmp_path / "q", {"sh600000": stock(0, np.full(30, 10.0)), "sh000300": index(0, np.full(30, 4000.0))})
    import_qlib(src, tmp_path / "b")
    b = Bundle.open(tmp_path / "b")
    b.validate()
    assert b.manifest["meta"]["importer"] == "import-qlib" and b.source.startswith("qlib:")


def test_cli_import_and_update(tmp_path):
    """`etfrot data import-qlib DIR --out B` imports, a second call with a newer dump appends, --instruments filters."""
    from typer.testing import CliRunner

    from etfrot.cli import app

    runner = CliRunner()
    old = write_qlib(tmp_path / "q1", {"sh600000": stock(0, np.full(20, 10.0)), "sz000001": stock(0, np.full(20, 9.0)),
                                       "sh000300": index(0, np.full(20, 4000.0))},
                     {"csi300": [("SH600000", "2021-01-04", "2021-01-29")]}, cal=CAL[:20])
    new = write_qlib(tmp_path / "q2", {"sh600000": stock(0, np.full(30, 10.0)), "sz000001": stock(0, np.full(30, 9.0)),
                                       "sh000300": index(0, np.full(30, 4000.0))},
                     {"csi300": [("SH600000", "2021-01-04", "2021-02-12")]})
    out = tmp_path / "b"
    r = runner.invoke(app, ["data", "import-qlib", str(old), "--out", str(out), "--instruments", "csi300"])
    assert r.exit_code == 0, r.output
    assert "full import" in r.output and "survivorship bias" in r.output
    assert set(Bundle.open(out).table("stock_bars")["code"]) == {"600000.SH"}
    r = runner.invoke(app, ["data", "import-qlib", str(new), "--out", str(out), "--instruments", "csi300"])
    assert r.exit_code == 0, r.output
    assert "10 new days appended" in r.output
    assert len(Bundle.open(out).calendar) == 30
