"""tushare Pro's wire format, served offline through ``responses``.

What the installed tushare (``tushare/pro/client.py``, ``DataApi.query``) sends and reads: a POST of
JSON ``{"api_name", "token", "params", "fields"}`` to ``<DataApi's __http_url>/<api_name>``; the
reply is JSON ``{"code": 0, "msg": "", "data": {"fields": [...], "items": [[...], ...]}}`` (any other
``code`` is raised as ``Exception(msg)``). Dates are 'YYYYMMDD' strings, newest row first, as the
service returns them. The tables served here are small hand-made values (not market data).
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

TOKEN = "wire-test-token-0123456789abcdef"
BAD_TOKEN_MSG = "抱歉，您输入的TOKEN无效！"
JSON = {"Content-Type": "application/json;charset=UTF-8"}


def base_url() -> str:
    from tushare.pro.client import DataApi

    return DataApi._DataApi__http_url  # the library's own endpoint constant


def _ymd(d) -> str:
    return pd.Timestamp(d).strftime("%Y%m%d")


def trading_days(start="2022-01-04", end="2022-01-28") -> pd.DatetimeIndex:
    return pd.bdate_range(start, end)


def tables(days: pd.DatetimeIndex | None = None, ex_day: str = "2022-01-18") -> dict[str, pd.DataFrame]:
    """The frames the fake service holds, by api_name (before filtering by params).

    ETF 510300.SH closes 4.000 + 0.010·t; on ``ex_day`` pre_close = previous close − 0.100 (a
    distribution). Index 399300.SZ closes 4000 + 10·t. Volumes in lots, amounts in thousand CNY.
    """
    days = trading_days() if days is None else days
    n = len(days)
    t = np.arange(n)
    all_days = pd.date_range(days[0] - pd.Timedelta(days=3), days[-1] + pd.Timedelta(days=3))
    cal = pd.DataFrame({"exchange": "SSE", "cal_date": [_ymd(d) for d in all_days],
                        "is_open": np.isin(all_days, days).astype(int), "pretrade_date": None})
    close = np.round(4.0 + 0.01 * t, 3)
    pre = np.r_[close[0] - 0.01, close[:-1]]
    pre[days.get_loc(pd.Timestamp(ex_day))] -= 0.1
    pre = np.round(pre, 3)
    fund = pd.DataFrame({"ts_code": "510300.SH", "trade_date": [_ymd(d) for d in days], "open": close - 0.005,
                         "high": close + 0.01, "low": close - 0.01, "close": close, "pre_close": pre,
                         "change": np.round(close - pre, 3), "pct_chg": np.round((close / pre - 1) * 100, 4),
                         "vol": 5_000_000.0 + 1000 * t, "amount": 2_500_000.0 + 500 * t})
    ic = 4000.0 + 10 * t
    idx = pd.DataFrame({"ts_code": "399300.SZ", "trade_date": [_ymd(d) for d in days], "close": ic, "open": ic - 2,
                        "high": ic + 5, "low": ic - 5, "pre_close": np.r_[ic[0] - 10, ic[:-1]], "change": 10.0,
                        "pct_chg": 0.25, "vol": 80_000_000.0, "amount": 150_000_000.0})
    basic = pd.DataFrame({"ts_code": ["510300.SH"], "name": ["沪深300ETF"], "management": ["华泰柏瑞基金"],
                          "custodian": ["中国工商银行"], "fund_type": ["股票型"], "found_date": ["20120504"],
                          "due_date": [None], "list_date": ["20120528"], "issue_date": ["20120406"],
                          "delist_date": [None], "issue_amount": [180.7], "m_fee": [0.5], "c_fee": [0.1],
                          "duration_year": [None], "p_value": [1.0], "min_amount": [0.1], "exp_return": [None],
                          "benchmark": ["沪深300指数收益率"], "status": ["L"], "invest_type": ["被动指数型"],
                          "type": ["契约型开放式"], "trustee": [None], "purc_startdate": ["20120528"],
                          "redm_startdate": ["20120528"], "market": ["E"]})
    ibasic = pd.DataFrame({"ts_code": ["000300.SH"], "name": ["沪深300"], "fullname": ["沪深300指数"],
                           "market": ["CSI"], "publisher": ["中证公司"], "index_type": ["中证规模指数"],
                           "category": ["规模指数"], "base_date": ["20041231"], "base_point": [1000.0],
                           "list_date": ["20050408"], "weight_rule": [None], "desc": [None], "exp_date": [None]})
    wd = _ymd(days[-1])
    weight = pd.DataFrame({"index_code": "399300.SZ", "con_code": ["600519.SH", "300750.SZ", "601318.SH"],
                           "trade_date": wd, "weight": [6.0, 3.0, 3.0]})
    hsgt = pd.DataFrame({"trade_date": [_ymd(d) for d in days], "ggt_ss": 500.0, "ggt_sz": 1500.0, "hgt": 1000.0 + t,
                         "sgt": -500.0, "north_money": 500.0 + t, "south_money": 2000.0})
    out = {"trade_cal": cal, "fund_basic": basic, "fund_daily": fund, "index_basic": ibasic, "index_daily": idx,
           "index_weight": weight, "moneyflow_hsgt": hsgt}
    return {k: v.iloc[::-1].reset_index(drop=True) for k, v in out.items()}  # newest first, as served


_DATE_COL = {"trade_cal": "cal_date"}


def _select(api: str, df: pd.DataFrame, params: dict) -> pd.DataFrame:
    """Filter a table by the request's params the way the service does (codes, markets, date windows)."""
    keep = np.ones(len(df), bool)
    for p, col in (("ts_code", "ts_code"), ("index_code", "index_code"), ("exchange", "exchange"), ("market", "market")):
        if params.get(p) and col in df.columns:
            keep &= (df[col] == params[p]).to_numpy()
    dcol = _DATE_COL.get(api, "trade_date")
    if dcol in df.columns:
        if params.get("start_date"):
            keep &= (df[dcol] >= params["start_date"]).to_numpy()
        if params.get("end_date"):
            keep &= (df[dcol] <= params["end_date"]).to_numpy()
    return df[keep]


def _items(df: pd.DataFrame) -> list[list]:
    """Rows as JSON values: numbers stay numbers, missing values are null."""
    obj = df.astype(object).where(df.notna(), None)
    return [[v.item() if isinstance(v, np.generic) else v for v in row] for row in obj.itertuples(index=False)]


class FakeService:
    """The tushare HTTP API over ``tables``: records every request (api_name, params)."""

    def __init__(self, data: dict[str, pd.DataFrame], token: str = TOKEN) -> None:
        self.data, self.token = data, token
        self.requests: list[tuple[str, dict]] = []

    def __call__(self, request):
        body = json.loads(request.body)
        api, params = body["api_name"], body.get("params", {})
        assert request.url.endswith("/" + api), request.url
        self.requests.append((api, params))
        if body.get("token") != self.token:
            return 200, JSON, json.dumps({"code": 40101, "msg": BAD_TOKEN_MSG, "data": None}, ensure_ascii=False)
        df = _select(api, self.data.get(api, pd.DataFrame()), params)
        reply = {"request_id": "wire-test", "code": 0, "msg": "",
                 "data": {"fields": list(df.columns), "items": _items(df), "has_more": False}}
        return 200, JSON, json.dumps(reply, ensure_ascii=False)

    def install(self, rsps) -> None:
        rsps.add_callback("POST", re.compile(re.escape(base_url()) + r"/\w+"), callback=self)
