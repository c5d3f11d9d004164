"""The build context of ``build-real``: the source folder, the quality report, step timings, and the
shared readers (many small CSV files at once; calendar alignment with the dropped rows reported)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span
from etfrot.errors import SourceError


def read_many(paths: list[Path], key_from, strings=(), columns=None) -> pd.DataFrame:
    """Read many small CSV(.gz) files of one layout with pyarrow (``strings`` columns as text; only ``columns``
    when given) into one frame with a ``_file`` column (the key of each file)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    tables = []
    opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in strings}, strings_can_be_null=True,
                               include_columns=list(columns) if columns else None)
    for p in paths:
        t = pcsv.read_csv(p, convert_options=opts)
        tables.append(t.append_column("_file", pa.array([key_from(p)] * t.num_rows, pa.string())))
    if not tables:
        return pd.DataFrame()
    t = pa.concat_tables(tables, promote_options="permissive")
    del tables
    # repeated text (file keys, names, codes) as categoricals: far less memory and fast group-bys
    for i, f in enumerate(t.schema):
        if pa.types.is_string(f.type) and f.name in ("_file", "name", "code"):
            t = t.set_column(i, f.name, t.column(f.name).dictionary_encode())
    df = t.to_pandas(self_destruct=True, split_blocks=True)
    del t
    pa.default_memory_pool().release_unused()
    return df


class Ctx:
    """What every step of a build shares: the source folder, the quality report, the progress echo, the
    timings, and the first/last date of every dataset read (``ends``, for the manifest)."""

    def __init__(self, src: Path, report: QualityReport, echo) -> None:
        self.src, self.report, self.echo = src, report, echo
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._last = self.t0
        self.ends: dict[str, dict] = {}
        self.read: set[str] = set()

    def folder(self, name: str) -> Path:
        """The dataset folder ``name`` of the source, or the one folder ``name_*`` when the name was written for
        another cut (``sw_l1_close_2014_2022`` → ``sw_l1_close_2014_2024``); the name actually read is recorded."""
        p = self.src / name
        if not p.exists():
            stem = name.rsplit("_", 2)[0] if name[-4:].isdigit() else name.rsplit("_", 1)[0]
            cands = sorted(q for q in self.src.glob(f"{stem}_*") if q.is_dir())
            if len(cands) != 1:
                raise SourceError(f"{self.src}: dataset folder '{name}' not found"
                                  + (f"; several candidates {[c.name for c in cands]}" if cands else "")
                                  + " — give the real-data folder with the layouts of its README")
            p = cands[0]
        self.read.add(p.name)
        return p

    def note_span(self, dataset: str, dates, **extra) -> None:
        """Record the first and last date of a dataset (the manifest's ``inputs``; source ends are reported)."""
        d = pd.DatetimeIndex(pd.Series(dates).dropna())
        if len(d):
            self.ends[dataset] = {"first": f"{d.min():%Y-%m-%d}", "last": f"{d.max():%Y-%m-%d}", **extra}

    def dedupe(self, df: pd.DataFrame, key: list[str], dataset: str, *, label: dict | None = None,
               keep: str = "last", rule: str = "the last row in file order kept") -> pd.DataFrame:
        """Rows sharing ``key``: exact copies dropped with a count; rows that conflict (same key, another value)
        reported with both values and resolved by one stated rule — by default the last row in file order is
        kept (a later row of a file is its latest revision); ``keep="first"`` with its own ``rule`` text
        otherwise. ``label`` renames key columns in the examples (e.g. _file → code)."""
        dup = df.duplicated(key, keep=False).to_numpy()
        if not dup.any():
            return df
        vals = [c for c in df.columns if c not in key]
        same = df.duplicated(key + vals, keep="first").to_numpy()
        rest = df[~same]
        conf = rest.duplicated(key, keep=False).to_numpy()
        ex = []
        if conf.any():
            c = rest[conf]
            for k, g in c.groupby(key, sort=False, observed=True):  # the first few conflicting keys only
                k = k if isinstance(k, tuple) else (k,)
                diff = [col for col in vals if g[col].astype(str).nunique() > 1]
                name = ", ".join(f"{(label or {}).get(n, n)}={_fmt(v)}" for n, v in zip(key, k))
                ex.append(f"{name}: " + "; ".join(f"{col} " + " vs ".join(_fmt(v) for v in g[col]) for col in diff[:3]))
                if len(ex) >= 5:
                    break
        n_conf = int(conf.sum())
        keys_conf = int(rest[conf].drop_duplicates(key).shape[0]) if conf.any() else 0
        self.report.add(f"duplicates_{dataset.split('/')[0]}", dataset, "rows with the same key "
                        f"({', '.join((label or {}).get(k, k) for k in key)}): exact copies and conflicting values",
                        "; ".join(ex) if ex else "exact copies only", int(same.sum()) + n_conf, keys_conf,
                        f"{int(same.sum())} exact copies dropped; {n_conf} conflicting rows over {keys_conf} keys "
                        f"resolved: {rule}")
        return rest.drop_duplicates(key, keep=keep).reset_index(drop=True)

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
        if self.echo:
            self.echo(f"{name}: {self.timings[name]:.1f}s")


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp) or isinstance(v, np.datetime64):
        return f"{pd.Timestamp(v):%Y-%m-%d}"
    return f"{v:.6g}" if isinstance(v, (float, np.floating)) else str(v)


def cal_align(ctx: Ctx, df: pd.DataFrame, cal: pd.DatetimeIndex, dataset: str, col: str = "date",
               holiday_rule: str | None = None, readme: bool = False, readme_count: str = "") -> pd.DataFrame:
    """Keep rows on the calendar; rows on a non-trading day inside the window are holiday rows
    (reported under ``holiday_rule``), rows outside the window are reported as out of window."""
    if df.empty:
        return df
    d = df[col]
    inside = (d >= cal[0]) & (d <= cal[-1])
    on = d.isin(cal)
    hol = inside & ~on
    if hol.any():
        ctx.report.add(holiday_rule or "holiday_rows", dataset, "rows dated on a non-trading day (holiday rows)",
                       _ex(pd.unique(d[hol].dt.strftime("%Y-%m-%d"))), int(hol.sum()),
                       int(df.loc[hol, "code"].nunique()) if "code" in df else 1, "dropped (aligned to the calendar)",
                       readme=readme, readme_count=readme_count)
    out = ~inside
    if out.any():
        ctx.report.add("outside_window", dataset, f"rows before {cal[0]:%Y-%m-%d} or after {cal[-1]:%Y-%m-%d}",
                       _span(d[out]), int(out.sum()), int(df.loc[out, "code"].nunique()) if "code" in df else 1,
                       "dropped (outside the bundle's calendar)")
    return df[on.to_numpy()].reset_index(drop=True)


def source_end(ctx: Ctx, dataset: str, last: pd.Series, *, min_batch: int = 10, batch_share: float = 0.25,
               readme_count: str = "") -> tuple[pd.Series, pd.Timestamp]:
    """Which assets of a source were delisted: those whose series stops while the source goes on.

    ``last`` = last traded day per asset over the whole source. The source ends on its latest day; an asset
    whose series ends then is not delisted (its status after the source end is unknown). A day on which
    many series stop together (≥ ``min_batch`` and ≥ ``batch_share`` of the assets still going) is a partial
    end of the source (files not updated), not a wave of delistings. Returns (delisted: code → last day,
    the source end); both rules are reported.
    """
    last = pd.Series(pd.to_datetime(last.to_numpy()), index=last.index).dropna()
    end = last.max()
    before = last[last < end]
    counts = before.value_counts()
    going = pd.Series([(last >= d).sum() for d in counts.index], index=counts.index)  # one value per distinct day
    batch = counts[(counts >= min_batch) & (counts >= batch_share * going)].index
    delisted = before[~before.isin(batch)]
    ctx.report.add(f"{dataset}_source_end", dataset, "the source's last day (the latest bar of any of its series): "
                   "series that end then are cut by the source, not delisted", f"{end:%Y-%m-%d}",
                   int((last == end).sum()), int((last == end).sum()), "status after the source end unknown; not delisted")
    if len(batch):
        ctx.report.add(f"{dataset}_partial_end", dataset, "days on which many series stop together while the source "
                       "goes on (files not updated: a partial source end)",
                       _ex([f"{d:%Y-%m-%d} ({int(counts[d])})" for d in batch]), int(counts[batch].sum()),
                       int(counts[batch].sum()), "not delisted (status unknown after that day)")
    ctx.report.add(f"{dataset}_delisted", dataset, "series that stop while the source goes on (delisted or merged)",
                   _ex(delisted.index), len(delisted), len(delisted), "kept; delist_date = the day after the last bar",
                   readme=bool(readme_count), readme_count=readme_count)
    return delisted, end


def merge_sources(ctx: Ctx, frames: list[tuple[str, pd.DataFrame]], key: list[str], table: str) -> pd.DataFrame:
    """Rows of several datasets (highest priority first) merged into one table: duplicates inside a dataset go
    through :meth:`Ctx.dedupe`; on a key in several datasets the first wins (``merge_priority``). Where a code's
    rows come from more than one dataset — one ends earlier, another covers other days — the splice is
    reported with each dataset's span."""
    from etfrot.data.sources._assemble import merge_priority

    frames = [(n, ctx.dedupe(f, key, n)) for n, f in frames if f is not None and len(f)]
    out = merge_priority([f.assign(_src=n) for n, f in frames], key)
    if "code" in key and len(out):
        g = out.groupby(["code", "_src"], observed=True)["date"].agg(["min", "max"]).reset_index()
        multi = g[g.groupby("code")["_src"].transform("size") > 1]
        if len(multi):
            ex = [f"{c}: " + " + ".join(f"{n} {a:%Y-%m-%d}→{b:%Y-%m-%d}" for n, a, b in zip(sub["_src"], sub["min"], sub["max"]))
                  for c, sub in multi.sort_values(["code", "min"]).groupby("code", sort=False)]
            ctx.report.add(f"splice_{table.replace(' ', '_')}", table, "codes whose rows come from more than one "
                           "dataset (one ends or starts where another goes on)", _ex(ex, 8), 0,
                           multi["code"].nunique(), "spliced by priority (the first dataset wins on common days)")
    spans: dict[str, list] = {}
    for n, f in frames:
        spans.setdefault(n, []).append(f["date"])
    for n, d in spans.items():
        ctx.note_span(f"{n} ({table})", pd.concat(d))
    return out.drop(columns="_src")
