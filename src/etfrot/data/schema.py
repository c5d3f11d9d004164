"""Table specs of the bundle (SPEC §1.1) and their validation (SPEC §10).

A spec lists each column's kind (date, str, float, bool), whether it may hold NaN, the key, and
range rules. ``validate_table`` checks one table alone; ``validate_tables`` adds the rules that
span tables (dates on the calendar, codes defined in the info tables, weights summing to 1).
Every violation raises :class:`etfrot.errors.ValidationError` naming table, column, example rows,
a count and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.errors import ValidationError, examples_of

DATE, STR, FLOAT, BOOL = "date", "str", "float", "bool"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool = False
    positive: bool = False  # > 0 where not NaN (prices)
    nonneg: bool = False  # >= 0 where not NaN (volumes, amounts, sizes)
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = False  # must be present in every bundle
    ohlc: bool = False  # high >= low, close within [low, high]
    doc: str = ""
    extra_ok: bool = False  # extra columns allowed (e.g. more fundamentals)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


def _bars(name: str, extra: tuple[Column, ...], doc: str, required: bool, ohlc_nullable: bool) -> TableSpec:
    px = lambda n: Column(n, FLOAT, nullable=ohlc_nullable, positive=True)  # noqa: E731
    return TableSpec(
        name,
        (
            Column("date", DATE),
            Column("code", STR),
            px("open"),
            px("high"),
            px("low"),
            Column("close", FLOAT, positive=True),
            Column("volume", FLOAT, nullable=ohlc_nullable, nonneg=True),
            Column("amount", FLOAT, nullable=True, nonneg=True),  # NaN where the source has none (qlib dumps)
            *extra,
        ),
        key=("date", "code"),
        required=required,
        ohlc=True,
        doc=doc,
    )


TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in [
        TableSpec("calendar", (Column("date", DATE),), key=("date",), required=True, doc="SSE trading days"),
        _bars(
            "stock_bars",
            (
                Column("adj_factor", FLOAT, positive=True),
                Column("is_st", BOOL),
                Column("is_suspended", BOOL),
                Column("limit_up", BOOL),
                Column("limit_down", BOOL),
            ),
            "raw daily stock bars; adjusted price = close * adj_factor",
            required=False,
            ohlc_nullable=False,
        ),
        TableSpec(
            "stock_info",
            (
                Column("code", STR),
                Column("name", STR),
                Column("list_date", DATE),
                Column("delist_date", DATE, nullable=True),
                Column("industry_l1", STR, nullable=True),
            ),
            key=("code",),
            doc="one row per stock ever listed (delisted ones kept)",
        ),
        TableSpec(
            "stock_industry",
            (Column("date", DATE), Column("code", STR), Column("industry_l1", STR)),
            key=("date", "code"),
            doc="industry change history: a stock's industry on t is its latest row with date <= t",
        ),
        _bars("index_bars", (), "raw daily index levels", required=True, ohlc_nullable=True),
        TableSpec(
            "index_info",
            (
                Column("code", STR),
                Column("name", STR),
                Column("category", STR, choices=("broad", "industry_theme", "strategy_style")),
                Column("region", STR, choices=("cn", "overseas")),
                Column("total_return_of", STR, nullable=True),
            ),
            key=("code",),
            required=True,
        ),
        TableSpec(
            "index_weights",
            (Column("date", DATE), Column("index_code", STR), Column("stock_code", STR), Column("weight", FLOAT, nonneg=True)),
            key=("date", "index_code", "stock_code"),
            doc="point-in-time constituent weight snapshots; one snapshot sums to 1",
        ),
        TableSpec(
            "index_members",
            (
                Column("index_code", STR),
                Column("stock_code", STR),
                Column("start_date", DATE),
                Column("end_date", DATE, nullable=True),
            ),
            key=("index_code", "stock_code", "start_date"),
            doc="membership intervals without weights (e.g. CSI 500/1000 on real data)",
        ),
        _bars(
            "etf_bars",
            (Column("adj_factor", FLOAT, positive=True), Column("aum", FLOAT, nullable=True, nonneg=True)),
            "raw daily ETF bars; aum = fund size in CNY (NaN where unknown)",
            required=True,
            ohlc_nullable=True,
        ),
        TableSpec(
            "etf_info",
            (
                Column("code", STR),
                Column("name", STR),
                Column("tracked_index", STR),
                Column("list_date", DATE),
                Column("delist_date", DATE, nullable=True),
                Column("manager", STR, nullable=True),
                Column("fee_rate", FLOAT, nullable=True, nonneg=True),
                Column("category", STR, nullable=True),
            ),
            key=("code",),
            required=True,
        ),
        TableSpec(
            "fundamentals",
            (
                Column("code", STR),
                Column("report_period", DATE),
                Column("announce_date", DATE),
                Column("roe_ttm", FLOAT, nullable=True),
                Column("roe_q", FLOAT, nullable=True),
                Column("np_yoy", FLOAT, nullable=True),
                Column("eps", FLOAT, nullable=True),
            ),
            key=("code", "report_period"),
            doc="quarterly; visible only from announce_date",
            extra_ok=True,
        ),
        TableSpec(
            "valuation",
            (Column("date", DATE), Column("code", STR), Column("pe_ttm", FLOAT, nullable=True), Column("pb", FLOAT, nullable=True)),
            key=("date", "code"),
        ),
        TableSpec(
            "flows",
            (
                Column("date", DATE),
                Column("code", STR),
                Column("net_buy_amount", FLOAT, nullable=True),
                Column("net_active_buy_amount", FLOAT, nullable=True),
                Column("main_net_inflow", FLOAT, nullable=True),
                Column("large_order_net_volume", FLOAT, nullable=True),
                Column("northbound_value", FLOAT, nullable=True),
            ),
            key=("date", "code"),
            doc="daily fund flows in CNY (volume in shares), stock or index level",
        ),
        TableSpec(
            "macro",
            (Column("period", DATE), Column("series", STR), Column("value", FLOAT, nullable=True), Column("release_date", DATE)),
            key=("series", "period"),
            doc="monthly macro series; visible only from release_date",
        ),
    ]
}

# (table, column) -> (table it must be defined in, that table's key column)
REFERENCES: list[tuple[str, str, str, str]] = [
    ("etf_bars", "code", "etf_info", "code"),
    ("etf_info", "tracked_index", "index_info", "code"),
    ("index_bars", "code", "index_info", "code"),
    ("index_info", "total_return_of", "index_info", "code"),
    ("stock_bars", "code", "stock_info", "code"),
    ("index_weights", "index_code", "index_info", "code"),
    ("index_weights", "stock_code", "stock_info", "code"),
    ("index_members", "index_code", "index_info", "code"),
    ("index_members", "stock_code", "stock_info", "code"),
]

DATE_COLUMNS_ON_CALENDAR = {"stock_bars": "date", "index_bars": "date", "etf_bars": "date", "valuation": "date", "flows": "date"}


def _fail(table: str, column: str | None, problem: str, df: pd.DataFrame, mask, cols, fix: str):
    ex, n = examples_of(df, mask, cols)
    raise ValidationError(table, column, problem, examples=ex, count=n, fix=fix)


def coerce_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Cast columns to their spec's dtypes (strings, datetime64, float64, bool) where that is lossless.

    Raises a ValidationError naming the column when a value cannot be read as its kind.
    """
    spec = TABLES[name]
    out = df.copy()
    for col in spec.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        try:
            if col.kind == DATE:
                if not pd.api.types.is_datetime64_any_dtype(s):
                    s = pd.to_datetime(s, errors="raise")
                s = s.astype("datetime64[ns]")
            elif col.kind == FLOAT:
                s = pd.to_numeric(s, errors="raise").astype("float64")
            elif col.kind == BOOL:
                if s.isna().any():
                    raise ValueError("NaN in a bool column")
                s = s.astype(bool)
            elif col.kind == STR and isinstance(s.dtype, pd.StringDtype):
                s = s.astype("string")  # already text: no per-value conversion
            elif col.kind == STR:
                s = s.astype("object").where(s.notna(), None)
                s = s.map(lambda v: v if v is None else str(v)).astype("string")
        except (ValueError, TypeError) as e:
            raise ValidationError(
                name, col.name, f"cannot read values as {col.kind}: {e}", fix=f"write '{col.name}' as {col.kind}"
            ) from None
        out[col.name] = s
    return out


def validate_table(name: str, df: pd.DataFrame) -> None:
    """Check one table against its spec; raise ValidationError on the first violation."""
    if name not in TABLES:
        raise ValidationError(name, None, "unknown table", fix=f"use one of {sorted(TABLES)}")
    spec = TABLES[name]
    have = list(df.columns)
    missing = [c for c in spec.names if c not in have]
    if missing:
        raise ValidationError(name, missing[0], f"missing column(s) {missing}", fix=f"add {missing}; expected {spec.names}")
    extra = [c for c in have if c not in spec.names]
    if extra and not spec.extra_ok:
        raise ValidationError(name, extra[0], f"unexpected column(s) {extra}", fix=f"drop or rename them; expected {spec.names}")

    for col in spec.columns:
        s = df[col.name]
        ok = {
            DATE: pd.api.types.is_datetime64_any_dtype,
            FLOAT: pd.api.types.is_float_dtype,
            BOOL: pd.api.types.is_bool_dtype,
            STR: lambda x: pd.api.types.is_string_dtype(x) or x.dtype == object,
        }[col.kind](s)
        if not ok:
            raise ValidationError(name, col.name, f"wrong dtype {s.dtype}, expected {col.kind}", fix=f"cast '{col.name}' to {col.kind}")
        na = s.isna().to_numpy()
        if not col.nullable and na.any():
            _fail(name, col.name, "missing values (NaN) in a required column", df, na, list(spec.key) + [col.name],
                  f"fill or drop these rows; '{col.name}' may not be NaN")
        if col.kind == FLOAT:
            v = s.to_numpy(dtype=float, na_value=np.nan)
            if col.positive and (bad := v <= 0).any():
                _fail(name, col.name, "non-positive values", df, bad, list(spec.key) + [col.name], "prices must be > 0: drop or fix these rows")
            if col.nonneg and (bad := v < 0).any():
                _fail(name, col.name, "negative values", df, bad, list(spec.key) + [col.name], f"'{col.name}' must be >= 0")
            if (bad := np.isinf(v)).any():
                _fail(name, col.name, "infinite values", df, bad, list(spec.key) + [col.name], "replace inf by NaN or a finite value")
        if col.choices:
            bad = s.notna().to_numpy() & ~s.isin(col.choices).to_numpy()
            if bad.any():
                _fail(name, col.name, f"values outside {list(col.choices)}", df, bad, list(spec.key) + [col.name], f"use one of {list(col.choices)}")

    key = list(spec.key)
    dup = df.duplicated(key, keep=False).to_numpy()
    if dup.any():
        _fail(name, key[0] if len(key) == 1 else None, f"duplicate keys {key}", df, dup, key, "keep one row per key (drop_duplicates)")
    if len(df) > 1:
        order = pd.MultiIndex.from_frame(df[key]) if len(key) > 1 else pd.Index(df[key[0]])
        if not order.is_monotonic_increasing:
            first = next(c for c in key)
            prev = pd.MultiIndex.from_frame(df[key]).to_numpy() if len(key) > 1 else df[first].to_numpy()
            bad = np.zeros(len(df), bool)
            bad[1:] = [a > b for a, b in zip(prev[:-1], prev[1:])]
            _fail(name, first, f"rows not sorted by {key}", df, bad, key, f"sort by {key} before writing")

    if spec.ohlc:
        lo, hi, cl = (df[c].to_numpy(dtype=float, na_value=np.nan) for c in ("low", "high", "close"))
        with np.errstate(invalid="ignore"):
            bad = hi < lo
            if bad.any():
                _fail(name, "high", "high < low", df, bad, key + ["low", "high"], "fix or drop these bars")
            tol = 1e-6 * cl
            bad = (cl < lo - tol) | (cl > hi + tol)
            if bad.any():
                _fail(name, "close", "close outside [low, high]", df, bad, key + ["low", "close", "high"], "fix or drop these bars")
    for lo_c, hi_c in (("list_date", "delist_date"), ("start_date", "end_date")):
        if lo_c in df.columns and hi_c in df.columns:
            bad = (df[hi_c].notna() & (df[lo_c] > df[hi_c])).to_numpy()
            if bad.any():
                _fail(name, lo_c, f"{lo_c} after {hi_c}", df, bad, list(spec.key) + [lo_c, hi_c], f"{lo_c} must be <= {hi_c}")


def validate_tables(tables: dict[str, pd.DataFrame]) -> None:
    """Validate every table alone, then the rules across tables."""
    for name, spec in TABLES.items():
        if spec.required and name not in tables:
            raise ValidationError(name, None, "required table is missing", fix=f"every bundle needs {[t for t, s in TABLES.items() if s.required]}")
    for name, df in tables.items():
        validate_table(name, df)

    cal = pd.DatetimeIndex(tables["calendar"]["date"])
    for name, col in DATE_COLUMNS_ON_CALENDAR.items():
        if name in tables:
            df = tables[name]
            bad = ~df[col].isin(cal).to_numpy()
            if bad.any():
                _fail(name, col, "dates that are not trading days of the calendar", df, bad, list(TABLES[name].key),
                      "drop holiday rows or add the day to the calendar")
    for t, c, ref_t, ref_c in REFERENCES:
        if t in tables and ref_t in tables:
            df = tables[t]
            bad = (df[c].notna() & ~df[c].isin(set(tables[ref_t][ref_c].dropna()))).to_numpy()
            if bad.any():
                _fail(t, c, f"codes not defined in '{ref_t}.{ref_c}'", df, bad, list(TABLES[t].key) + [c],
                      f"add these codes to '{ref_t}' or drop the rows")
    if "index_weights" in tables:
        check_weight_sums(tables["index_weights"])


def check_weight_sums(w: pd.DataFrame, tol: float = 1e-3) -> None:
    """Each (date, index_code) snapshot of index_weights must sum to 1 ± tol."""
    sums = w.groupby(["date", "index_code"], sort=False)["weight"].sum()
    bad = sums[(sums - 1).abs() > tol]
    if len(bad):
        ex = [f"date={d:%Y-%m-%d}, index_code={c}, sum={s:.4f}" for (d, c), s in bad.head(5).items()]
        raise ValidationError("index_weights", "weight", f"snapshots whose weights do not sum to 1 (±{tol})",
                              examples=ex, count=len(bad), fix="renormalise each (date, index_code) snapshot to sum to 1")
