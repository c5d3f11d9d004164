"""The data-quality report of a real-data build: one row per defect rule (what, where, how many rows
and items, what was done), written as ``quality_report.csv`` / ``quality_report.md`` beside a bundle's
tables. Shared by ``build-real`` (:mod:`etfrot.data.real`) and ``import-qlib``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class QualityReport:
    """Rows of (rule, dataset, defect, where, rows, items, action, readme, readme_count, note)."""

    rows: list[dict] = field(default_factory=list)

    def add(self, rule: str, dataset: str, defect: str, where: str, rows: int, items: int, action: str, *,
            readme: bool = False, readme_count: str = "", note: str = "") -> None:
        self.rows.append({"rule": rule, "dataset": dataset, "defect": defect, "where": where, "rows": int(rows),
                          "items": int(items), "action": action, "readme": bool(readme), "readme_count": readme_count,
                          "note": note})

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["rule", "dataset", "defect", "where", "rows", "items", "action", "readme",
                                                "readme_count", "note"])

    def get(self, rule: str) -> dict:
        for r in self.rows:
            if r["rule"] == rule:
                return r
        raise KeyError(f"no quality rule {rule!r}")

    def markdown(self, title: str = "Data-quality report") -> str:
        df = self.frame()
        lines = [f"# {title}", "",
                 "Every known defect of the source folder (its README) and every repair etfrot makes, with the rows "
                 "it touched and what was done. `readme` marks defects the data README lists; `readme_count` is "
                 "the README's own figure where it gives one.", "",
                 "| rule | dataset | defect | where | rows | items | action | README (count) |",
                 "|---|---|---|---|---:|---:|---|---|"]
        esc = lambda s: str(s).replace("|", "\\|").replace("\n", " ")  # noqa: E731
        for r in df.itertuples():
            rd = ("yes" + (f" ({r.readme_count})" if r.readme_count else "")) if r.readme else ""
            lines.append(f"| {r.rule} | {esc(r.dataset)} | {esc(r.defect)} | {esc(r.where)} | {r.rows:,} | {r.items:,} | "
                         f"{esc(r.action)}{(' — ' + esc(r.note)) if r.note else ''} | {rd} |")
        return "\n".join(lines) + "\n"

    def write(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        c, m = folder / "quality_report.csv", folder / "quality_report.md"
        self.frame().to_csv(c, index=False)
        m.write_text(self.markdown())
        return c, m


def examples(values, n: int = 6) -> str:
    """The first ``n`` values joined by commas, with … when there are more."""
    v = [str(x) for x in list(values)[:n]]
    return ", ".join(v) + (" …" if len(list(values)) > n else "")


def span(dates) -> str:
    """"first → last" of some dates, "" when there are none."""
    d = pd.DatetimeIndex(dates)
    return f"{d.min():%Y-%m-%d} → {d.max():%Y-%m-%d}" if len(d) else ""
