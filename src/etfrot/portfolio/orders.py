"""From target weights to the orders that get an account there (SPEC §9 ``signal``: "the orders in lots").

:func:`plan_orders`: target weights + current holdings (shares) + prices (the last close) + the account's
capital → one order per code (side, shares in whole lots, estimated price, value, fee) and the cash left.
The rounding is :data:`etfrot.backtest.lots.LOT_RULE` — the same kernel the lot-based backtest trades with:
the ideal trade of each code is rounded down to a lot, then one more lot goes to the codes with the largest
remainders, in that order, while the cash left after every fee stays ≥ 0 (never above capital after fees).

``capital`` is the account's total value: the holdings at the given prices plus cash. The fee of an order
of value v is ``max(min_fee, fee · v) + slippage · v`` (+ ``stamp_duty · v`` on a sell; 0 for ETFs).
:func:`read_holdings` reads a ``code,shares`` CSV with errors that name the row and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from etfrot.backtest.lots import LOT_RULE, lot_orders
from etfrot.errors import ValidationError


@dataclass
class Orders:
    """``table``: one row per code with an order or a holding (code, name, side, shares, lots, price, value,
    fee, shares_before, shares_after, weight_target, weight_after); ``cash`` left (CNY); ``rule`` the rounding."""

    table: pd.DataFrame
    cash: float
    capital: float
    rule: str = LOT_RULE

    @property
    def fees(self) -> float:
        return float(self.table["fee"].sum())


def plan_orders(targets: pd.Series, prices: pd.Series, capital: float, holdings: pd.Series | None = None, *,
                names: pd.Series | None = None, lot_size: int = 100, fee: float = 0.0005, min_fee: float = 5.0,
                slippage: float = 0.0, stamp_duty: float = 0.0) -> Orders:
    """Orders from ``holdings`` (code → shares) to ``targets`` (code → weight, sum ≤ 1) at ``prices`` (code → CNY).

    Codes held but not targeted are sold in full; every code involved needs a positive price.
    Raises :class:`ValidationError` for negative weights or shares, weights summing above 1, missing
    prices, or holdings worth more than ``capital``.
    """
    tg = pd.Series(targets, dtype=float).fillna(0.0)
    hd = pd.Series(dtype=float) if holdings is None else pd.Series(holdings, dtype=float)
    if not (np.isfinite(capital) and capital > 0):
        raise ValidationError("orders", "capital", f"bad capital {capital!r}", fix="give the account's total value in CNY, e.g. 1e6")
    if (tg < 0).any() or tg.sum() > 1 + 1e-9:
        raise ValidationError("orders", "weight", f"target weights must be ≥ 0 and sum to ≤ 1 (sum {tg.sum():.6f})",
                              examples=[f"{c}={v}" for c, v in tg[tg < 0].items()][:5], fix="normalise the weights")
    if (hd < 0).any() or hd.isna().any():
        bad = hd[(hd < 0) | hd.isna()]
        raise ValidationError("holdings", "shares", "shares must be ≥ 0", examples=[f"{c}={v}" for c, v in bad.items()][:5],
                              fix="give the number of shares held (0 or more) per code")
    codes = pd.Index(tg.index[tg > 0].union(hd.index[hd > 0]), name="code")
    px = pd.Series(prices, dtype=float).reindex(codes)
    miss = px[~(px > 0)]
    if len(miss):
        raise ValidationError("prices", "close", "codes to trade without a positive last price", examples=list(miss.index[:5]),
                              count=len(miss), fix="check the codes against the bundle (etfrot data info) or drop them")
    cur = hd.reindex(codes, fill_value=0.0).to_numpy()
    p = px.to_numpy()
    held_value = float((cur * p).sum())
    if held_value > capital * (1 + 1e-12):
        raise ValidationError("holdings", "shares", f"the holdings are worth {held_value:,.2f} CNY at the last close, "
                              f"more than the capital {capital:,.2f}", fix="give --capital as the account's total value "
                              "(holdings at the last close + cash)")
    cash0 = capital - held_value
    w = tg.reindex(codes, fill_value=0.0).to_numpy()
    ok = np.ones(len(codes), bool)
    plan = lot_orders(cur, w, p, ok, cash0, lot_size=lot_size, fee=fee, slippage=slippage, min_fee=min_fee,
                      stamp_duty=stamp_duty)
    after = cur + plan.shares
    value = plan.shares * p
    side = np.where(plan.shares > 0, "buy", np.where(plan.shares < 0, "sell", "hold"))
    table = pd.DataFrame({
        "code": pd.array(codes.to_numpy(), dtype="string"),
        "name": pd.array(names.reindex(codes).to_numpy() if names is not None else [pd.NA] * len(codes), dtype="string"),
        "side": pd.array(side, dtype="string"),
        "shares": np.abs(plan.shares),
        "lots": np.abs(plan.shares) / lot_size,
        "price": p,
        "value": np.abs(value),
        "fee": plan.fee,
        "shares_before": cur,
        "shares_after": after,
        "weight_target": w,
        "weight_after": after * p / capital,
    })
    order = np.lexsort((table["code"].to_numpy(), -table["weight_target"].to_numpy(), table["side"].to_numpy() != "sell"))
    return Orders(table=table.iloc[order].reset_index(drop=True), cash=plan.cash, capital=float(capital))


def read_holdings(path: str | Path) -> pd.Series:
    """A ``code,shares`` CSV (header required; one row per code) → Series code → shares.

    Errors name the file, the row (as numbered in the file, header = row 1) and the fix: missing columns,
    empty codes, shares that are not numbers or negative, a code given twice.
    """
    p = Path(path)
    if not p.is_file():
        raise ValidationError("holdings", None, f"file {str(p)!r} not found", fix="give a CSV with a header line: code,shares")
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise ValidationError("holdings", None, f"{p}: not a readable CSV ({e})", fix="one line per code: code,shares") from None
    df.columns = [str(c).strip().lower() for c in df.columns]
    missing = [c for c in ("code", "shares") if c not in df.columns]
    if missing:
        raise ValidationError("holdings", missing[0], f"{p}: missing column(s) {missing} (has {list(df.columns)})",
                              fix="the first line must be the header: code,shares")
    rows = np.arange(len(df)) + 2  # file rows: header is row 1
    code = df["code"].str.strip()
    raw = df["shares"].str.strip().str.replace(",", "", regex=False).str.replace("_", "", regex=False)
    shares = pd.to_numeric(raw, errors="coerce")
    checks = [
        (code == "", "code", "empty code", "give the ETF code, e.g. 510300.SH"),
        (shares.isna().to_numpy(), "shares", "shares is not a number", "write the number of shares, e.g. 1200"),
        ((shares < 0).to_numpy(), "shares", "negative shares", "shares held are ≥ 0 (no short positions)"),
        (code.duplicated(keep=False).to_numpy() & (code != "").to_numpy(), "code", "code given more than once",
         "one row per code (add the shares up)"),
    ]
    for bad, col, what, fix in checks:
        bad = np.asarray(bad, bool)
        if bad.any():
            ex = [f"row {r}: code={c!r}, shares={s!r}" for r, c, s in zip(rows[bad][:5], df["code"][bad][:5], df["shares"][bad][:5])]
            raise ValidationError("holdings", col, f"{p}: {what}", examples=ex, count=int(bad.sum()), fix=fix)
    return pd.Series(shares.to_numpy(float), index=pd.Index(code.to_numpy(), name="code"), name="shares")
