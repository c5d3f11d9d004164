"""The one exception family of etfrot.

Every message names what was wrong (table, column, codes, dates), shows a few examples with a
count, and says how to fix it (SPEC §10).
"""

from __future__ import annotations

from collections.abc import Sequence


class EtfrotError(Exception):
    """Base class: every error etfrot raises on purpose."""


class ValidationError(EtfrotError):
    """A table breaks its schema (SPEC §1.1, §10)."""

    def __init__(
        self,
        table: str,
        column: str | None,
        problem: str,
        *,
        examples: Sequence[object] = (),
        count: int | None = None,
        fix: str = "",
    ) -> None:
        self.table, self.column, self.problem = table, column, problem
        self.examples, self.count, self.fix = list(examples)[:5], count, fix
        where = f"table '{table}'" + (f", column '{column}'" if column else "")
        msg = f"{where}: {problem}"
        if count is not None:
            msg += f" ({count} row{'s' if count != 1 else ''})"
        if self.examples:
            msg += "\n  e.g. " + "\n       ".join(str(e) for e in self.examples)
        if fix:
            msg += f"\n  fix: {fix}"
        super().__init__(msg)


class BundleError(EtfrotError):
    """A bundle folder is missing, incomplete or from an unknown format version."""


class DataMissingError(EtfrotError):
    """A step needs a table or column that this bundle does not have."""


class ConfigError(EtfrotError):
    """A YAML config has unknown keys or bad values."""


class SourceError(EtfrotError):
    """A data source (akshare, tushare, baostock, files) failed or is not installed."""


def examples_of(frame, mask, columns: Sequence[str], n: int = 5) -> tuple[list[str], int]:
    """Return up to ``n`` readable example rows of ``frame[mask]`` (only ``columns``) and the count."""
    import numpy as np

    idx = np.flatnonzero(np.asarray(mask))
    rows = frame.iloc[idx[:n]]
    cols = [c for c in columns if c in frame.columns]
    out = []
    for i, (_, r) in zip(idx[:n], rows.iterrows()):
        out.append(f"row {i}: " + ", ".join(f"{c}={_fmt(r[c])}" for c in cols))
    return out, int(idx.size)


def _fmt(v) -> str:
    import pandas as pd

    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    return repr(v) if isinstance(v, str) else str(v)
