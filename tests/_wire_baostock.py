"""BaoStock's socket protocol, served offline by a fake ``socket`` under the real ``baostock`` client.

BaoStock has no HTTP transport to stub: the client opens a TCP socket (``baostock.util.socketutil``:
``SocketUtil.connect`` and ``send_msg``) and exchanges text messages. :class:`FakeSocket` replaces the
``socket`` module *inside* ``baostock.util.socketutil`` only, so login, every query, the paging of
``ResultData.next`` and logout all run the library's own code. The framing below is the one the
installed client writes and reads (``baostock/util/socketutil.py``, ``data/messageheader.py``,
``data/resultset.py``, ``security/history.py``, ``metadata/stock_metadata.py`` …); the server is
not public, so the reply framing is what that reading code requires:

* request  = header + body + "\\x01" + crc32(header + body) + "\\n"; header =
  ``<client version>\\x01<msg type>\\x01<body length, 10 digits>`` (21 chars); body = fields joined by
  "\\x01": method, user id, page, per-page count, then the query's parameters;
* reply    = header (type = request type + 1) + body + "<![CDATA[]]>\\n"; body = error code, error
  message, method, user id, page, per-page count, ``{"record": [[text, …], …]}`` (every value text),
  the request's parameters echoed, and the comma-joined field names (``query_history_k_data_plus``
  echoes its ``fields`` parameter in place). The client reads up to the reply's last character: for
  a plain reply it keeps the "<![CDATA[]]>" end marker, so the body ends in "\\x01" to keep the marker
  out of the field names; k-line replies (type 96) are zlib-compressed (the header then holds the
  compressed length) and the client drops the decompressed body's last character, a "\\n".
"""

from __future__ import annotations

import json
import socket as _socket
import types
import zlib

import numpy as np
import pandas as pd

SPLIT = "\x01"
END = b"<![CDATA[]]>\n"
REPLY_TYPE = {"login": "01", "logout": "03", "query_trade_dates": "34", "query_stock_basic": "46",
              "query_hs300_stocks": "62", "query_zz500_stocks": "66", "query_profit_data": "18",
              "query_growth_data": "22", "query_history_k_data_plus": "96"}
COMPRESSED = {"96"}
K_COLUMNS = ["date", "code", "open", "high", "low", "close", "preclose", "volume", "amount", "adjustflag", "turn",
             "tradestatus", "pctChg", "isST"]


def _txt(x) -> str:
    return "" if x is None or (isinstance(x, float) and np.isnan(x)) else str(x)


def trading_days(start="2022-01-04", end="2022-01-28") -> pd.DatetimeIndex:
    return pd.bdate_range(start, end)


def k_lines(days: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Daily k-lines in BaoStock's columns, every value text (hand-made values, not market data).

    sh.600519 closes 2000 + 5·t with a 20.00 dividend on 2022-01-18 (preclose = previous close − 20)
    and is suspended on 2022-01-24 (tradestatus 0, volume 0, OHLC = previous close); sz.000001 is ST
    (isST 1) with closes 16 + 0.05·t; sh.000300 is the index (no tradestatus / isST of its own).
    """
    days = trading_days() if days is None else days
    t = np.arange(len(days))
    rows = []
    for code, c0, step, st in (("sh.600519", 2000.0, 5.0, "0"), ("sz.000001", 16.0, 0.05, "1"),
                               ("sh.000300", 4000.0, 10.0, "0")):
        close = np.round(c0 + step * t, 4)
        pre = np.r_[close[0] - step, close[:-1]]
        status = np.ones(len(t), int)
        if code == "sh.600519":
            pre[days.get_loc(pd.Timestamp("2022-01-18"))] -= 20.0
            s = days.get_loc(pd.Timestamp("2022-01-24"))
            status[s] = 0
            close[s] = close[s - 1]
            pre[s + 1] = close[s]
        vol = np.where(status == 1, 3_000_000 + 1000 * t, 0)
        df = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "code": code, "open": close - 1, "high": close + 2,
                           "low": close - 2, "close": close, "preclose": pre, "volume": vol,
                           "amount": np.round(vol * close, 4), "adjustflag": "3", "turn": "0.2417",
                           "tradestatus": status, "pctChg": np.round((close / pre - 1) * 100, 6), "isST": st})
        for c in ("open", "high", "low"):
            df.loc[status == 0, c] = close[status == 0]
        rows.append(df)
    out = pd.concat(rows, ignore_index=True)
    for c in ("open", "high", "low", "close", "preclose", "amount"):
        out[c] = out[c].map(lambda v: f"{v:.4f}")
    return out.astype(str)


def stock_basic() -> pd.DataFrame:
    return pd.DataFrame({"code": ["sh.600519", "sz.000001", "sh.000300"], "code_name": ["贵州茅台", "平安银行", "沪深300"],
                         "ipoDate": ["2001-08-27", "1991-04-03", "2005-04-08"], "outDate": ["", "", ""],
                         "type": ["1", "1", "2"], "status": ["1", "1", "1"]})


class Server:
    """The BaoStock service over in-memory tables; records every (method, params) it is sent."""

    def __init__(self, k: pd.DataFrame, days: pd.DatetimeIndex, profit: pd.DataFrame | None = None,
                 growth: pd.DataFrame | None = None) -> None:
        self.k, self.days = k, days
        self.profit, self.growth = profit, growth
        self.requests: list[tuple[str, list[str]]] = []
        self.logged_in = False

    # ---- tables per query: (field names, rows of text)
    def _table(self, method: str, p: list[str]) -> tuple[list[str], list[list[str]]]:
        if method == "query_history_k_data_plus":
            code, fields, start, end = p[0], p[1].split(","), p[2], p[3]
            missing = [f for f in fields if f not in K_COLUMNS]
            assert not missing, f"baostock has no k-line field(s) {missing}"
            d = self.k[(self.k["code"] == code) & (self.k["date"] >= start) & (self.k["date"] <= end)]
            return fields, d[fields].values.tolist()
        if method == "query_trade_dates":
            start, end = pd.Timestamp(p[0]), pd.Timestamp(p[1])
            cal = pd.date_range(start, end)
            return ["calendar_date", "is_trading_day"], [[d.strftime("%Y-%m-%d"), "1" if d in self.days else "0"]
                                                         for d in cal]
        if method == "query_stock_basic":
            sb = stock_basic()
            return list(sb.columns), sb.values.tolist()
        if method in ("query_hs300_stocks", "query_zz500_stocks"):
            sb = stock_basic().iloc[:2] if method == "query_hs300_stocks" else stock_basic().iloc[:1]
            upd = self.days[-1].strftime("%Y-%m-%d")
            return ["updateDate", "code", "code_name"], [[upd, c, n] for c, n in zip(sb["code"], sb["code_name"])]
        if method in ("query_profit_data", "query_growth_data"):
            src = self.profit if method == "query_profit_data" else self.growth
            code, year, quarter = p[0], int(p[1]), int(p[2])
            if src is None:
                return [], []
            period = (pd.Period(year=year, quarter=quarter, freq="Q").end_time.normalize()).strftime("%Y-%m-%d")
            d = src[(src["code"] == code) & (src["statDate"] == period)]
            return list(src.columns), d.astype(str).values.tolist()
        raise AssertionError(f"the fake BaoStock server has no {method!r}")

    def reply(self, raw: bytes) -> bytes:
        text = raw.decode("utf-8")
        assert text.endswith("\n"), "a request ends with the message delimiter"
        head_body, crc = text[:-1].rsplit(SPLIT, 1)
        assert zlib.crc32(head_body.encode("utf-8")) == int(crc), "crc32 of header + body"
        header, body = head_body[:21], head_body[21:]
        version, rtype, length = header.split(SPLIT)
        assert int(length) == len(body), "header body length"
        f = body.split(SPLIT)
        method = f[0]
        self.requests.append((method, f))
        out_type = REPLY_TYPE[method]
        assert int(out_type) == int(rtype) + 1, (method, rtype)
        if method == "login":
            self.logged_in = True
            parts = ["0", "success", "login", f[1]]
        elif method == "logout":
            self.logged_in = False
            parts = ["0", "success", "logout", f[1]]
        elif not self.logged_in:
            parts = ["10001001", "用户未登陆"]
        else:
            user, page, per_page, params = f[1], int(f[2]), int(f[3]), f[4:]
            fields, rows = self._table(method, params)
            chunk = rows[(page - 1) * per_page: page * per_page]
            data = json.dumps({"record": [[_txt(v) for v in r] for r in chunk]}, ensure_ascii=False) if chunk else ""
            parts = ["0", "success", method, user, str(page), str(per_page), data, *params]
            if method != "query_history_k_data_plus":
                parts.append(",".join(fields))
        reply_body = SPLIT.join(parts)
        if out_type in COMPRESSED:
            z = zlib.compress((reply_body + "\n").encode("utf-8"))
            return f"{version}{SPLIT}{out_type}{SPLIT}{len(z):010d}".encode() + z + END
        b = (reply_body + SPLIT).encode("utf-8")
        return f"{version}{SPLIT}{out_type}{SPLIT}{len(b):010d}".encode() + b + END


def socket_module(server: Server):
    """A stand-in for the ``socket`` module as ``baostock.util.socketutil`` uses it."""

    class FakeSocket:
        def __init__(self, *a, **k) -> None:
            self._out = b""

        def connect(self, addr) -> None:
            server.address = addr

        def send(self, data: bytes) -> int:
            self._out += server.reply(data)
            return len(data)

        def recv(self, n: int) -> bytes:
            chunk, self._out = self._out[:n], self._out[n:]
            return chunk

        def close(self) -> None:
            pass

    return types.SimpleNamespace(socket=FakeSocket, AF_INET=_socket.AF_INET, SOCK_STREAM=_socket.SOCK_STREAM)
