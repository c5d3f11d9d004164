"""The download machinery every adapter shares: optional imports, retries with back-off, a rate limit,
a resumable raw store, a progress bar, and secret redaction (SPEC §1.3).

A fetch is a list of :class:`Task` — one library call per (kind, key), e.g. ("etf_bars", "510300.SH").
:func:`run_tasks` runs them against a :class:`RawStore` (``<out>/raw/<source>/<kind>/<key>.parquet``,
the library's own frames, untouched): a dated task already stored up to ``end`` is skipped, one stored
up to an earlier day asks only for the missing days and appends (resumable, incremental); a snapshot
task (no date column) is fetched once. Every call waits for the rate limiter and is retried with
exponential back-off; a task that still fails is recorded and the run goes on, so a rerun picks up
exactly what is missing. Secrets (``TUSHARE_TOKEN``) are removed from every message, log line and
error before it leaves this module.
"""

from __future__ import annotations

import importlib
import os
import random
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from etfrot.errors import SourceError

INSTALL_HINT = "pip install etfrot[data]"
SECRET_ENV = ("TUSHARE_TOKEN",)


def require(lib: str):
    """Import an optional data library or raise a SourceError that says how to install it."""
    try:
        return importlib.import_module(lib)
    except ImportError:
        raise SourceError(f"the '{lib}' package is not installed; install the data extras: `{INSTALL_HINT}` "
                          f"(or `pip install {lib}`)") from None


def env_secrets() -> list[str]:
    """Values of the secret environment variables that are set (never printed)."""
    return [v for k in SECRET_ENV if (v := os.environ.get(k, "").strip()) and len(v) >= 4]


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (and every env secret) replaced by '***'."""
    out = str(text)
    for s in {*secrets, *env_secrets()}:
        if s:
            out = out.replace(s, "***")
    return out


class RateLimiter:
    """At most ``per_minute`` calls per minute: each call waits until 60/per_minute s after the last."""

    def __init__(self, per_minute: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if per_minute <= 0:
            raise SourceError(f"rate limit must be > 0 calls per minute, got {per_minute}")
        self.interval = 60.0 / per_minute
        self.clock, self.sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self.clock()
        if self._last is not None and (gap := self._last + self.interval - now) > 0:
            self.sleep(gap)
            now = self.clock()
        self._last = now


def call_with_retries(fn: Callable[[], pd.DataFrame], *, what: str, retries: int = 4, base_delay: float = 2.0,
                      max_delay: float = 60.0, sleep: Callable[[float], None] = time.sleep,
                      log: Callable[[str], None] | None = None, secrets: Iterable[str] = ()):
    """Call ``fn()``; on an exception wait base·2^k (k = 0, 1, …, capped at ``max_delay``, plus up to
    25 % jitter) and try again, ``retries`` times. The final failure raises a SourceError whose
    message has the secrets removed."""
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 — any library failure is retried, then reported
            msg = redact(f"{type(e).__name__}: {e}", secrets)
            if attempt >= retries:
                raise SourceError(f"{what} failed after {attempt + 1} tries: {msg}") from None
            delay = min(max_delay, base_delay * 2 ** attempt) * (1 + 0.25 * random.random())
            if log:
                log(f"{what}: {msg} — retry {attempt + 1}/{retries} in {delay:.1f}s")
            sleep(delay)
            attempt += 1


@dataclass
class Task:
    """One library call. ``call(start, end)`` returns the library's frame for [start, end]
    (start None = from the beginning). ``date_col``/``date_format`` locate the dates in that frame
    for incremental updates; None marks a snapshot fetched once."""

    kind: str
    key: str
    call: Callable[[pd.Timestamp | None, pd.Timestamp], pd.DataFrame]
    date_col: str | None = None
    date_format: str | None = None
    dedupe_on: tuple[str, ...] = ()


@dataclass
class FetchSummary:
    source: str
    fetched: list[tuple[str, str, int]] = field(default_factory=list)  # kind, key, new rows
    skipped: list[tuple[str, str]] = field(default_factory=list)  # up to date already
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # kind, key, message

    @property
    def rows(self) -> int:
        return sum(n for *_, n in self.fetched)

    def merge(self, other: "FetchSummary") -> "FetchSummary":
        """Add another batch's fetched / skipped / failed lists to this one (returns self)."""
        self.fetched += other.fetched
        self.skipped += other.skipped
        self.failed += other.failed
        return self


class TableParts:
    """Collects parsed frames per bundle table (empty ones ignored) and concatenates them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[pd.DataFrame]] = {}

    def add(self, name: str, df: pd.DataFrame | None) -> None:
        if df is not None and len(df):
            self.parts.setdefault(name, []).append(df)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {k: pd.concat(v, ignore_index=True) for k, v in self.parts.items()}


class RawStore:
    """The library frames as downloaded: ``root/<source>/<kind>/<key>.parquet`` (atomic writes)."""

    def __init__(self, root: str | Path, source: str) -> None:
        self.root = Path(root)
        self.source = source
        self.dir = self.root / source

    @staticmethod
    def _safe(key: str) -> str:
        return "".join(c if (c.isalnum() or c in "._-") else "_" for c in key) or "_"

    def path(self, kind: str, key: str) -> Path:
        return self.dir / kind / f"{self._safe(key)}.parquet"

    def read(self, kind: str, key: str) -> pd.DataFrame | None:
        p = self.path(kind, key)
        return pd.read_parquet(p) if p.exists() else None

    def write(self, kind: str, key: str, df: pd.DataFrame) -> None:
        p = self.path(kind, key)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{uuid.uuid4().hex[:6]}")
        df.reset_index(drop=True).to_parquet(tmp, index=False)
        os.replace(tmp, p)

    def frames(self, kind: str) -> dict[str, pd.DataFrame]:
        """Every stored frame of ``kind`` by key (file stem)."""
        d = self.dir / kind
        if not d.is_dir():
            return {}
        out = {p.stem: pd.read_parquet(p) for p in sorted(d.glob("*.parquet"))}
        return {k: v for k, v in out.items() if len(v)}  # a call that returned nothing adds nothing

    def kinds(self) -> list[str]:
        return sorted(p.name for p in self.dir.iterdir() if p.is_dir()) if self.dir.is_dir() else []

    def log(self, line: str) -> None:
        """Append a (redacted) line to ``<source>/fetch.log``."""
        self.dir.mkdir(parents=True, exist_ok=True)
        stamp = pd.Timestamp.now().strftime("%Y-%m-%d %H:%M:%S")
        with open(self.dir / "fetch.log", "a", encoding="utf-8") as f:
            f.write(f"{stamp} {redact(line)}\n")


def _last_date(df: pd.DataFrame, task: Task) -> pd.Timestamp | None:
    if task.date_col is None or task.date_col not in df.columns or df.empty:
        return None
    d = pd.to_datetime(df[task.date_col].astype("string"), format=task.date_format, errors="coerce")
    return d.max() if d.notna().any() else None


def run_tasks(tasks: list[Task], store: RawStore, *, end, start=None, limiter: RateLimiter | None = None,
              retries: int = 4, base_delay: float = 2.0, progress: bool = True, refresh_snapshots: bool = False,
              sleep: Callable[[float], None] = time.sleep, echo: Callable[[str], None] | None = None) -> FetchSummary:
    """Run ``tasks`` resumably into ``store`` (see the module docstring); never raises for one task."""
    end = pd.Timestamp(end).normalize()
    start = pd.Timestamp(start).normalize() if start is not None else None
    summary = FetchSummary(store.source)

    def log(msg: str) -> None:
        store.log(msg)
        if echo:
            echo(redact(msg))

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    cols = [TextColumn(f"[bold]{store.source}[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
            TimeRemainingColumn()]
    with Progress(*cols, disable=not progress, transient=False) as bar:
        job = bar.add_task("", total=len(tasks))
        for t in tasks:
            bar.update(job, description=f"{t.kind} {t.key}")
            old = store.read(t.kind, t.key)
            since = start
            if old is not None:
                if t.date_col is None:
                    if not refresh_snapshots:
                        summary.skipped.append((t.kind, t.key))
                        bar.advance(job)
                        continue
                    old = None
                else:
                    last = _last_date(old, t)
                    if last is not None:
                        if last >= end:
                            summary.skipped.append((t.kind, t.key))
                            bar.advance(job)
                            continue
                        since = last + pd.Timedelta(days=1)
            if limiter is not None:
                limiter.wait()
            try:
                new = call_with_retries(lambda: t.call(since, end), what=f"{store.source} {t.kind} {t.key}",
                                        retries=retries, base_delay=base_delay, sleep=sleep, log=log)
            except SourceError as e:
                summary.failed.append((t.kind, t.key, redact(e)))
                log(f"FAILED {redact(e)}")
                bar.advance(job)
                continue
            if new is None:
                new = pd.DataFrame()
            if not isinstance(new, pd.DataFrame):
                new = pd.DataFrame(new)
            merged = new if old is None else pd.concat([old, new], ignore_index=True)
            if t.date_col is not None and len(merged) and t.date_col in merged.columns:
                keys = list(t.dedupe_on) or [t.date_col]
                merged[t.date_col] = merged[t.date_col].astype("string")
                merged = merged.drop_duplicates(subset=keys, keep="last")
            store.write(t.kind, t.key, merged)
            summary.fetched.append((t.kind, t.key, len(new)))
            log(f"{t.kind} {t.key}: +{len(new)} rows (since {since.date() if since is not None else 'start'})")
            bar.advance(job)
    return summary
