"""Numbers formatted for people: one rule per column kind, shared by the HTML report and the console.

Kinds and their rule (NaN / missing → empty string in every kind):

=========  ==========================================================  ==================
kind       rule                                                        example
=========  ==========================================================  ==================
percent    100 · v with 2 decimals and a % sign                        0.0178 → ``1.78%``
ratio      2 decimals                                                  1.23456 → ``1.23``
count      integer, rounded, thousands separated                       9301.0 → ``9,301``
number     4 decimals below 1,000, else integer; thousands separated   1.23456 → ``1.2346``
date       ``YYYY-MM-DD``                                              ``2021-03-31``
text       as is (codes, names, labels, years)                         ``510300.SH``
=========  ==========================================================  ==================

The kind of a column is found in this order, first hit wins (explicit, no guessing beyond it):

1. ``df.attrs["kinds"]`` — a ``{column or row label: kind}`` mapping set by whoever built the table;
2. the column's dtype when it is not numeric: datetimes → date, everything else → text;
3. the column's *name* against :data:`PATTERNS` (regular expressions on the lower-cased name with
   spaces/dashes read as ``_``; the first matching pattern gives the kind);
4. for a column whose name says nothing (e.g. ``value`` of a long metrics table), the *row labels*
   against the same patterns, cell by cell (a metrics table mixes dates, percentages, ratios, counts);
5. dtype fallback: integers → count, other numbers → number.

The index is formatted by the same rules (its name, then its dtype). Only what is shown is formatted:
CSV and JSON files of the same tables keep full precision (:func:`etfrot.report.html.write_report`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

KINDS = ("percent", "ratio", "count", "number", "date", "text")

#: (regular expression on the normalised name, kind); order matters: the first match wins
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^(year|month|code|name|index|industry|etf|status|rule|regime|quadrant|variant|model|strategy|metric)$", "text"),
    (r"_per_(date|day|period|rebalance)$", "ratio"),  # mean counts (e.g. stocks_per_date), not dates
    (r"^(rank_)?ic(_mean|_median|_std)?$", "number"),  # rank_ic_mean is an IC, not a rank
    (r"^(rank_)?icir$", "ratio"),
    (r"(^|_)(date|start|end|peak|trough|recovery|first|last)($|_)", "date"),
    (r"(_pos|_gt2|_share|win_rate|coverage)$", "percent"),
    ((r"(^|_)(days|n|count|periods|rank|trades|dates|codes|obs|resamples|n_held|n_skipped|members|size|holdings)($|_)"
     r"|^n_|_n$"), "count"),
    ((r"(^|_)(sharpe|sortino|calmar|information_ratio|ir|icir|rank_icir|t|t_nw|tstat|beta|corr|correlation|"
     r"silhouette|seconds)($|_)|ratio"), "ratio"),
    (r"(^|_)(nav|nav_before|level|price|close|open|aum|amount|cost_nav|wss)($|_)", "number"),
    ((r"return|excess|volatility|drawdown|turnover|weight|target|held|traded|cost|share|win_rate|tracking_error|cagr|"
     r"exposure|cash|benchmark|depth|^w_|_pct$|percent"), "percent"),
)
_COMPILED = tuple((re.compile(p), k) for p, k in PATTERNS)
#: column names that carry no kind of their own: their cells take the kind of their row label
GENERIC = frozenset({"value", "estimate", "in_sample", "out_of_sample", "all", "se", "lo", "hi", "ci95_lo", "ci95_hi"})


def _norm(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def kind_of_name(name) -> str | None:
    """The kind :data:`PATTERNS` give a column or row name, or None when no pattern matches."""
    n = _norm(name)
    for rx, kind in _COMPILED:
        if rx.search(n):
            return kind
    return None


def _dtype_kind(s: pd.Series | pd.Index) -> str | None:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "date"
    if pd.api.types.is_bool_dtype(s.dtype) or not pd.api.types.is_numeric_dtype(s.dtype):
        return "text"
    return None


def column_kind(df: pd.DataFrame, col) -> str:
    """Kind of column ``col`` of ``df`` (steps 1–3 and 5 of the module doc; step 4 is cell-wise)."""
    explicit = (df.attrs.get("kinds") or {}).get(col)
    if explicit is not None:
        if explicit not in KINDS:
            raise ValueError(f"df.attrs['kinds'][{col!r}] = {explicit!r}: not a kind; use one of {KINDS}")
        return explicit
    s = df[col]
    return _dtype_kind(s) or kind_of_name(col) or ("count" if pd.api.types.is_integer_dtype(s.dtype) else "number")


def _thousands(x: pd.Series) -> pd.Series:
    """Insert thousands separators in the integer part of numeric strings (vectorised)."""
    if len(x) == 0:
        return x
    parts = x.str.split(".", n=1, expand=True)
    head = parts[0].str.replace(r"(\d)(?=(\d{3})+$)", r"\1,", regex=True)
    return head if parts.shape[1] == 1 else head.str.cat(parts[1], sep=".", na_rep="").str.rstrip(".")


def format_values(values, kind: str) -> pd.Series:
    """Values (any 1-d array-like) → strings by ``kind``'s rule (see the module doc); missing → ``""``."""
    s = pd.Series(values).reset_index(drop=True)
    if kind == "text":
        return s.astype("string").fillna("").astype(object)
    if kind == "date":
        d = pd.to_datetime(s, errors="coerce")
        out = d.dt.strftime("%Y-%m-%d").astype(object)
        return out.where(d.notna(), s.astype("string").fillna("").astype(object).where(s.notna(), ""))
    v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(v)
    x = np.where(ok, v, 0.0)
    big = np.abs(x) >= 1000
    if kind == "percent":
        txt = np.char.mod("%.2f%%", 100 * x)
    elif kind == "ratio":
        txt = np.char.mod("%.2f", x)
    elif kind == "count":
        txt = np.char.mod("%d", np.rint(x).astype(np.int64))
    elif kind == "number":
        txt = np.where(big, np.char.mod("%.0f", x), np.char.mod("%.4f", x))
    else:
        raise ValueError(f"unknown column kind {kind!r}; use one of {KINDS}")
    txt = txt.astype(object)
    if big.any():  # thousands separators only where there is a number ≥ 1,000
        txt = np.array(_thousands(pd.Series(txt, dtype=object)), dtype=object)
    neg0 = _NEG_ZERO.get(kind)
    if neg0 is not None:
        txt[txt == neg0] = neg0[1:]  # no "-0.00"
    out = np.where(ok, txt, "").astype(object)
    miss = s.isna().to_numpy()
    odd = ~ok & ~miss  # a non-numeric cell in a numeric column (e.g. a note) is shown as is
    if odd.any():
        out[odd] = np.array(s[odd].astype("string"), dtype=object)
    out[miss] = ""
    return pd.Series(out, dtype=object)


#: the only text a value that rounds to zero from below can take, per kind (shown without the sign)
_NEG_ZERO = {"percent": "-0.00%", "ratio": "-0.00", "number": "-0.0000"}


def _row_kinds(df: pd.DataFrame) -> pd.Series:
    explicit = df.attrs.get("kinds") or {}
    return pd.Series([explicit.get(i) or kind_of_name(i) for i in df.index], index=range(len(df)), dtype=object)


def format_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` as a frame of strings, each column (or, for generic columns, each cell) by its kind's rule.

    The index is formatted too (by its name or dtype); columns and index labels are kept.
    """
    out = pd.DataFrame(index=range(len(df)))
    rows = None
    for j, col in enumerate(df.columns):
        s = df.iloc[:, j]
        explicit = (df.attrs.get("kinds") or {}).get(col)
        if explicit is None and _norm(col) in GENERIC:
            rows = _row_kinds(df) if rows is None else rows
            fallback = _dtype_kind(s) or ("count" if pd.api.types.is_integer_dtype(s.dtype) else "number")
            kinds = rows.fillna(fallback)
            col_out = pd.Series("", index=range(len(df)), dtype=object)
            for k in pd.unique(kinds):  # one pass per kind present (≤ 6), vectorised inside
                m = (kinds == k).to_numpy()
                col_out[m] = format_values(s.to_numpy(dtype=object)[m], k).to_numpy()
            out[j] = col_out.to_numpy()
        else:
            out[j] = format_values(s.to_numpy(dtype=object) if s.dtype == object else s, column_kind(df, col)).to_numpy()
    out.columns = df.columns
    out.index = format_index(df.index)
    return out


def format_index(idx: pd.Index) -> pd.Index:
    """An index formatted by its name's kind or its dtype (a MultiIndex is left as is)."""
    if isinstance(idx, pd.MultiIndex):
        return idx
    kind = _dtype_kind(idx) or kind_of_name(idx.name or "") or (
        "text" if pd.api.types.is_integer_dtype(idx.dtype) else "number")
    if kind == "count" and pd.api.types.is_integer_dtype(idx.dtype):
        kind = "text"  # an integer index (years, positions) is a label
    return pd.Index(format_values(idx.to_numpy(dtype=object) if idx.dtype == object else idx, kind).to_numpy(),
                    name=idx.name)
