"""The wire formats behind the AKShare functions the adapter calls, served offline through ``responses``.

Read from the installed akshare (1.19.x) source; each builder names the function and endpoint:

* ``tool_trade_date_hist_sina`` — GET finance.sina.com.cn/realstock/company/klc_td_sh.txt, a JS line
  ``var datelist="<payload>";`` whose payload Sina's own decoder (akshare.stock.cons.hk_js_decode,
  run by py_mini_racer) expands. :func:`sina_datelist` writes that payload for a list of dates with the
  decoder's date-list record (type 139): 6-bit characters of the alphabet A–Z a–z 0–9 + /, bits read
  least significant first; header 12 bits type, 6 bits version (63 ^ 0); 18 bits first day, 18 bits
  last day (days after 1990-12-19); then over the weekdays between them run lengths of trading days,
  each ended by one skipped weekday.
* Eastmoney push2his ``/api/qt/stock/kline/get`` (``fund_etf_hist_em``, ``stock_zh_index_daily_em``,
  ``stock_zh_a_hist``) and ``/api/qt/stock/fflow/daykline/get`` (``stock_individual_fund_flow``):
  JSON ``{"rc": 0, "data": {"code", "market", "name", "klines": ["2022-01-04,4.9,…", …]}}``, one
  comma-separated string per day with as many fields as the function names.
* Eastmoney push2 ``/api/qt/clist/get`` (``fund_etf_spot_em``): ``{"data": {"total", "diff": [{f12:…}]}}``.
* SW research ``/institute-sw/api/index_publish/trend/`` (``index_hist_sw``): ``{"data": [{swindexcode,
  bargaindate, openindex, …}]}``.
* CSIndex ``/csindex-home/perf/index-perf`` (``stock_zh_index_hist_csindex``): ``{"data": [{tradeDate,
  indexCode, …, peg}]}`` in the 16-field order akshare names positionally.
* CSIndex ``…/closeweight/<code>closeweight.xls`` (``index_stock_cons_weight_csindex``): an Excel 97
  workbook (written with xlwt) of the 10 columns akshare renames positionally.

All values are small hand-made numbers (not market data).
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
SINA_EPOCH = pd.Timestamp("1990-12-19")  # the decoder's day 0 (7657 days after 1970-01-01)
JSON = {"Content-Type": "application/json; charset=utf-8"}


# ---------------------------------------------------------------------------------------------- Sina
class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def put(self, value: int, n: int) -> None:
        self.bits += [(value >> i) & 1 for i in range(n)]

    def text(self) -> str:
        b = self.bits + [0] * (-len(self.bits) % 6)
        return "".join(ALPHABET[sum(b[i + j] << j for j in range(6))] for i in range(0, len(b), 6))


def sina_datelist(dates) -> str:
    """Sina's encoded date-list payload for ``dates`` (weekdays; sorted on the way in)."""
    d = pd.DatetimeIndex(pd.to_datetime(list(dates))).sort_values().unique()
    if (d.day_of_week >= 5).any():
        raise ValueError("Sina's date list holds weekdays only")
    n = (d - SINA_EPOCH).days.to_numpy()
    weekdays = pd.bdate_range(d[0], d[-1])
    trading = np.isin(weekdays, d)
    runs, cur = [], 0  # trading-day runs, each ended by one non-trading weekday
    for flag in trading:  # ≤ one entry per weekday of a test calendar
        if flag:
            cur += 1
        else:
            runs.append(cur)
            cur = 0
    runs.append(cur)
    width = max(1, -(-max(max(r, 1).bit_length() for r in runs) // 3))  # 3·width bits per count
    w = _Bits()
    w.put(139, 12)
    w.put(63, 6)  # version 0 (the decoder takes 63 ^ value)
    w.put(int(n[0]), 18)
    w.put(int(n[-1]), 18)
    for i, r in enumerate(runs):
        if i == 0:
            w.put(1, 1)  # change the count width: +width, as N() reads it (sign 1, width−1 ones, a zero)
            w.put(1, 1)
            w.put((1 << (width - 1)) - 1, width - 1)
            w.put(0, 1)
        else:
            w.put(0, 1)  # same width
        w.put(r, 3 * width)
    return w.text()


def sina_calendar_body(dates) -> str:
    return f'var datelist="{sina_datelist(dates)}";'


# ---------------------------------------------------------------------------------------------- Eastmoney
def kline_json(lines: list[str], code: str = "", name: str = "") -> str:
    return json.dumps({"rc": 0, "rt": 17, "svr": 0, "lt": 1, "full": 0,
                       "data": {"code": code, "market": 1, "name": name, "decimal": 3, "dktotal": len(lines),
                                "preKPrice": 0, "klines": lines}}, ensure_ascii=False)


def _fmt(*cols) -> list[str]:
    """Comma-joined rows; scalar columns repeat."""
    n = max(len(c) for c in cols if np.ndim(c))
    cols = [np.asarray(c) if np.ndim(c) else np.full(n, c) for c in cols]
    return [",".join(str(v) for v in row) for row in zip(*cols)]


def etf_klines(days: pd.DatetimeIndex, adjust: str) -> list[str]:
    """fund_etf_hist_em's 11 fields per day: 日期 开盘 收盘 最高 最低 成交量(lots) 成交额(CNY) 振幅 涨跌幅
    涨跌额 换手率. Raw closes 4.000 + 0.010·t; the hfq series adds 0.100 per share from the 2022-01-18
    distribution back to the first day (Eastmoney adjusts additively)."""
    t = np.arange(len(days))
    close = np.round(4.0 + 0.01 * t, 3)
    if adjust == "hfq":
        close = np.round(close + np.where(days >= pd.Timestamp("2022-01-18"), 0.1, 0.0) + 1.0, 3)
    vol = 5_000_000 + 1000 * t
    amt = np.round(vol * 100 * close, 2)
    return _fmt(days.strftime("%Y-%m-%d"), np.round(close - 0.005, 3), close, np.round(close + 0.01, 3),
                np.round(close - 0.01, 3), vol, amt, 0.5, 0.25, 0.01, 0.1)


def index_klines(days: pd.DatetimeIndex) -> list[str]:
    """stock_zh_index_daily_em's 8 fields: date open close high low volume(lots) amount(CNY) amplitude."""
    t = np.arange(len(days))
    c = np.round(6000.0 + 10 * t, 2)
    return _fmt(days.strftime("%Y-%m-%d"), c - 5, c, c + 10, c - 10, 90_000_000 + t, 1.0e11 + t, 0.3)


def stock_klines(days: pd.DatetimeIndex) -> list[str]:
    """stock_zh_a_hist's 11 fields; a 20.00 dividend on 2022-01-18 shows as 涨跌额 = close − (prev − 20)."""
    t = np.arange(len(days))
    close = np.round(2000.0 + 5 * t, 2)
    ref = np.r_[close[0] - 5, close[:-1]]
    ref[days.get_loc(pd.Timestamp("2022-01-18"))] -= 20.0
    chg = np.round(close - ref, 2)
    return _fmt(days.strftime("%Y-%m-%d"), close - 1, close, close + 2, close - 2, 25_000 + t, 5.0e9 + t, 1.0,
                np.round(chg / ref * 100, 2), chg, 0.2)


def fflow_klines(days: pd.DatetimeIndex) -> list[str]:
    """stock_individual_fund_flow's 15 fields: 日期, 主力/小单/中单/大单/超大单 净额 (CNY), five 净占比,
    收盘价, 涨跌幅, two unused."""
    t = np.arange(len(days))
    main = 1.0e8 * (t - 5)
    return _fmt(days.strftime("%Y-%m-%d"), main, -main / 2, -main / 2, main / 2, main / 2, 1.0, -0.5, -0.5, 0.5, 0.5,
                2000.0 + 5 * t, 0.25, 0.0, 0.0)


def clist_json(rows: list[dict], fields: list[str]) -> str:
    """Eastmoney clist: every requested field per row (numbers; f12 code and f14 name as text)."""
    diff = []
    for r in rows:
        d = dict.fromkeys(fields, 1.0)
        d.update(r)
        diff.append(d)
    return json.dumps({"rc": 0, "data": {"total": len(diff), "diff": diff}}, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------- SW, CSIndex
def sw_json(code: str, days: pd.DatetimeIndex) -> str:
    """index_hist_sw: bargainamount in 1e8 shares, bargainsum in 1e8 CNY."""
    t = np.arange(len(days))
    c = 3000.0 + t
    rows = [{"swindexcode": code, "bargaindate": d.strftime("%Y-%m-%d"), "openindex": c[i] - 1, "maxindex": c[i] + 3,
             "minindex": c[i] - 3, "closeindex": c[i], "hike": 1.0, "markup": 0.03, "bargainamount": 16.0 + i,
             "bargainsum": 105.0 + i} for i, d in enumerate(days)]
    return json.dumps({"code": "200", "message": "", "data": rows}, ensure_ascii=False)


def csindex_perf_json(code: str, days: pd.DatetimeIndex) -> str:
    """stock_zh_index_hist_csindex: tradingVol in 1e4 lots, tradingValue in 1e8 CNY, peg = rolling PE."""
    t = np.arange(len(days))
    rows = [{"tradeDate": d.strftime("%Y%m%d"), "indexCode": code, "indexNameCnAll": "沪深300全收益指数",
             "indexNameCn": "沪深300全收益", "indexNameEnAll": "CSI 300 Total Return Index", "indexNameEn": "CSI 300 TR",
             "open": 5000.0 + i, "high": 5010.0 + i, "low": 4990.0 + i, "close": 5005.0 + i, "change": 1.0,
             "changePct": 0.02, "tradingVol": 400.0 + i, "tradingValue": 130.0 + i, "consNumber": 300,
             "peg": 12.5 + 0.1 * i} for i, d in zip(t, days)]
    return json.dumps({"code": "200", "msg": "", "data": rows, "success": True}, ensure_ascii=False)


def closeweight_xls(index: str, date: pd.Timestamp, members: list[tuple[str, str, str, float]]) -> bytes:
    """CSIndex's closeweight workbook: 日期 (YYYYMMDD), 指数代码, names, 成分券代码, names, 交易所, …, 权重 (%)."""
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("Index Constituents Data")
    head = ["日期Date", "指数代码 Index Code", "指数名称 Index Name", "指数英文名称Index Name(Eng)",
            "成分券代码Constituent Code", "成分券名称Constituent Name", "成分券英文名称Constituent Name(Eng)",
            "交易所Exchange", "交易所英文名称Exchange(Eng)", "权重(%)weight"]
    for j, h in enumerate(head):
        ws.write(0, j, h)
    ex_en = {"上海证券交易所": "Shanghai Stock Exchange", "深圳证券交易所": "Shenzhen Stock Exchange"}
    for i, (code, name, exch, w) in enumerate(members, start=1):
        for j, v in enumerate([date.strftime("%Y%m%d"), index, "沪深300", "CSI 300", code, name, name, exch,
                               ex_en[exch], w]):
            ws.write(i, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------- the service
def _q(request) -> dict:
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


class FakeWeb:
    """Every endpoint above, registered on a ``responses.RequestsMock``; records (url path, query)."""

    def __init__(self, days: pd.DatetimeIndex) -> None:
        self.days = days
        self.requests: list[tuple[str, dict]] = []

    def _window(self, q: dict) -> pd.DatetimeIndex:
        beg, end = pd.Timestamp(q.get("beg", "19000101")), pd.Timestamp(q.get("end", "20991231"))
        return self.days[(self.days >= beg) & (self.days <= end)]

    def _log(self, request) -> dict:
        from urllib.parse import urlsplit

        q = _q(request)
        self.requests.append((urlsplit(request.url).path, q))
        return q

    def kline(self, request):
        q = self._log(request)
        market, code = q["secid"].split(".")
        days = self._window(q)
        if len(q["fields2"].split(",")) == 8:  # stock_zh_index_daily_em asks for f51…f58: any index
            lines = index_klines(days)
        elif code == "510300" and market == "1":
            lines = etf_klines(days, {"0": "", "2": "hfq"}[q["fqt"]])
        elif code == "600519" and market == "1":
            lines = stock_klines(days)
        else:
            return 200, JSON, json.dumps({"rc": 0, "data": None})
        return 200, JSON, kline_json(lines, code)

    def fflow(self, request):
        q = self._log(request)
        assert q["secid"] == "1.600519", q
        return 200, JSON, kline_json(fflow_klines(self.days), "600519")

    def clist(self, request):
        q = self._log(request)
        rows = [{"f12": "510300", "f13": 1, "f14": "沪深300ETF", "f3": 0.5},
                {"f12": "159915", "f13": 0, "f14": "创业板ETF", "f3": -0.2}]
        return 200, JSON, clist_json(rows, q["fields"].split(","))

    def sw(self, request):
        q = self._log(request)
        return 200, JSON, sw_json(q["swindexcode"], self.days)

    def csindex(self, request):
        q = self._log(request)
        return 200, JSON, csindex_perf_json(q["indexCode"], self._window({"beg": q["startDate"], "end": q["endDate"]}))

    def install(self, rsps) -> None:
        rsps.add(rsps.GET, "https://finance.sina.com.cn/realstock/company/klc_td_sh.txt",
                 body=sina_calendar_body(self.days), content_type="application/javascript")
        rsps.add_callback(rsps.GET, re.compile(r"https://push2his\.eastmoney\.com/api/qt/stock/kline/get.*"),
                          callback=self.kline)
        rsps.add_callback(rsps.GET, re.compile(r"https://push2his\.eastmoney\.com/api/qt/stock/fflow/daykline/get.*"),
                          callback=self.fflow)
        rsps.add_callback(rsps.GET, re.compile(r"https://push2delay\.eastmoney\.com/api/qt/clist/get.*"),
                          callback=self.clist)
        rsps.add_callback(rsps.GET, re.compile(r"https://www\.swsresearch\.com/institute-sw/api/index_publish/trend/.*"),
                          callback=self.sw)
        rsps.add_callback(rsps.GET, re.compile(r"https://www\.csindex\.com\.cn/csindex-home/perf/index-perf.*"),
                          callback=self.csindex)
        members = [("600519", "贵州茅台", "上海证券交易所", 6.0), ("300750", "宁德时代", "深圳证券交易所", 3.0),
                   ("601318", "中国平安", "上海证券交易所", 3.0)]
        rsps.add(rsps.GET, re.compile(r"https://oss-ch\.csindex\.com\.cn/static/html/csindex/public/uploads/file/"
                                      r"autofile/closeweight/000300closeweight\.xls"),
                 body=closeweight_xls("000300", self.days[-1], members), content_type="application/vnd.ms-excel")
