"""Where a run's inputs end, and where its scores end (SPEC §10: an input that ended is reported, never absorbed).

Inputs of one bundle may end on different days (index bars running two years past the stock bars, one ETF
source stopping early). A strategy then has no scores on the later rebalance dates; holding cash there and
calling it the strategy's excess would be silently wrong. The rules, applied by every strategy through
:func:`etfrot.strategies.runner.backtest_weights`:

* **tail** — rebalance dates after the last one with a score (or a stated fallback weight): the run ends on
  the first of them (the last scored portfolio is held to that day), and says which inputs ended;
* **gap** — a rebalance without scores between two scored ones: no trade, the previous holdings are kept
  (the engine only trades on the dates the weights carry), and the dates are listed;
* every run lists each input it uses with its first and last date (report section and manifest).

An input's date is the day it becomes known: ``announce_date`` of fundamentals, ``release_date`` of macro
series, ``date`` elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError

#: the column that dates a table's rows by when they became known (default "date")
KNOWN_ON = {"fundamentals": "announce_date", "macro": "release_date", "index_members": "start_date"}
#: tables that are not dated series (nothing ends there)
UNDATED = {"calendar", "stock_info", "index_info", "etf_info"}


def input_spans(bundle, tables) -> pd.DataFrame:
    """One row per dated input table the bundle has: ``input, first, last, rows`` (rows sorted by ``last``)."""
    rows = []
    for t in dict.fromkeys(tables):
        if t in UNDATED or not bundle.has(t):
            continue
        first, last, n = bundle.date_span(t, KNOWN_ON.get(t, "date"))
        rows.append({"input": t, "first": first, "last": last, "rows": n})
    out = pd.DataFrame(rows, columns=["input", "first", "last", "rows"])
    return out.sort_values(["last", "input"], kind="stable").reset_index(drop=True)


def factor_inputs(names) -> list[str]:
    """The tables the registered factors ``names`` read (their ``needs``)."""
    from etfrot.factors import get_factor

    return [t for n in names for t in get_factor(n).needs]


@dataclass(frozen=True)
class ScoreCoverage:
    """Which rebalance dates carry scores. ``scored[i]``: date ``dates[i]`` has a finite score or a weight."""

    dates: pd.DatetimeIndex
    scored: np.ndarray

    @property
    def last_scored(self) -> pd.Timestamp:
        return self.dates[np.flatnonzero(self.scored)[-1]]

    @property
    def tail(self) -> pd.DatetimeIndex:
        """Rebalance dates after the last scored one."""
        return self.dates[self.dates > self.last_scored]

    @property
    def gaps(self) -> pd.DatetimeIndex:
        """Unscored rebalance dates between the first and the last scored one (no trade: holdings kept)."""
        i = np.flatnonzero(self.scored)
        inside = np.zeros(len(self.dates), bool)
        inside[i[0]:i[-1] + 1] = True
        return self.dates[inside & ~self.scored]

    @property
    def end(self) -> pd.Timestamp | None:
        """Where the run ends: the first rebalance date after the last scored one (None: the data's end)."""
        return self.tail[0] if len(self.tail) else None

    def trim(self, weights: pd.DataFrame) -> pd.DataFrame:
        """``weights`` without the gap and tail dates (the engine then holds through gaps)."""
        drop = self.gaps.union(self.tail)
        return weights.loc[~weights.index.isin(drop)]


def score_coverage(scores: pd.DataFrame | None, weights: pd.DataFrame,
                   schedule: pd.DatetimeIndex | None = None) -> ScoreCoverage:
    """Coverage of the rebalance dates — ``weights``' dates and the ``schedule``'s after the first of them:
    a date is scored if it has a finite score or a weight.

    Raises DataMissingError when no date is scored.
    """
    dates = pd.DatetimeIndex(weights.index)
    if schedule is not None and len(dates):
        dates = dates.union(schedule[schedule > dates[0]])
    weights = weights.reindex(dates)
    held = weights.fillna(0.0).to_numpy(float).sum(axis=1) > 0
    if scores is not None:
        s = scores.reindex(index=dates).to_numpy(float)
        held |= np.isfinite(s).any(axis=1)
    if not held.any():
        raise DataMissingError("no rebalance date has a score or a weight; check that the inputs the scores need "
                               "(see the strategy's input list) cover the configured start–end.")
    return ScoreCoverage(dates, held)


@dataclass
class Coverage:
    """The inputs' spans and the scores' coverage of one run, as the report and the manifest state them."""

    spans: pd.DataFrame
    scores: ScoreCoverage
    calendar_end: pd.Timestamp
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, bundle, tables, scores: ScoreCoverage) -> Coverage:
        return cls(input_spans(bundle, tables), scores, bundle.calendar[-1])

    @property
    def early(self) -> pd.DataFrame:
        """Inputs that end before the calendar does."""
        return self.spans[self.spans["last"] < self.calendar_end]

    def note(self) -> str:
        sc = self.scores
        early = self.early
        ends = ", ".join(f"{r.input} ends {r.last:%Y-%m-%d}" for r in early.itertuples()) or "none"
        if sc.end is not None:
            text = (f"Scores end on {sc.last_scored:%Y-%m-%d}: the run ends on {sc.end:%Y-%m-%d}, the first rebalance "
                    f"without a score (the last scored portfolio is held to then), not at the data's end "
                    f"({self.calendar_end:%Y-%m-%d}). Inputs that end before the calendar: {ends}.")
        elif len(early):
            text = (f"Scores on every rebalance date to the end; inputs that end before the calendar "
                    f"({self.calendar_end:%Y-%m-%d}) are used as of their last date: {ends}.")
        else:
            text = f"Every input runs to the calendar's end ({self.calendar_end:%Y-%m-%d}); scores on every rebalance date."
        if len(sc.gaps):
            shown = ", ".join(f"{d:%Y-%m-%d}" for d in sc.gaps[:8]) + (" …" if len(sc.gaps) > 8 else "")
            text += (f" {len(sc.gaps)} rebalance date(s) inside the run had no score: no trade, the previous "
                     f"holdings were kept ({shown}).")
        return " ".join([text, *self.notes])

    def table(self) -> pd.DataFrame:
        """The inputs with their first / last dates (dates as dates) and whether they end before the calendar."""
        t = self.spans.copy()
        t["ends_before_calendar"] = t["last"] < self.calendar_end
        for c in ("first", "last"):
            t[c] = t[c].dt.strftime("%Y-%m-%d")
        return t

    def manifest(self) -> dict:
        sc = self.scores
        return {"inputs": {r.input: {"first": f"{r.first:%Y-%m-%d}", "last": f"{r.last:%Y-%m-%d}", "rows": int(r.rows)}
                           for r in self.spans.itertuples()},
                "calendar_end": f"{self.calendar_end:%Y-%m-%d}", "scores_end": f"{sc.last_scored:%Y-%m-%d}",
                "run_end": None if sc.end is None else f"{sc.end:%Y-%m-%d}",
                "rebalances_without_scores": [f"{d:%Y-%m-%d}" for d in sc.gaps], "note": self.note()}


def coverage_section(cov: Coverage | dict, *, title: str):
    """The report section "Inputs and where they end" (from a Coverage, or from a manifest's entry)."""
    from etfrot.report.html import Section

    if isinstance(cov, Coverage):
        return Section(f"{title}: inputs and where they end", cov.note(), tables={"inputs": cov.table()})
    rows = [{"input": k, **v} for k, v in cov.get("inputs", {}).items()]
    t = pd.DataFrame(rows, columns=["input", "first", "last", "rows"])
    t["ends_before_calendar"] = t["last"] < cov.get("calendar_end", "")
    return Section(f"{title}: inputs and where they end", cov.get("note", ""), tables={"inputs": t})
