"""The build context of ``build-real``: the source folder, the quality report, step timings, and the
shared readers (many small CSV files at once; calendar alignment with the dropped rows reported)."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex
from etfrot.data.quality import span as _span


def _read_csv(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, **kw)


def read_many(paths: list[Path], key_from, strings=()) -> pd.DataFrame:
    """Read many small CSV(.gz) files of one layout with pyarrow (``strings`` columns as text) into one
    frame with a ``_file`` column (the key of each file)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    tables = []
    opts = pcsv.ConvertOptions(column_types={c: pa.string() for c in strings}, strings_can_be_null=True)
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
    def __init__(self, src: Path, report: QualityReport, echo) -> None:
        self.src, self.report, self.echo = src, report, echo
        self.t0 = time.perf_counter()
        self.timings: dict[str, float] = {}
        self._last = self.t0

    def step(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self._last, 3)
        self._last = now
        if self.echo:
            self.echo(f"{name}: {self.timings[name]:.1f}s")


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
