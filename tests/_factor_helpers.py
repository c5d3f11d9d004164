"""Hand-sized bundles for the factor and evaluation tests (every number chosen to be worked by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from etfrot.data import write_bundle

STOCKS = ["600001.SH", "600002.SH", "600003.SH", "600004.SH"]
IDX, IDX_TR, IDX_OWN = "801001.SI", "H80100.CSI", "801002.SI"
ETFS = ["512001.SH", "512002.SH", "512003.SH"]


def calendar(n: int = 60) -> pd.DatetimeIndex:
    return pd.bdate_range("2020-01-01", periods=n, name="date")


def _bars(cal, codes, close: np.ndarray, extra: dict | None = None) -> pd.DataFrame:
    T, N = close.shape
    rows = []
    for j, c in enumerate(codes):
        px = close[:, j]
        ok = np.isfinite(px)
        d = {
            "date": cal[ok], "code": c, "open": px[ok], "high": px[ok] * 1.01, "low": px[ok] * 0.99, "close": px[ok],
            "volume": np.full(ok.sum(), 1000.0), "amount": px[ok] * 1000.0,
        }
        for k, v in (extra or {}).items():
            d[k] = v[ok, j] if isinstance(v, np.ndarray) and v.ndim == 2 else v
        rows.append(pd.DataFrame(d))
    return pd.concat(rows, ignore_index=True).sort_values(["date", "code"]).reset_index(drop=True)


def tables(n: int = 60, seed: int = 0) -> dict[str, pd.DataFrame]:
    """A complete little market: 4 stocks, an industry index with 2 weight snapshots, its total-return
    version, an index with fundamentals/flows rows of its own, 3 ETFs (one listing mid-sample)."""
    rng = np.random.default_rng(seed)
    cal = calendar(n)
    sp = 10 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, len(STOCKS))), axis=0))
    st = {
        "adj_factor": np.ones((n, len(STOCKS))), "is_st": np.zeros((n, len(STOCKS)), bool),
        "is_suspended": np.zeros((n, len(STOCKS)), bool), "limit_up": np.zeros((n, len(STOCKS)), bool),
        "limit_down": np.zeros((n, len(STOCKS)), bool),
    }
    ip = 1000 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, 3)), axis=0))
    ep = ip[:, [0, 1, 2]] / 1000
    t = {
        "calendar": pd.DataFrame({"date": cal}),
        "stock_info": pd.DataFrame({"code": STOCKS, "name": ["A", "B", "C", "D"], "list_date": pd.Timestamp("2019-01-02"),
                                    "delist_date": pd.NaT, "industry_l1": ["银行", "银行", "电子", "电子"]}),
        "stock_bars": _bars(cal, STOCKS, sp, st),
        "index_info": pd.DataFrame({"code": [IDX, IDX_TR, IDX_OWN], "name": ["行业一", "行业一全收益", "行业二"],
                                    "category": ["industry_theme", "industry_theme", "industry_theme"],
                                    "region": "cn", "total_return_of": [None, IDX, None]}),
        "index_bars": _bars(cal, [IDX, IDX_TR, IDX_OWN], ip),
        "index_weights": pd.DataFrame({
            "date": [cal[0]] * 3 + [cal[30]] * 2 + [cal[0]] * 2,
            "index_code": [IDX] * 5 + [IDX_OWN] * 2,
            "stock_code": [STOCKS[0], STOCKS[1], STOCKS[2], STOCKS[1], STOCKS[3], STOCKS[2], STOCKS[3]],
            "weight": [0.5, 0.3, 0.2, 0.6, 0.4, 0.5, 0.5]}),
        "etf_info": pd.DataFrame({"code": ETFS, "name": ["E1", "E2", "E3"], "tracked_index": [IDX, IDX_TR, IDX_OWN],
                                  "list_date": [pd.Timestamp("2019-01-02"), cal[20], pd.Timestamp("2019-01-02")],
                                  "delist_date": pd.NaT, "manager": "M", "fee_rate": 0.005, "category": "industry"}),
        "etf_bars": _bars(cal, ETFS, ep, {"adj_factor": 1.0, "aum": 1e9}),
    }
    return t


def make_bundle(path, n: int = 60, **overrides) -> object:
    """Write ``tables(n)`` with ``overrides`` (name → DataFrame, or None to drop) as a bundle at ``path``."""
    t = tables(n)
    for k, v in overrides.items():
        if v is None:
            t.pop(k, None)
        else:
            t[k] = v
    return write_bundle(path, t, source="test")
