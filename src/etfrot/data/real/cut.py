"""Cut a real-data folder at a date, in the same layouts: the folder as a snapshot taken on that day would hold it.

``cut_real(src, dst, at)`` writes every file of ``src`` to ``dst`` with the rows known on ``at`` only: daily rows
dated ≤ ``at``; monthly macro rows released ≤ ``at`` (the release lags of :data:`etfrot.data.real.macro.RELEASE_DAY`);
fundamentals and index change events announced ≤ ``at``; industry changes effective ≤ ``at``; membership intervals
begun ≤ ``at``, those still open then ending on the last trading day ≤ ``at`` (as the qlib files end open intervals on
their last day). Per-symbol files with no row left are removed (a snapshot has no file for a fund or stock not yet
listed). Static metadata (the 2025 ETF snapshot, code lists, READMEs) are copied as they are and listed as such; a
file no rule knows is copied and listed too, so nothing is cut silently. Used by the point-in-time invariance test
(`build-real` on a cut folder equals the full build up to the cut) and by ``etfrot data cut-real``.
"""

from __future__ import annotations

import gzip
import shutil
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

import pandas as pd

from etfrot.errors import SourceError

#: (path glob relative to the folder, date column, date format or None, kind). Kinds: "day" = rows dated ≤ at;
#: "release:<day>" = monthly rows released ≤ at (day of the next month; "release:end" = the month's last day);
#: "interval" = qlib instrument file; "symbol" = a per-symbol "day" file removed when empty; "static" = copied.
RULES: list[tuple[str, str | None, str | None, str]] = [
    ("etf_tushare_unadj_*/etf/*.csv.gz", "date", "%Y-%m-%d", "symbol"),
    ("etf_tushare_unadj_*/sh000300.csv", "date", "%Y/%m/%d", "day"),
    ("etf_em_qfq_*/etf/*.csv.gz", "datetime", "%Y-%m-%d", "symbol"),
    ("etf_em_qfq_*/*.csv", None, None, "static"),
    ("index_csindex_tr/*.csv", "date", "%Y-%m-%d", "day"),
    ("index_broad_*/*.csv", "date", "%Y-%m-%d", "day"),
    ("sw_l1_industry/sw_industry_daily.csv", "date", "%Y-%m-%d", "day"),
    ("sw_l1_industry/csi300_daily.csv", "date", "%Y-%m-%d", "day"),
    ("sw_l1_industry/sw_industry_list.csv", None, None, "static"),
    ("etf_index_wind_*/TOTAL.csv", None, None, "static"),
    ("etf_index_wind_*/index/TOTAL.csv", None, None, "static"),
    ("etf_index_wind_*/*/*.csv", "date", "%Y-%m-%d", "day"),
    ("csi300_weights/index_weight.csv", "datetime", "%Y%m%d", "day"),
    ("index_weight_csi500_sse50_*/index_weight.csv", "trade_date", "%Y%m%d", "day"),
    ("stocks_csi300_bao/bao/*.csv.gz", "date", "%Y-%m-%d", "symbol"),
    ("stocks_csi300_bao/hs300_stocks.csv", None, None, "static"),
    ("quantsplaybook_misc/*.parquet", "trade_date", None, "day"),
    ("etf_meta_snapshot_*/*", None, None, "static"),
    ("macro_cn_em/cpi.csv", "date", "%Y-%m-%d", "release:10"),
    ("macro_cn_em/ppi.csv", "date", "%Y-%m-%d", "release:10"),
    ("macro_cn_em/manufacturing_pmi.csv", "date", "%Y-%m-%d", "release:end"),
    ("macro_cn_em/money_supply.csv", "date", "%Y-%m-%d", "release:15"),
    ("macro_cn_em/new_loans.csv", "date", "%Y-%m-%d", "release:15"),
    ("macro_cn_em/social_financing.csv", "date", "%Y-%m-%d", "release:15"),
    ("macro_cn_em/exports.csv", "date", "%Y-%m-%d", "release:15"),
    ("macro_cn_em/imports.csv", "date", "%Y-%m-%d", "release:15"),
    ("macro_cn_em/retail_sales.csv", "date", "%Y-%m-%d", "release:20"),
    ("macro_cn_em/fixed_asset_investment.csv", "date", "%Y-%m-%d", "release:20"),
    ("macro_cn_em/fiscal_revenue.csv", "date", "%Y-%m-%d", "release:25"),
    ("macro_cn_em/*.meta.json", None, None, "static"),
    ("macro_cn_wind_*/cpi.csv", "date", "%Y/%m/%d", "release:10"),
    ("macro_cn_wind_*/ppi.csv", "date", "%Y/%m/%d", "release:10"),
    ("macro_cn_wind_*/pmi.csv", "date", "%Y/%m/%d", "release:end"),
    ("macro_cn_wind_*/m1.csv", "date", "%Y/%m/%d", "release:15"),
    ("macro_cn_wind_*/m2.csv", "date", "%Y/%m/%d", "release:15"),
    ("macro_cn_wind_*/sf.csv", "date", "%Y/%m/%d", "release:15"),
    ("macro_cn_industrial_profit_*/profit.csv", "date", "%Y-%m-%d", "release:27"),
    ("macro_cn_tsf_stock_tushare/sf_month.csv", "month", "%Y%m", "release:15"),
    ("sw_classification/StockClassifyUse_stock.csv", "计入日期", "%Y-%m-%d %H:%M:%S", "day"),
    ("sw_classification/*.csv", None, None, "static"),
    ("index_membership_qlib/*.txt", None, None, "interval"),
    ("fundamentals_bao_*/*_data.csv.gz", "pubDate", "%Y-%m-%d", "day"),
    ("fundamentals_bao_*/*_history.csv", "chang_date", "%Y/%m/%d", "day"),
    ("sw_l1_close_*/sw_classify.csv", None, None, "static"),
    ("sw_l1_close_*/*.csv", "trade_date", "%Y-%m-%d", "day"),
    ("csi_theme/*.csv", "date", "%Y-%m-%d", "day"),
    ("*README.md", None, None, "static"),
]


@dataclass
class CutResult:
    files: pd.DataFrame  # one row per source file: path, kind, rows kept, rows dropped, action
    last_day: pd.Timestamp  # the last trading day ≤ at (open intervals end there)


def _rule(rel: str):
    for pat, col, fmt, kind in RULES:
        if fnmatch(rel, pat):
            return col, fmt, kind
    return None, None, "unknown"


def _read_text_csv(p: Path) -> pd.DataFrame:
    """Every column as text, empty cells kept as "" (written back unchanged)."""
    return pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig" if p.suffix == ".csv" else None)


def _known(dates: pd.Series, fmt: str | None, kind: str, at: pd.Timestamp) -> pd.Series:
    d = pd.to_datetime(dates.astype(str).str.strip(), format=fmt, errors="coerce")
    if kind.startswith("release:"):
        from etfrot.data.sources.tushare import release_date

        day = kind.split(":", 1)[1]
        month = d.dt.to_period("M").dt.to_timestamp()
        d = release_date(month, None if day == "end" else int(day))
    return (d <= at).fillna(False)


def _last_trading_day(src: Path, at: pd.Timestamp) -> pd.Timestamp:
    f = src / "index_csindex_tr" / "sh000300.csv"
    if not f.exists():
        return at
    d = pd.to_datetime(pd.read_csv(f, usecols=["date"])["date"])
    d = d[d <= at]
    return d.max() if len(d) else at


def cut_real(src: str | Path, dst: str | Path, at, *, symbols=None) -> CutResult:
    """Write ``src`` cut at ``at`` (module docstring) to the new folder ``dst``; returns what was done per file.

    ``symbols`` (codes such as '510300.SH' or '600519'): copy only these per-symbol ETF / stock files (a quick
    cut for tests and for builds restricted with ``build_real(etfs=…, stocks=…)``)."""
    src, dst, at = Path(src), Path(dst), pd.Timestamp(at)
    if not (src / "README.md").exists():
        raise SourceError(f"{src} does not look like the real-data folder (no README.md)")
    if dst.exists() and any(dst.iterdir()):
        raise SourceError(f"{dst} exists and is not empty; give a new folder for the cut")
    last_day = _last_trading_day(src, at)
    want = None if symbols is None else {str(c)[:6] for c in symbols}
    rows = []
    for p in sorted(q for q in src.rglob("*") if q.is_file()):
        rel = p.relative_to(src).as_posix()
        if rel.split("/")[0].startswith("qlib_cn"):
            continue  # a qlib dump: cut by its own format below
        col, fmt, kind = _rule(rel)
        if kind == "symbol" and want is not None and p.name[:6] not in want:
            continue
        out = dst / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if kind in ("static", "unknown"):
            shutil.copy2(p, out)
            rows.append((rel, kind, None, 0, "copied (static metadata)" if kind == "static" else "copied: no cut rule"))
            continue
        if kind == "interval":
            d = pd.read_csv(p, sep="\t", header=None, dtype=str)
            start, end = pd.to_datetime(d[1]), pd.to_datetime(d[2])
            keep = start <= at
            d.loc[keep & (end > last_day), 2] = f"{last_day:%Y-%m-%d}"
            d[keep].to_csv(out, sep="\t", header=False, index=False)
            rows.append((rel, kind, int(keep.sum()), int((~keep).sum()), f"intervals begun ≤ {at:%Y-%m-%d}; open ones "
                         f"end {last_day:%Y-%m-%d}"))
            continue
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            dates = df.index.to_series() if col not in df.columns else df[col]
            keep = _known(pd.Series(pd.to_datetime(dates).to_numpy()).dt.strftime("%Y-%m-%d"), "%Y-%m-%d", kind, at)
            df[keep.to_numpy()].to_parquet(out)
        else:
            df = _read_text_csv(p)
            if col not in df.columns:
                raise SourceError(f"{rel}: expected a date column '{col}' (columns {list(df.columns)}); the cut rules "
                                  "follow the README's layouts")
            keep = _known(df[col], fmt, kind, at).to_numpy()
            if kind == "symbol" and not keep.any():
                rows.append((rel, kind, 0, len(df), "removed (no row known on the cut date)"))
                continue
            text = df[keep].to_csv(index=False)
            if p.name.endswith(".gz"):
                with gzip.open(out, "wt", encoding="utf-8", newline="", compresslevel=1) as fh:
                    fh.write(text)
            else:
                out.write_text(text, encoding="utf-8")
        rows.append((rel, kind, int(keep.sum()), int((~keep).sum()), "cut"))
    for q in sorted(src.glob("qlib_cn*")):
        rows += _cut_qlib_folder(q, dst / q.name, last_day)
    files = pd.DataFrame(rows, columns=["file", "kind", "rows_kept", "rows_dropped", "action"])
    return CutResult(files=files, last_day=last_day)


def _cut_qlib_folder(src: Path, dst: Path, last_day) -> list[tuple]:
    """A qlib dump inside the folder: cut with the qlib importer's own cutter (the same format rules)."""
    from etfrot.data.qlib_import import cut_qlib

    cut_qlib(src, dst, last_day)
    return [(f"{src.name}/", "qlib", None, 0, f"cut by etfrot.data.qlib_import.cut_qlib at {last_day:%Y-%m-%d}")]
