"""The defect rules of a qlib dump (``import-qlib``), each counted in the bundle's quality report.

Every rule works on the dense (day × instrument) matrices of :mod:`etfrot.data.sources.qlib` with numpy — no
loop over rows. The rules cover the defects the data README lists for ``qlib_cn_*`` (survivorship, adjustment
errors, jumps, suspensions carried with volume 0 or NaN, NaN runs, partial-day index bars, zero-volume index
days, instrument files that list codes without data) and those any community dump may have.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data.quality import QualityReport
from etfrot.data.quality import examples as _ex

DS = "qlib"


def _where(mask: np.ndarray, dates: pd.DatetimeIndex, codes, n: int = 6, value: np.ndarray | None = None) -> str:
    r, c = np.nonzero(mask)
    if value is None:
        return _ex([f"{codes[j]} {dates[i]:%Y-%m-%d}" for i, j in zip(r[:n], c[:n])] + [""] * max(0, len(r) - n), n)
    return _ex([f"{codes[j]} {dates[i]:%Y-%m-%d} {value[i, j]:+.1%}" for i, j in zip(r[:n], c[:n])]
               + [""] * max(0, len(r) - n), n)


def in_range(start: np.ndarray, length: np.ndarray, n_days: int) -> np.ndarray:
    """Bool (day × instrument): the day lies inside the instrument's stored series."""
    rows = np.arange(n_days)[:, None]
    return (rows >= start[None, :]) & (rows < (start + length)[None, :]) & (start[None, :] >= 0)


def stock_rules(rep: QualityReport, dates: pd.DatetimeIndex, codes, m: dict, rng: np.ndarray) -> None:
    """Adjustment, jump, suspension and NaN rules of the stock series (adjusted close ``m['close']``)."""
    close, fac, vol = m["close"], m["factor"], m["volume"]
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.zeros_like(rng)
        drop[1:] = fac[1:] < fac[:-1] * (1 - 1e-6)
        rep.add("qlib_factor_drops", DS, "backward adjustment factor falls from one day to the next (a 后复权 factor only "
                "rises: a wrong or late adjustment, or unadjusted history spliced on after a code change)",
                _where(drop, dates, codes), int(drop.sum()), int(drop.any(0).sum()),
                "kept and flagged: adjusted returns wrong on these days", readme=True,
                readme_count="adjustment errors on 25 stock-days in 12 stocks (found with an external source)")
        ret = np.full(close.shape, np.nan)
        ret[1:] = close[1:] / close[:-1] - 1
        jump = np.abs(ret) > 0.25
        rep.add("qlib_stock_jumps", DS, "|adjusted close return| > 25 % in one day (artefacts or relisting days)",
                _where(jump, dates, codes, value=ret), int(jump.sum()), int(jump.any(0).sum()),
                "kept and flagged", readme=True, readme_count="9 days in 8 stocks")
    v0 = rng & (vol == 0)
    rep.add("qlib_suspended_volume0", DS, "suspension days carried with volume 0 (prices = previous close)",
            _where(v0, dates, codes), int(v0.sum()), int(v0.any(0).sum()), "is_suspended = True", readme=True,
            readme_count="90,484 stock-days (983 stocks)")
    vn = rng & np.isfinite(close) & np.isnan(vol)
    carried = np.zeros_like(vn)
    carried[1:] = vn[1:] & (close[1:] == close[:-1])
    rep.add("qlib_volume_nan", DS, "stock days with a price but volume NaN (suspension days carried without volume)",
            _where(vn, dates, codes), int(vn.sum()), int(vn.any(0).sum()),
            f"volume = 0, is_suspended = True ({int(carried.sum())} of them repeat the previous close)", readme=True,
            readme_count="1,183 values (95 stocks); 1,181 suspension days")
    nan = rng & ~np.isfinite(close)
    rep.add("qlib_stock_nan_prices", DS, "NaN close inside a stock's stored series (NaN runs)", _where(nan, dates, codes),
            int(nan.sum()), int(nan.any(0).sum()), "rows dropped (no bar)", readme=True, readme_count="stock prices never NaN")
    ohl = rng & np.isfinite(close) & ~(np.isfinite(m["open"]) & np.isfinite(m["high"]) & np.isfinite(m["low"]))
    rep.add("qlib_stock_ohl_nan", DS, "stock days with a close but open/high/low NaN", _where(ohl, dates, codes),
            int(ohl.sum()), int(ohl.any(0).sum()), "open/high/low = close")
    fn = rng & np.isfinite(close) & ~np.isfinite(fac)
    rep.add("qlib_factor_nan", DS, "stock days with a close but no adjustment factor", _where(fn, dates, codes),
            int(fn.sum()), int(fn.any(0).sum()), "factor carried forward from the previous day (row dropped if none)")
    _price_rules(rep, "stock", dates, codes, m, rng)


def _price_rules(rep: QualityReport, kind: str, dates, codes, m: dict, rng: np.ndarray) -> None:
    with np.errstate(invalid="ignore"):
        nonpos = rng & ((m["close"] <= 0) | (m["open"] <= 0) | (m["high"] <= 0) | (m["low"] <= 0))
        tol = 1e-6 * m["close"]  # the sources round to 0.001: a low 0.001 above the open is not a defect
        hl = rng & ((m["high"] < m["low"] - tol) | (m["high"] < np.fmax(m["open"], m["close"]) - tol)
                    | (m["low"] > np.fmin(m["open"], m["close"]) + tol))
    rep.add(f"qlib_{kind}_nonpositive", DS, f"{kind} prices ≤ 0", _where(nonpos, dates, codes), int(nonpos.sum()),
            int(nonpos.any(0).sum()), "rows dropped" if kind == "stock" else "prices ≤ 0 set to NaN (close: row dropped)",
            readme=True, readme_count="none")
    rep.add(f"qlib_{kind}_ohlc", DS, f"{kind} bars with high < low, high < max(open, close) or low > min(open, close) (beyond 1e-6 · close)",
            _where(hl, dates, codes), int(hl.sum()), int(hl.any(0).sum()), "high/low widened to contain open and close",
            readme=True, readme_count="none (the README's check has a tolerance: these are off by < 0.01 %)")


def index_rules(rep: QualityReport, dates: pd.DatetimeIndex, codes, m: dict, rng: np.ndarray) -> None:
    """NaN runs, zero-volume days, jumps and suspected partial-day bars of the index series."""
    close, vol = m["close"], m["volume"]
    nan = rng & ~np.isfinite(close)
    rep.add("qlib_index_nan", DS, "NaN index close inside the stored series", _where(nan, dates, codes), int(nan.sum()),
            int(nan.any(0).sum()), "rows dropped (no bar)", readme=True, readme_count="506 days in 7 indices")
    v0 = rng & np.isfinite(close) & (vol == 0)
    rep.add("qlib_index_volume0", DS, "index days with a close but volume 0", _where(v0, dates, codes), int(v0.sum()),
            int(v0.any(0).sum()), "kept (volume 0)", readme=True, readme_count="SZ399005: 32 days 2021-04-06 → 05-24")
    with np.errstate(invalid="ignore", divide="ignore"):
        ret = np.full(close.shape, np.nan)
        ret[1:] = close[1:] / close[:-1] - 1
        jump = np.abs(ret) > 0.25
        rep.add("qlib_index_jumps", DS, "|index close return| > 25 % in one day", _where(jump, dates, codes, value=ret),
                int(jump.sum()), int(jump.any(0).sum()), "kept and flagged", readme=True, readme_count="none")
        v = pd.DataFrame(np.where(vol > 0, vol, np.nan))
        ratio = (v / v.rolling(11, center=True, min_periods=5).median()).to_numpy()
        market = np.nanmedian(np.where(np.isfinite(ratio), ratio, np.nan), axis=1) if ratio.size else np.array([])
        prev, nxt = np.roll(ratio, 1, axis=0), np.roll(ratio, -1, axis=0)
        partial = (ratio < 0.5) & (prev >= 0.8) & (nxt >= 0.8) & (market[:, None] >= 0.8)
        if len(partial):
            partial[0], partial[-1] = False, False
    rep.add("qlib_index_partial_day", DS, "suspected partial-day index bars: volume < 50 % of the median of the 11 "
            "surrounding days, with normal volume the day before and after and on the median index that day",
            _where(partial, dates, codes, 8), int(partial.sum()), int(partial.any(0).sum()),
            "kept and flagged (closes may be intraday snapshots)", readme=True,
            readme_count="8 suspected on 2014-08-07/08 (SH000905 close 4341.94 instead of 4286.09)")
    _price_rules(rep, "index", dates, codes, m, rng)


def membership_rules(rep: QualityReport, name: str, iv: pd.DataFrame, have: set, cal: pd.DatetimeIndex) -> None:
    """Names per day of an instrument file and its codes without a feature folder."""
    if iv.empty:
        return
    d = cal.to_numpy()[:, None]
    per_day = ((d >= iv["start"].to_numpy()[None, :]) & (d <= iv["end"].to_numpy()[None, :])).sum(axis=1)
    per_day = per_day[per_day > 0]
    absent = sorted(set(iv["qlib"]) - have)
    rep.add(f"qlib_members_{name}", DS, f"instruments/{name}.txt: names per day; codes without a feature folder "
            "(delisted stocks the dump lacks)",
            f"{int(per_day.min()) if len(per_day) else 0}–{int(per_day.max()) if len(per_day) else 0} names per day "
            f"(median {int(np.median(per_day)) if len(per_day) else 0}); absent: {_ex(absent)}",
            int(iv["qlib"].isin(absent).sum()), len(absent),
            "intervals kept; absent codes get a stock_info row without bars", readme=True,
            readme_count="csi300: 245–300 names per day (median 276); 25 codes without a folder")
