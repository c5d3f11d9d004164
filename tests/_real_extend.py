"""Fabricate later days in a copy of the real-data folder, in its own layouts (tests only).

``extend_real(src, dst, days, files)`` makes ``dst`` a copy of ``src`` (symbolic links, so nothing is copied)
in which each file of ``files`` (paths relative to ``src``) gains one row per day of ``days``: its last row,
re-dated in the file's own date format (:data:`etfrot.data.real.cut.RULES`), at a flat price (open = high =
low = close = the last close, ``pre_close`` = that close, so no return and no corporate action is invented).
``extra_rows`` appends given rows (e.g. a conflicting duplicate) to a file after that.
"""

from __future__ import annotations

import gzip
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from etfrot.data.real.cut import RULES


def _rule(rel: str) -> tuple[str, str]:
    for pattern, col, fmt, _kind in RULES:
        if col is not None and fnmatch(rel, pattern):
            return col, fmt
    raise KeyError(f"no date rule for {rel}")


def _read(p: Path) -> pd.DataFrame:
    return pd.read_csv(p, dtype=str, keep_default_na=False)


def _write(df: pd.DataFrame, p: Path) -> None:
    if p.name.endswith(".gz"):
        with gzip.open(p, "wt", encoding="utf-8", newline="") as f:
            df.to_csv(f, index=False)
    else:
        df.to_csv(p, index=False)


def _link_tree(src: Path, dst: Path, keep: set[Path]) -> None:
    """``dst`` mirrors ``src``: folders that hold a file of ``keep`` are real folders, everything else a link."""
    dst.mkdir(parents=True, exist_ok=True)
    for item in src.iterdir():
        target = dst / item.name
        if item.is_dir() and any(k.is_relative_to(item) for k in keep):
            _link_tree(item, target, keep)
        elif item not in keep:
            target.symlink_to(item)


def extend_real(src: Path, dst: Path, days: pd.DatetimeIndex, files: list[str],
                extra_rows: dict[str, list[dict]] | None = None) -> Path:
    src = Path(src).resolve()
    keep = {src / f for f in [*files, *(extra_rows or {})]}
    _link_tree(src, dst, keep)
    for rel in dict.fromkeys([*files, *(extra_rows or {})]):
        df = _read(src / rel)
        if rel in files:
            col, fmt = _rule(rel)
            last = df.iloc[[-1]]
            new = pd.concat([last] * len(days), ignore_index=True)
            new[col] = days.strftime(fmt)
            close = last["close"].iloc[0]
            for c in ("open", "high", "low", "pre_close"):
                if c in new.columns:
                    new[c] = close
            df = pd.concat([df, new], ignore_index=True)
        for row in (extra_rows or {}).get(rel, []):
            df = pd.concat([df, pd.DataFrame([{**df.iloc[-1].to_dict(), **row}])], ignore_index=True)
        _write(df, dst / rel)
    return dst
