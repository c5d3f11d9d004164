"""Helpers shared by the source parsers: code conventions, dates, units, adjustment factors, limit flags.

Everything here is a pure function over pandas objects (no I/O), vectorised over rows.

Code convention (SPEC §1.1): ``600519.SH`` / ``000001.SZ`` / ``430047.BJ`` for stocks, ``510300.SH`` /
``159995.SZ`` for ETFs, ``000300.SH`` / ``399006.SZ`` / ``H30184.CSI`` / ``801010.SI`` for indices.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.errors import SourceError

#: Unit multipliers to the bundle's units (shares, CNY). Each parser names the unit it was given.
VOLUME_UNITS = {"share": 1.0, "lot": 100.0, "10k_lot": 1e6, "100m_share": 1e8}
AMOUNT_UNITS = {"cny": 1.0, "thousand_cny": 1e3, "10k_cny": 1e4, "million_cny": 1e6, "100m_cny": 1e8, "ten_x_cny": 0.1}

#: Index codes that one source spells differently (tushare's CSI 300 is 399300.SZ; the bundle uses 000300.SH).
INDEX_ALIASES = {"399300.SZ": "000300.SH", "399905.SZ": "000905.SH"}


def require_columns(df: pd.DataFrame, cols, what: str) -> None:
    """Raise a SourceError naming the missing columns of a library frame."""
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SourceError(f"{what}: the frame lacks column(s) {missing}; it has {list(df.columns)}. "
                          "The library's output layout may have changed: update the parser.")


def unit(value: str, table: dict, what: str) -> float:
    if value not in table:
        raise SourceError(f"{what}: unknown unit {value!r}; use one of {sorted(table)}")
    return table[value]


def to_dates(s: pd.Series, fmt: str | None = None) -> pd.Series:
    """Parse dates given as 'YYYY-MM-DD', 'YYYYMMDD', 'YYYY/M/D' or datetime-like into datetime64[ns]."""
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[ns]")
    txt = s.astype("string").str.strip()
    if fmt is None:
        sample = txt.dropna()
        sample = sample.iloc[0] if len(sample) else ""
        fmt = "%Y%m%d" if (len(sample) == 8 and sample.isdigit()) else None
    out = pd.to_datetime(txt, format=fmt, errors="coerce") if fmt else pd.to_datetime(txt, errors="coerce", format="mixed")
    return out.astype("datetime64[ns]")


def to_float(s: pd.Series) -> pd.Series:
    """Numbers that may come as text (baostock returns strings, '' for missing)."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype("float64")
    return pd.to_numeric(s.astype("string").str.strip().replace("", pd.NA), errors="coerce").astype("float64")


# ---------------------------------------------------------------------------------------------- codes
def _exchange_of_stock(digits: pd.Series) -> pd.Series:
    first = digits.str[0]
    return pd.Series(np.select([first.isin(["6", "9"]), first.isin(["0", "2", "3"]), first.isin(["4", "8"])],
                               ["SH", "SZ", "BJ"], default=""), index=digits.index)


def _on_uniques(fn, s: pd.Series) -> pd.Series:
    """Apply a vectorised string normaliser to the distinct values only, then map back (codes repeat
    once per bar: a few thousand distinct values over millions of rows)."""
    s = pd.Series(s)
    codes, uniq = pd.factorize(s, use_na_sentinel=True)
    if len(uniq) == 0:
        return pd.Series(pd.array([pd.NA] * len(s), dtype="string"), index=s.index)
    res = fn(pd.Series(uniq)).astype("string").to_numpy()
    out = np.where(codes >= 0, res[np.clip(codes, 0, None)], None)
    return pd.Series(pd.array(out, dtype="string"), index=s.index)


def stock_code(s: pd.Series) -> pd.Series:
    """'600519', 'sh.600519', 'sh600519', 'SH600519', '600519.SH' or 519 (int) → '600519.SH'."""
    return _on_uniques(lambda u: _code(u, kind="stock"), s)


def etf_code(s: pd.Series) -> pd.Series:
    """ETF codes: 5xxxxx are Shanghai, 1xxxxx Shenzhen."""
    return _on_uniques(lambda u: _code(u, kind="etf"), s)


def _code(s: pd.Series, kind: str) -> pd.Series:
    txt = s.astype("string").str.strip()
    txt = txt.where(~txt.str.fullmatch(r"\d{1,6}").fillna(False), txt.str.zfill(6))
    up = txt.str.upper()
    m = up.str.extract(r"^(?:(SH|SZ|BJ)\.?)?(\d{6})(?:\.(SH|SZ|BJ|XSHG|XSHE))?$")
    digits = m[1]
    ex = m[0].fillna(m[2]).replace({"XSHG": "SH", "XSHE": "SZ"})
    if kind == "stock":
        guess = _exchange_of_stock(digits.fillna(""))
    else:
        guess = pd.Series(np.where(digits.fillna("").str[0] == "5", "SH", "SZ"), index=s.index)
    ex = ex.fillna(guess)
    out = digits + "." + ex
    bad = out.isna() | (ex == "")
    if bad.any():
        ex_vals = list(pd.unique(s[bad.to_numpy()].astype(str)))[:5]
        raise SourceError(f"cannot read {int(bad.sum())} {kind} code(s) such as {ex_vals}; "
                          "expected forms like 600519, sh600519, sh.600519 or 600519.SH")
    return out.astype("string")


def index_code(s: pd.Series) -> pd.Series:
    """See :func:`_index_code` (applied to the distinct values)."""
    return _on_uniques(_index_code, s)


def _index_code(s: pd.Series) -> pd.Series:
    """Index codes to the bundle's spelling: 'sh000300' → '000300.SH', 'sz399006' → '399006.SZ',
    '399971.CSI' → '399971.SZ' (Wind spells some SZSE-listed CSI indices .CSI), '801010' → '801010.SI',
    and the aliases of :data:`INDEX_ALIASES` (399300.SZ → 000300.SH). Other suffixed codes are kept."""
    txt = s.astype("string").str.strip()
    low = txt.str.lower()
    pref = low.str.extract(r"^(sh|sz|csi)\.?(\d{6})$")
    out = txt.copy()
    has_pref = pref[1].notna()
    out[has_pref] = pref[1][has_pref] + "." + pref[0][has_pref].str.upper()
    digits_only = txt.str.fullmatch(r"\d{6}").fillna(False)
    d = txt[digits_only]
    out[digits_only] = np.select([d.str.startswith("399"), d.str.startswith("801") | d.str.startswith("85"),
                                  d.str.startswith("93") | d.str.startswith("95")],
                                 [d + ".SZ", d + ".SI", d + ".CSI"], default=d + ".SH")
    hpref = txt.str.fullmatch(r"[Hh]\d{5}").fillna(False)
    out[hpref] = txt[hpref].str.upper() + ".CSI"
    m = out.str.extract(r"^(399\d{3})\.CSI$")[0]
    out = out.where(m.isna(), m + ".SZ")
    # H-prefixed CSI codes are upper-case in the bundle (h30269.CSI → H30269.CSI)
    out = out.str.replace(r"^h(\d{5})\.", r"H\1.", regex=True)
    return out.replace(INDEX_ALIASES).astype("string")


# ---------------------------------------------------------------------------------------------- prices
def adj_factor_from_pre_close(code: pd.Series, close: pd.Series, pre_close: pd.Series,
                              active: pd.Series | None = None, tol: float = 1e-9) -> pd.Series:
    """Backward adjustment factor from the exchange's ex-right reference price (tushare / baostock).

    f_t = Π_{s ≤ t} close_{s−1} / pre_close_s (rows of one code in date order, f = 1 on the first row),
    so close_t·f_t / (close_{t−1}·f_{t−1}) − 1 = close_t / pre_close_t − 1: the dividend- and
    split-correct return. Rows with ``active`` False (suspension days, whose pre_close is not a
    trading reference) and ratios within ``tol`` of 1 (float noise) contribute a factor of 1.
    Input must be sorted by (code, date).
    """
    prev = close.groupby(code, sort=False).shift(1)
    ratio = (prev / pre_close).to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(ratio) & (ratio > 0) & (np.abs(ratio - 1) > tol)
    if active is not None:
        ok &= active.to_numpy(dtype=bool)
    r = pd.Series(np.where(ok, ratio, 1.0), index=close.index)
    return r.groupby(code, sort=False).cumprod()


def round_price(x: np.ndarray, decimals: int = 2) -> np.ndarray:
    """Round half up to the price tick (exchange limit prices are rounded half up to 0.01 CNY)."""
    f = 10.0 ** decimals
    return np.floor(x * f + 0.5 + 1e-7) / f


def limit_pct(code: pd.Series, date: pd.Series, is_st: pd.Series) -> np.ndarray:
    """Daily price limit of each row as a fraction (A-share rules).

    Main board ±10 % (ST ±5 %); ChiNext (300/301) ±20 % from 2020-08-24, ±10 % before (ST ±5 % before);
    STAR (688/689) ±20 %; Beijing (BJ) ±30 %.
    """
    c = code.astype("string")
    st = is_st.to_numpy(dtype=bool)
    chinext = c.str.match(r"^30[01]").fillna(False).to_numpy()
    star = c.str.match(r"^68[89]").fillna(False).to_numpy()
    bj = c.str.endswith(".BJ").fillna(False).to_numpy()
    reg = (pd.to_datetime(date) >= pd.Timestamp("2020-08-24")).to_numpy()
    return np.select([bj, star, chinext & reg, st], [0.30, 0.20, 0.20, 0.05], default=0.10)


def limit_flags(code: pd.Series, date: pd.Series, close: pd.Series, pre_close: pd.Series, is_st: pd.Series,
                traded: pd.Series, no_limit: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(limit_up, limit_down): closed at the limit price round(pre_close·(1 ± p), 2).

    ``no_limit`` marks rows without a price limit (a listing's first days); untraded rows are never
    at a limit.
    """
    p = limit_pct(code, date, is_st)
    pc = pre_close.to_numpy(dtype=float, na_value=np.nan)
    cl = close.to_numpy(dtype=float, na_value=np.nan)
    up = round_price(pc * (1 + p))
    dn = round_price(pc * (1 - p))
    ok = traded.to_numpy(dtype=bool) & ~no_limit.to_numpy(dtype=bool) & np.isfinite(pc)
    with np.errstate(invalid="ignore"):
        return ok & (cl >= up - 0.005), ok & (cl <= dn + 0.005)


def repair_ohlc(df: pd.DataFrame, nullable: bool) -> tuple[pd.DataFrame, int]:
    """Rows whose high < low or close outside [low, high]: OHL set to NaN (nullable tables) or
    high/low widened to contain open and close (tables that need OHL). Returns (frame, rows fixed)."""
    lo, hi, cl, op = (df[c].to_numpy(dtype=float, na_value=np.nan) for c in ("low", "high", "close", "open"))
    with np.errstate(invalid="ignore"):
        bad = (hi < lo) | (cl < lo - 1e-6 * cl) | (cl > hi + 1e-6 * cl)
    n = int(bad.sum())
    if n:
        df = df.copy()
        if nullable:
            for c in ("open", "high", "low"):
                df.loc[bad, c] = np.nan
        else:
            stack = np.vstack([op, hi, lo, cl])
            df.loc[bad, "high"] = np.nanmax(stack[:, bad], axis=0)
            df.loc[bad, "low"] = np.nanmin(stack[:, bad], axis=0)
    return df, n


BAR_COLUMNS = ["date", "code", "open", "high", "low", "close", "volume", "amount"]


def bars_frame(date, code, open_, high, low, close, volume, amount, **extra) -> pd.DataFrame:
    """A bars table in the bundle's column order (``extra`` columns appended), sorted by (date, code)."""
    out = pd.DataFrame({"date": date, "code": code, "open": open_, "high": high, "low": low, "close": close,
                        "volume": volume, "amount": amount, **extra})
    return out.sort_values(["date", "code"], kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------- index metadata
OVERSEAS_SUFFIXES = ("SPI", "FI", "HI", "MI", "GI")
_OVERSEAS_WORDS = ("港股", "恒生", "香港", "H股", "中概", "纳斯达克", "纳指", "标普500", "道琼斯", "日经", "德国", "法国",
                   "美国", "沙特", "亚太", "全球", "海外", "越南", "印度", "巴西", "欧洲", "英国", "东南亚", "沪港深",
                   "中韩", "新兴市场", "国际", "QDII", "恒指")
_BROAD_WORDS = ("沪深300", "中证500", "中证800", "中证1000", "中证2000", "上证50", "上证180", "上证380", "深证100",
                "深证成指", "创业板指", "创业板50", "科创50", "科创100", "科创200", "中证100", "中证200", "A50",
                "A100", "A500", "深证50", "上证指数", "上证综指", "中证全指", "国证2000", "创业板综", "双创50", "科创创业50",
                "中小100", "中小板指", "深证300", "科创综指", "全A", "科创板50", "深证综指", "上证A指")
_STYLE_WORDS = ("红利", "价值", "成长", "低波", "质量", "基本面", "等权", "动量", "股息", "ESG", "贝塔", "现金流",
                "分红", "大盘", "中盘", "小盘", "风格", "因子", "高息", "稳健")
_NON_EQUITY = {"money_market": ("货币", "快钱", "快线", "日利", "添益", "保证金", "理财金", "天天金", "日盈"),
               "bond": ("债", "国开", "政金", "存单", "短融", "短期融资", "利率", "信用"),
               "commodity": ("黄金", "上海金", "豆粕", "有色金属期货", "能源化工", "白银", "期货", "商品")}
COMMODITY_SUFFIXES = ("SGE", "SHF", "DCE", "CZC", "INE")


def infer_region(code: str, name: str | None) -> str:
    """'overseas' for the suffixes the universe screen treats as overseas (SPI, FI, HI, MI, GI; seed 000
    §3.1) or a name naming a foreign / Hong Kong market; else 'cn'."""
    suffix = code.rsplit(".", 1)[-1].upper() if "." in code else ""
    if suffix in OVERSEAS_SUFFIXES:
        return "overseas"
    return "overseas" if any(w in (name or "") for w in _OVERSEAS_WORDS) else "cn"


def infer_category(name: str | None) -> str:
    """Index category from its name: strategy/style words first, then broad-market names, else
    industry/theme (a documented keyword rule; used only where no category is given)."""
    n = name or ""
    if any(w in n for w in _STYLE_WORDS):
        return "strategy_style"
    if any(w in n for w in _BROAD_WORDS):
        return "broad"
    return "industry_theme"


def infer_asset_class(etf_name: str | None, index_code: str | None, index_name: str | None) -> str:
    """ETF asset class: money_market, bond, commodity, cross_border or equity (keyword + suffix rule)."""
    text = f"{etf_name or ''} {index_name or ''}"
    suffix = index_code.rsplit(".", 1)[-1].upper() if index_code and "." in index_code else ""
    if suffix in COMMODITY_SUFFIXES or any(w in text for w in _NON_EQUITY["commodity"]):
        return "commodity"
    if any(w in text for w in _NON_EQUITY["money_market"]) and "现金流" not in text:
        return "money_market"
    if suffix == "CS" or any(w in text for w in _NON_EQUITY["bond"]):
        return "bond"
    if index_code and infer_region(index_code, index_name) == "overseas":
        return "cross_border"
    if any(w in (etf_name or "") for w in _OVERSEAS_WORDS):
        return "cross_border"
    return "equity"


def calendar_frame(dates) -> pd.DataFrame:
    d = pd.DatetimeIndex(pd.to_datetime(pd.Series(list(dates)))).dropna().unique().sort_values()
    return pd.DataFrame({"date": d.astype("datetime64[ns]")})
