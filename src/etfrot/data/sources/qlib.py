"""Reader (and cutter) of qlib's on-disk format — the ``cn_data`` dumps of pyqlib — without pyqlib.

Layout (qlib ``FileStorage``)::

    DIR/calendars/day.txt                    one YYYY-MM-DD per line (the trading days)
    DIR/instruments/<name>.txt               CODE<TAB>start<TAB>end, one row per interval (all.txt = ranges)
    DIR/features/<code>/<field>.day.bin      little-endian float32: a[0] = index of the first day in day.txt,
                                             a[1:] = one value per consecutive calendar day (missing = NaN)

Codes: qlib writes ``SH600000`` (instrument files) and ``sh600000`` (folders, as qlib opens them); both map to
the bundle's ``600000.SH``. Kinds by the exchanges' code ranges: SH000xxx, SZ399xxx and BJ899xxx are indices;
SH60/68xxxx, SZ00/30xxxx, BJ4/8/92xxxx stocks; SH5xxxxx and SZ15/16xxxx exchange-traded funds; anything
else (B shares SH900 / SZ200, bonds, unknown spellings) is "other". Reading is one ``numpy.fromfile`` per
file into a dense (day × instrument) float32 matrix per field — no loop over rows.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.errors import SourceError

#: Fields etfrot reads when present (qlib names). open/high/low/close/factor are adjusted prices / the factor.
FIELDS = ("open", "high", "low", "close", "volume", "factor", "amount", "vwap")
_CODE = re.compile(r"^(SH|SZ|BJ)(\d{6})$")


def to_bundle_code(qlib_codes) -> pd.Series:
    """'SH600000' / 'sh600000' / 'SZ000001' → '600000.SH' / '000001.SZ'; NA where the spelling is not qlib's."""
    s = pd.Series(qlib_codes, dtype="string").str.strip().str.upper()
    m = s.str.extract(r"^(SH|SZ|BJ)(\d{6})$")
    return (m[1] + "." + m[0]).astype("string")


def kind_of(qlib_codes) -> np.ndarray:
    """'index' | 'stock' | 'etf' | 'other' for qlib codes, by the exchanges' code ranges (module docstring)."""
    s = pd.Series(qlib_codes, dtype="string").str.strip().str.upper().fillna("")
    ex, d = s.str[:2], s.str[2:]
    ok = s.str.fullmatch(_CODE.pattern).fillna(False).to_numpy()
    sh, sz, bj = (ex == "SH").to_numpy(), (ex == "SZ").to_numpy(), (ex == "BJ").to_numpy()
    st = lambda *p: d.str.startswith(p).fillna(False).to_numpy()
    index = (sh & st("000")) | (sz & st("399")) | (bj & st("899"))
    stock = (sh & st("60", "68")) | (sz & st("00", "30")) | (bj & (st("4", "8", "92") & ~st("899")))
    etf = (sh & st("5")) | (sz & st("15", "16"))
    return np.select([ok & index, ok & stock, ok & etf], ["index", "stock", "etf"], default="other")


def read_calendar(root: Path) -> pd.DatetimeIndex:
    f = Path(root) / "calendars" / "day.txt"
    if not f.exists():
        raise SourceError(f"{root} is not a qlib directory: no calendars/day.txt (expected calendars/, instruments/, "
                          "features/ as written by qlib's dump_bin.py)")
    txt = [t for t in f.read_text().split() if t]
    try:
        cal = pd.DatetimeIndex(pd.to_datetime(txt, format="%Y-%m-%d"))
    except ValueError as e:
        raise SourceError(f"{f}: a line is not a YYYY-MM-DD date ({e}); qlib's calendar has one date per line") from None
    if not cal.is_monotonic_increasing or cal.has_duplicates:
        bad = cal[1:][np.diff(cal.asi8) <= 0][:5]
        raise SourceError(f"{f}: dates out of order or repeated (e.g. {[f'{d:%Y-%m-%d}' for d in bad]}); the element-0 "
                          "start indices of every .bin depend on the calendar's order — fix the file")
    return cal


def read_instruments(root: Path) -> dict[str, pd.DataFrame]:
    """Every ``instruments/<name>.txt`` as a frame (qlib, code, start, end); ``qlib`` upper-cased."""
    out = {}
    for f in sorted((Path(root) / "instruments").glob("*.txt")):
        d = pd.read_csv(f, sep="\t", header=None, dtype=str, usecols=[0, 1, 2], names=["qlib", "start", "end"])
        d["qlib"] = d["qlib"].str.strip().str.upper()
        try:
            d["start"], d["end"] = pd.to_datetime(d["start"]), pd.to_datetime(d["end"])
        except ValueError as e:
            raise SourceError(f"{f}: start/end are not dates ({e}); expected CODE<TAB>YYYY-MM-DD<TAB>YYYY-MM-DD") from None
        d["code"] = to_bundle_code(d["qlib"])
        out[f.stem.lower()] = d
    return out


@dataclass
class Folders:
    """The feature folders of a dump: one row per folder (folder name, qlib code, bundle code, kind, fields)."""

    frame: pd.DataFrame

    @classmethod
    def scan(cls, root: Path) -> Folders:
        feat = Path(root) / "features"
        if not feat.is_dir():
            raise SourceError(f"{root} is not a qlib directory: no features/ folder")
        rows = []
        for d in sorted(p for p in feat.iterdir() if p.is_dir()):
            fields = tuple(sorted(f.name[: -len(".day.bin")] for f in d.glob("*.day.bin")))
            rows.append((d.name, d.name.upper(), fields))
        f = pd.DataFrame(rows, columns=["folder", "qlib", "fields"])
        f["code"] = to_bundle_code(f["qlib"])
        f["kind"] = kind_of(f["qlib"])
        return cls(f)


def read_matrix(root: Path, folders: list[str], field: str, n_days: int, advance=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense float32 matrix (day × folder) of one field, NaN outside each series; plus each series' first day
    index and length (−1 / 0 where the folder has no such file). Values past the calendar's end are cut off and
    counted in the returned lengths' excess (length − room) by the caller. ``advance()`` is called per file."""
    mat = np.full((n_days, len(folders)), np.nan, dtype=np.float32)
    start = np.full(len(folders), -1, dtype=np.int64)
    length = np.zeros(len(folders), dtype=np.int64)
    feat = Path(root) / "features"
    for j, name in enumerate(folders):  # one file per instrument; the values are copied as one block
        p = feat / name / f"{field}.day.bin"
        if p.exists():
            a = np.fromfile(p, dtype="<f4")
            if len(a) >= 1:
                s = a[0]
                if not np.isfinite(s) or s < 0 or s != int(s):
                    raise SourceError(f"{p}: element 0 ({s!r}) is not a start index into calendars/day.txt; "
                                      "the file is not in qlib's .bin format")
                s = int(s)
                vals = a[1:]
                start[j], length[j] = s, len(vals)
                room = max(0, n_days - s)
                mat[s: s + min(len(vals), room), j] = vals[:room]
        if advance is not None:
            advance()
    return mat, start, length


def cut_qlib(src: str | Path, dst: str | Path, end) -> pd.DataFrame:
    """Write the qlib directory ``src`` to the new folder ``dst`` as a dump taken on ``end`` would be: calendar
    lines ≤ end; instrument intervals that start after ``end`` dropped, those still open then clipped to the last
    trading day ≤ end; every .bin truncated after that day (start index unchanged: the calendar keeps its prefix)
    and removed with its folder when nothing is left; other files copied. Returns one row per instrument file
    and a summary row for the features (rows kept / dropped)."""
    src, dst, end = Path(src), Path(dst), pd.Timestamp(end)
    cal = read_calendar(src)
    if dst.exists() and any(dst.iterdir()):
        raise SourceError(f"{dst} exists and is not empty; give a new folder for the cut")
    keep_days = int((cal <= end).sum())
    if keep_days == 0:
        raise SourceError(f"{src}: no trading day on or before {end:%Y-%m-%d} (calendar starts {cal[0]:%Y-%m-%d})")
    last = cal[keep_days - 1]
    (dst / "calendars").mkdir(parents=True)
    (dst / "calendars" / "day.txt").write_text("".join(f"{d:%Y-%m-%d}\n" for d in cal[:keep_days]))
    rows = []
    (dst / "instruments").mkdir()
    for f in sorted((src / "instruments").glob("*.txt")):
        d = pd.read_csv(f, sep="\t", header=None, dtype=str)
        s, e = pd.to_datetime(d[1]), pd.to_datetime(d[2])
        keep = (s <= last).to_numpy()
        d.loc[keep & (e > last).to_numpy(), 2] = f"{last:%Y-%m-%d}"
        d[keep].to_csv(dst / "instruments" / f.name, sep="\t", header=False, index=False)
        rows.append((f"instruments/{f.name}", int(keep.sum()), int((~keep).sum())))
    kept = dropped = 0
    for d in sorted(p for p in (src / "features").iterdir() if p.is_dir()):
        out = dst / "features" / d.name
        for b in sorted(d.glob("*.day.bin")):
            a = np.fromfile(b, dtype="<f4")
            n = max(0, min(len(a) - 1, keep_days - int(a[0]))) if len(a) else 0
            kept, dropped = kept + n, dropped + max(0, len(a) - 1 - n)
            if n:
                out.mkdir(parents=True, exist_ok=True)
                a[: n + 1].astype("<f4").tofile(out / b.name)
    for p in sorted(q for q in src.iterdir() if q.is_file()):  # README and the like
        shutil.copy2(p, dst / p.name)
    rows.append(("features/*/*.day.bin (values)", kept, dropped))
    return pd.DataFrame(rows, columns=["file", "rows_kept", "rows_dropped"])
