"""Import a folder of CSV / Parquet files laid out like the bundle (SPEC §1.3 "import").

One file per table, named ``<table>.csv`` or ``<table>.parquet`` (``.csv.gz`` too). Columns must be
the table's own (see :mod:`etfrot.data.schema`); codes are read as text, date columns as dates.
Rows are sorted by the table's key; everything is validated before anything is written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from etfrot.data.bundle import Bundle, write_bundle
from etfrot.data.schema import DATE, STR, TABLES
from etfrot.errors import SourceError


def read_folder(src: str | Path) -> dict[str, pd.DataFrame]:
    """Read every ``<table>.(csv|csv.gz|parquet)`` of ``src``; unknown file names are an error."""
    src = Path(src)
    if not src.is_dir():
        raise SourceError(f"import source {src} is not a folder")
    tables: dict[str, pd.DataFrame] = {}
    for f in sorted(src.iterdir()):
        name = f.name.split(".")[0]
        if f.name.startswith(".") or f.is_dir():
            continue
        if name not in TABLES:
            raise SourceError(f"{f}: '{name}' is not a bundle table; name files after one of {sorted(TABLES)}")
        if name in tables:
            raise SourceError(f"{src}: two files for table '{name}'; keep one")
        spec = TABLES[name]
        if f.suffix == ".parquet":
            df = pd.read_parquet(f)
        elif f.name.endswith((".csv", ".csv.gz")):
            dtypes = {c.name: str for c in spec.columns if c.kind == STR}
            df = pd.read_csv(f, dtype=dtypes)
            for c in spec.columns:
                if c.kind == DATE and c.name in df.columns:
                    df[c.name] = pd.to_datetime(df[c.name])
        else:
            raise SourceError(f"{f}: unsupported file type; use .csv, .csv.gz or .parquet")
        tables[name] = df
    if not tables:
        raise SourceError(f"{src} holds no table files (<table>.csv or <table>.parquet)")
    return tables


def import_folder(src: str | Path, out: str | Path) -> Bundle:
    """Read ``src`` and write a validated bundle at ``out`` (atomically)."""
    return write_bundle(out, read_folder(src), source=f"files:{Path(src).resolve()}")
