"""Validation (SPEC §10): every rule raises a ValidationError naming table, column, rows and the fix."""

from __future__ import annotations

import pandas as pd
import pytest

from etfrot.data.schema import coerce_table, validate_table, validate_tables
from etfrot.errors import ValidationError

D = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])


def bars(**over) -> pd.DataFrame:
    df = pd.DataFrame({
        "date": D.repeat(1), "code": ["510300.SH"] * 3,
        "open": [1.0, 1.1, 1.2], "high": [1.1, 1.2, 1.3], "low": [0.9, 1.0, 1.1], "close": [1.05, 1.15, 1.25],
        "volume": [100.0, 200.0, 300.0], "amount": [105.0, 230.0, 375.0], "adj_factor": [1.0] * 3, "aum": [1e9] * 3,
    })
    for k, v in over.items():
        df[k] = v
    return coerce_table("etf_bars", df)


def tables(**over) -> dict[str, pd.DataFrame]:
    t = {
        "calendar": pd.DataFrame({"date": D}),
        "etf_bars": bars(),
        "etf_info": coerce_table("etf_info", pd.DataFrame({
            "code": ["510300.SH"], "name": ["300ETF"], "tracked_index": ["000300.SH"], "list_date": [D[0]],
            "delist_date": [pd.NaT], "manager": ["m"], "fee_rate": [0.005], "category": ["equity"]})),
        "index_bars": coerce_table("index_bars", pd.DataFrame({
            "date": D, "code": "000300.SH", "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0, "amount": 1.0})),
        "index_info": coerce_table("index_info", pd.DataFrame({
            "code": ["000300.SH"], "name": ["沪深300"], "category": ["broad"], "region": ["cn"], "total_return_of": [None]})),
    }
    t.update(over)
    return t


def raises(fn, *, table, column, text):
    with pytest.raises(ValidationError) as e:
        fn()
    err = e.value
    assert err.table == table and err.column == column, (err.table, err.column, str(err))
    assert text in str(err) and "fix:" in str(err)
    return err


def test_good_tables_pass():
    validate_tables(tables())


def test_missing_column():
    raises(lambda: validate_table("etf_bars", bars().drop(columns="amount")), table="etf_bars", column="amount", text="missing column")


def test_extra_column():
    raises(lambda: validate_table("etf_bars", bars(foo=1.0)), table="etf_bars", column="foo", text="unexpected column")


def test_wrong_dtype():
    df = bars()
    df["close"] = df["close"].astype(str)
    raises(lambda: validate_table("etf_bars", df), table="etf_bars", column="close", text="wrong dtype")


def test_duplicate_keys_name_rows():
    df = pd.concat([bars(), bars().iloc[[1]]]).sort_values(["date", "code"]).reset_index(drop=True)
    err = raises(lambda: validate_table("etf_bars", df), table="etf_bars", column=None, text="duplicate keys")
    assert err.count == 2 and "2024-01-03" in str(err)


def test_unsorted_dates():
    df = bars().iloc[[0, 2, 1]].reset_index(drop=True)
    raises(lambda: validate_table("etf_bars", df), table="etf_bars", column="date", text="not sorted")


def test_dates_outside_calendar():
    t = tables(calendar=pd.DataFrame({"date": D[:2]}))
    t["index_bars"] = t["index_bars"].iloc[:2]
    err = raises(lambda: validate_tables(t), table="etf_bars", column="date", text="not trading days")
    assert err.count == 1


def test_non_positive_price():
    raises(lambda: validate_table("etf_bars", bars(low=[0.9, 0.0, 1.1])), table="etf_bars", column="low", text="non-positive")


def test_high_below_low():
    raises(lambda: validate_table("etf_bars", bars(high=[1.1, 0.95, 1.3])), table="etf_bars", column="high", text="high < low")


def test_close_outside_range():
    raises(lambda: validate_table("etf_bars", bars(close=[1.05, 1.25, 1.25])), table="etf_bars", column="close", text="close outside")


def test_negative_volume():
    raises(lambda: validate_table("etf_bars", bars(volume=[100.0, -1.0, 3.0])), table="etf_bars", column="volume", text="negative")


def test_nan_in_required_column():
    err = raises(lambda: validate_table("etf_bars", bars(close=[1.05, float("nan"), float("nan")])),
                 table="etf_bars", column="close", text="missing values")
    assert err.count == 2


def test_weights_must_sum_to_one():
    w = coerce_table("index_weights", pd.DataFrame({
        "date": [D[0]] * 2 + [D[1]] * 2, "index_code": "000300.SH", "stock_code": ["600000.SH", "600519.SH"] * 2,
        "weight": [0.5, 0.5, 0.5, 0.49]}))
    si = coerce_table("stock_info", pd.DataFrame({"code": ["600000.SH", "600519.SH"], "name": ["a", "b"],
                                                  "list_date": [D[0]] * 2, "delist_date": [pd.NaT] * 2, "industry_l1": ["银行", "食品饮料"]}))
    validate_tables(tables(index_weights=w.iloc[:2], stock_info=si))  # one good snapshot passes
    err = raises(lambda: validate_tables(tables(index_weights=w, stock_info=si)), table="index_weights", column="weight", text="do not sum to 1")
    assert "0.9900" in str(err)


def test_unknown_code_referenced():
    info = tables()["etf_info"].assign(tracked_index="000905.SH")
    raises(lambda: validate_tables(tables(etf_info=info)), table="etf_info", column="tracked_index", text="not defined in 'index_info.code'")


def test_list_after_delist():
    info = tables()["etf_info"].assign(delist_date=pd.Timestamp("2020-01-01"))
    raises(lambda: validate_table("etf_info", info), table="etf_info", column="list_date", text="list_date after delist_date")


def test_required_table_missing():
    t = tables()
    del t["etf_info"]
    raises(lambda: validate_tables(t), table="etf_info", column=None, text="required table is missing")


def test_bad_category_value():
    info = tables()["index_info"].assign(category="sector")
    raises(lambda: validate_table("index_info", info), table="index_info", column="category", text="values outside")


def test_unreadable_dates_name_column():
    df = pd.DataFrame({"date": ["2024-01-02", "not a date"]})
    raises(lambda: coerce_table("calendar", df), table="calendar", column="date", text="cannot read values")
