"""The bundle: a folder of Parquet tables (SPEC §1.1) plus ``manifest.json``.

Layout::

    BUNDLE/
      manifest.json          format version, source, created, row counts, content hash, data_dir
      data-<hash12>/         one <table>.parquet per table

Writes are atomic: the new tables go to a fresh ``data-*`` folder, then ``manifest.json`` is
replaced in one ``os.replace`` (atomic on POSIX), and only then is the old folder removed. A crash
at any point leaves either the old or the new bundle readable, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot import __version__
from etfrot.data.pit import active_snapshot, asof_panel
from etfrot.data.schema import TABLES, coerce_table, validate_table, validate_tables
from etfrot.errors import BundleError, DataMissingError, ValidationError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


def content_hash(tables: dict[str, pd.DataFrame]) -> str:
    """sha256 over every table's name, columns, dtypes and row hashes (independent of Parquet bytes)."""
    h = hashlib.sha256()
    for name in sorted(tables):
        df = tables[name]
        h.update(name.encode())
        h.update(json.dumps([[c, str(df[c].dtype)] for c in df.columns]).encode())
        h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _sort(name: str, df: pd.DataFrame) -> pd.DataFrame:
    key = list(TABLES[name].key)
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def write_bundle(path: str | Path, tables: dict[str, pd.DataFrame], *, source: str, meta: dict | None = None,
                 sort: bool = True, caveats: list[str] | None = None) -> "Bundle":
    """Validate ``tables`` and write them as a bundle at ``path`` atomically; return the opened bundle.

    ``source`` is recorded in the manifest ("synthetic", "files", "akshare", "real:../shared", ...).
    Nothing is written unless every table validates. ``caveats`` (e.g. "survivorship bias: …") go to the
    manifest and into :attr:`Bundle.label`, so every report built on the bundle states them.
    """
    path = Path(path)
    clean = {}
    for name, df in tables.items():
        if name not in TABLES:
            raise ValidationError(name, None, "unknown table", fix=f"use one of {sorted(TABLES)}")
        spec = TABLES[name]
        cols = spec.names + ([c for c in df.columns if c not in spec.names] if spec.extra_ok else [])
        missing = [c for c in spec.names if c not in df.columns]
        if missing:
            raise ValidationError(name, missing[0], f"missing column(s) {missing}", fix=f"expected {spec.names}")
        extra = [c for c in df.columns if c not in cols]
        if extra:
            raise ValidationError(name, extra[0], f"unexpected column(s) {extra}", fix=f"drop or rename them; expected {spec.names}")
        df = coerce_table(name, df[cols])
        clean[name] = _sort(name, df) if sort else df.reset_index(drop=True)
    validate_tables(clean)

    digest = content_hash(clean)
    path.mkdir(parents=True, exist_ok=True)
    data_dir = f"data-{digest[:12]}-{uuid.uuid4().hex[:6]}"
    tmp = path / (data_dir + ".partial")
    tmp.mkdir()
    for name, df in clean.items():
        df.to_parquet(tmp / f"{name}.parquet", index=False, compression="zstd")
    os.replace(tmp, path / data_dir)
    manifest = {
        "format_version": FORMAT_VERSION,
        "source": source,
        "synthetic": source == "synthetic",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "etfrot_version": __version__,
        "rows": {k: int(len(v)) for k, v in sorted(clean.items())},
        "content_hash": digest,
        "data_dir": data_dir,
        "meta": meta or {},
        "caveats": list(caveats or []),
    }
    tmp_manifest = path / f".{MANIFEST}.{uuid.uuid4().hex[:6]}"
    tmp_manifest.write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    os.replace(tmp_manifest, path / MANIFEST)  # the commit point
    for p in path.iterdir():  # clean up: the old data folder and any leftovers of crashed writes
        if p.name.startswith("data-") and p.name != data_dir:
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{MANIFEST}."):
            p.unlink(missing_ok=True)
    return Bundle.open(path)


def _read_manifest(path: Path) -> dict:
    try:
        m = json.loads((path / MANIFEST).read_text())
    except FileNotFoundError:
        raise BundleError(f"{path} is not a bundle: no {MANIFEST}. Build one with `etfrot data synth --out {path}` "
                          "or `etfrot data import SRC --out PATH`.") from None
    except json.JSONDecodeError as e:
        raise BundleError(f"{path / MANIFEST} is not valid JSON ({e}); rebuild the bundle.") from None
    if m.get("format_version") != FORMAT_VERSION:
        raise BundleError(f"{path}: bundle format version {m.get('format_version')} is not supported "
                          f"(this etfrot reads {FORMAT_VERSION}); rebuild the bundle.")
    return m


class Bundle:
    """A read-only, validated view of a bundle folder.

    Tables load lazily and are validated on first load; :meth:`validate` checks everything,
    including the rules across tables.
    """

    def __init__(self, path: Path, manifest: dict, validate: bool = True) -> None:
        self.path = path
        self.manifest = manifest
        self._validate = validate
        self._tables: dict[str, pd.DataFrame] = {}
        self._panels: dict[tuple, pd.DataFrame] = {}

    @classmethod
    def open(cls, path: str | Path, validate: bool = True) -> "Bundle":
        path = Path(path)
        m = _read_manifest(path)
        d = path / m["data_dir"]
        if not d.is_dir():
            raise BundleError(f"{path}: data folder {m['data_dir']} named in {MANIFEST} is missing; rebuild the bundle.")
        missing = [t for t in m["rows"] if not (d / f"{t}.parquet").exists()]
        if missing:
            raise BundleError(f"{path}: tables {missing} listed in {MANIFEST} have no Parquet file; rebuild the bundle.")
        for t, s in TABLES.items():
            if s.required and t not in m["rows"]:
                raise BundleError(f"{path}: required table '{t}' is missing; rebuild the bundle.")
        return cls(path, m, validate)

    def __repr__(self) -> str:
        return f"Bundle({str(self.path)!r}, source={self.source!r}, tables={len(self.tables)})"

    # ------------------------------------------------------------------ metadata
    @property
    def source(self) -> str:
        return self.manifest["source"]

    @property
    def is_synthetic(self) -> bool:
        return bool(self.manifest.get("synthetic"))

    @property
    def label(self) -> str:
        """'SYNTHETIC DATA' or the source, for every output (promise 6)."""
        base = "SYNTHETIC DATA" if self.is_synthetic else f"data: {self.source}"
        return base + "".join(f" — {c}" for c in self.caveats)

    @property
    def caveats(self) -> list[str]:
        """Limits of the data every output must state (manifest ``caveats``, e.g. survivorship bias)."""
        return list(self.manifest.get("caveats") or [])

    @property
    def content_hash(self) -> str:
        return self.manifest["content_hash"]

    @property
    def tables(self) -> list[str]:
        return list(self.manifest["rows"])

    def has(self, name: str) -> bool:
        return name in self.manifest["rows"]

    # ------------------------------------------------------------------ tables
    def table(self, name: str) -> pd.DataFrame:
        """The whole table as a DataFrame (validated on first load). Treat it as read-only."""
        if name not in self._tables:
            if not self.has(name):
                raise DataMissingError(f"bundle {self.path} has no table '{name}' (it has {self.tables}); "
                                       "use a source that provides it or skip the step that needs it.")
            df = pd.read_parquet(self.path / self.manifest["data_dir"] / f"{name}.parquet")
            if self._validate:
                validate_table(name, df)
            self._tables[name] = df
        return self._tables[name]

    def validate(self) -> None:
        """Full validation of every table and every rule across tables (SPEC §10)."""
        validate_tables({t: self.table(t) for t in self.tables})

    @cached_property
    def calendar(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(self.table("calendar")["date"], name="date")

    # ------------------------------------------------------------------ panels
    def panel(self, table: str, field: str, adjusted: bool | str = False, codes=None) -> pd.DataFrame:
        """Date × code panel of one field of a ``*_bars`` (or other dated) table on the full calendar.

        ``adjusted``: False = raw; True or "backward" = field × adj_factor (後复权: never changes when
        new data arrive, so it is point-in-time safe); "forward" = field × adj_factor / last adj_factor.
        Only price fields (open, high, low, close) are adjusted.
        """
        key = (table, field, adjusted)
        if key not in self._panels:
            df = self.table(table)
            if field not in df.columns:
                raise DataMissingError(f"table '{table}' has no column '{field}' (it has {list(df.columns)}).")
            p = self._pivot(table, field)
            if adjusted and field in ("open", "high", "low", "close", "vwap"):
                if "adj_factor" not in df.columns:
                    raise DataMissingError(f"table '{table}' has no adj_factor; ask for adjusted=False.")
                f = self.panel(table, "adj_factor")
                p = p * f
                if adjusted == "forward":
                    p = p / f.ffill().iloc[-1]
            self._panels[key] = p
        p = self._panels[key]
        return p if codes is None else p.reindex(columns=pd.Index(codes))

    def _pivot(self, table: str, field: str) -> pd.DataFrame:
        """Long (date, code, field) → date × code float panel on the calendar, via numpy index arithmetic."""
        df = self.table(table)
        if ("_index", table) not in self._panels:  # row/column positions, once per table
            codes = pd.Index(pd.unique(df["code"]), name="code").sort_values()
            self._panels[("_index", table)] = (codes, self.calendar.get_indexer(df["date"]), codes.get_indexer(df["code"]))
        codes, r, c = self._panels[("_index", table)]
        vals = df[field].to_numpy(dtype=float, na_value=np.nan) if df[field].dtype != bool else df[field].to_numpy(float)
        out = np.full((len(self.calendar), len(codes)), np.nan)
        ok = r >= 0
        out[r[ok], c[ok]] = vals[ok]
        return pd.DataFrame(out, index=self.calendar, columns=codes)

    def vwap(self, table: str = "stock_bars", adjusted: bool | str = True) -> pd.DataFrame:
        """VWAP = amount / volume (SPEC §1.1), adjusted like ``panel``; NaN where volume is 0."""
        amt, vol = self.panel(table, "amount"), self.panel(table, "volume")
        v = amt / vol.where(vol > 0)
        if adjusted:
            v = v * self.panel(table, "adj_factor")
            if adjusted == "forward":
                v = v / self.panel(table, "adj_factor").ffill().iloc[-1]
        return v

    def returns(self, table: str) -> pd.DataFrame:
        """Daily total returns from adjusted closes: r_t = P_t / P_{t-1} − 1 (NaN where not traded)."""
        px = self.panel(table, "close", adjusted=True)
        return px / px.shift(1) - 1

    # ------------------------------------------------------------------ point in time
    def listed(self, kind: str, dates=None) -> pd.DataFrame:
        """Bool panel: code listed on date, list_date ≤ t < delist_date (kind: 'etf' or 'stock')."""
        info = self.table(f"{kind}_info")
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        d = dates.to_numpy()[:, None]
        lo = info["list_date"].to_numpy()[None, :]
        hi = info["delist_date"].fillna(pd.Timestamp.max).to_numpy()[None, :]
        return pd.DataFrame((d >= lo) & (d < hi), index=dates, columns=pd.Index(info["code"], name="code"))

    def fundamentals_panel(self, field: str, dates=None) -> pd.DataFrame:
        """Panel of a fundamental field as known on each date (SPEC §1.2): from ``announce_date`` on.

        Among announced reports the latest ``report_period`` wins; a later announcement of an older
        period (a late restatement) does not replace a newer period.
        """
        f = self.table("fundamentals")
        if field not in f.columns:
            raise DataMissingError(f"table 'fundamentals' has no column '{field}' (it has {list(f.columns)}).")
        f = f.sort_values(["code", "announce_date", "report_period"], kind="stable")
        latest = f.groupby("code")["report_period"].cummax()
        ev = f[f["report_period"].to_numpy() >= latest.to_numpy()]
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        return asof_panel(ev, dates, effective="announce_date", code="code", value=field)

    def macro_panel(self, series=None, dates=None) -> pd.DataFrame:
        """Date × series panel of macro values as known on each date: latest period with release_date ≤ t."""
        m = self.table("macro")
        if series is not None:
            m = m[m["series"].isin(list(series))]
        m = m.sort_values(["series", "release_date", "period"], kind="stable")
        latest = m.groupby("series")["period"].cummax()
        ev = m[m["period"].to_numpy() >= latest.to_numpy()]
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        return asof_panel(ev, dates, effective="release_date", code="series", value="value")

    def macro_history(self, series: str, asof) -> pd.Series:
        """The monthly history of one macro series as it was known on ``asof`` (periods released ≤ asof)."""
        m = self.table("macro")
        m = m[(m["series"] == series) & (m["release_date"] <= pd.Timestamp(asof))]
        return pd.Series(m["value"].to_numpy(), index=pd.DatetimeIndex(m["period"]), name=series).sort_index()

    def index_weights_panel(self, index_code: str, dates=None) -> pd.DataFrame:
        """Date × stock weights of ``index_code`` from the latest snapshot on or before each date.

        A stock absent from the latest snapshot has weight NaN (not a stale weight of an older one); after the
        snapshots end (:func:`etfrot.data.pit.snapshot_expiry`) every weight is NaN.
        """
        w = self.table("index_weights")
        w = w[w["index_code"] == index_code]
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        if w.empty:
            raise DataMissingError(f"table 'index_weights' has no snapshot of index '{index_code}'.")
        snaps = pd.DatetimeIndex(pd.unique(w["date"])).sort_values()
        wide = w.pivot(index="date", columns="stock_code", values="weight").reindex(snaps)
        pos = active_snapshot(snaps, dates)
        out = wide.to_numpy()[np.clip(pos, 0, None)]
        out[pos < 0] = np.nan
        return pd.DataFrame(out, index=dates, columns=pd.Index(wide.columns, name="code"))

    def weight_snapshot_dates(self, index_code: str) -> pd.DatetimeIndex:
        w = self.table("index_weights")
        return pd.DatetimeIndex(pd.unique(w.loc[w["index_code"] == index_code, "date"])).sort_values()

    def members_panel(self, index_code: str, dates=None) -> pd.DataFrame:
        """Bool panel date × stock: member of ``index_code`` on the date — by its weight snapshots on the dates
        they are in force, by its membership intervals on the others (e.g. CSI 500 with weights 2016–2019 only)."""
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        by_w = None
        if self.has("index_weights") and (self.table("index_weights")["index_code"] == index_code).any():
            by_w = self.index_weights_panel(index_code, dates).fillna(0) > 0
            live = active_snapshot(self.weight_snapshot_dates(index_code), dates) >= 0
            if live.all():
                return by_w
        by_iv = self._interval_members(index_code, dates)
        if by_w is None and by_iv is None:
            raise DataMissingError(f"no membership data for index '{index_code}' (neither index_weights nor index_members).")
        if by_iv is None:
            return by_w
        if by_w is None:
            return by_iv
        cols = by_w.columns.union(by_iv.columns)
        w, iv = by_w.reindex(columns=cols, fill_value=False), by_iv.reindex(columns=cols, fill_value=False)
        return w.where(np.broadcast_to(live[:, None], w.shape), iv)

    def _interval_members(self, index_code: str, dates: pd.DatetimeIndex) -> pd.DataFrame | None:
        """Bool panel from ``index_members`` intervals (start ≤ t ≤ end), or None without intervals."""
        if self.has("index_members"):
            m = self.table("index_members")
            m = m[m["index_code"] == index_code]
            if len(m):
                codes = pd.Index(sorted(pd.unique(m["stock_code"])), name="code")
                ci = codes.get_indexer(m["stock_code"])
                d = dates.to_numpy()[:, None]
                inside = (d >= m["start_date"].to_numpy()[None, :]) & (d <= m["end_date"].fillna(pd.Timestamp.max).to_numpy()[None, :])
                out = np.zeros((len(dates), len(codes)), bool)
                for j in range(len(codes)):  # loop over codes (≤ a few thousand), body numpy
                    out[:, j] = inside[:, ci == j].any(axis=1)
                return pd.DataFrame(out, index=dates, columns=codes)
        return None

    def industry_panel(self, dates=None) -> pd.DataFrame:
        """Date × stock panel of SW level-1 industry names as known on each date (object dtype)."""
        dates = self.calendar if dates is None else pd.DatetimeIndex(dates)
        if self.has("stock_industry"):
            return asof_panel(self.table("stock_industry"), dates, effective="date", code="code", value="industry_l1")
        info = self.table("stock_info")
        vals = np.repeat(info["industry_l1"].to_numpy(dtype=object)[None, :], len(dates), axis=0)
        return pd.DataFrame(vals, index=dates, columns=pd.Index(info["code"], name="code"))

    def info(self, kind: str) -> pd.DataFrame:
        """The ``{kind}_info`` table indexed by code."""
        return self.table(f"{kind}_info").set_index("code")
