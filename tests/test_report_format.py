"""Numbers formatted for people (issue 14 item 2): one rule per column kind, the same in HTML and console."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from etfrot.report.format import PATTERNS, format_frame, format_values, kind_of_name


def hand_table() -> pd.DataFrame:
    """One value per column kind, plus a missing value in each numeric kind."""
    return pd.DataFrame({
        "exec_date": pd.to_datetime(["2021-03-31", None]),
        "code": pd.array(["510300.SH", "159915.SZ"], dtype="string"),
        "annual_return": [0.0178, np.nan],
        "sharpe": [1.23456, -0.004],
        "rank": [4.0, np.nan],
        "trades": [9301, 12],
        "nav": [1.23456, 12345.678],
    }, index=pd.Index([2021, 2022], name="year"))


EXPECTED = pd.DataFrame({
    "exec_date": ["2021-03-31", ""],
    "code": ["510300.SH", "159915.SZ"],
    "annual_return": ["1.78%", ""],
    "sharpe": ["1.23", "0.00"],
    "rank": ["4", ""],
    "trades": ["9,301", "12"],
    "nav": ["1.2346", "12,346"],
}, index=pd.Index(["2021", "2022"], name="year"))


def test_each_column_kind_has_its_rule_on_a_hand_table():
    out = format_frame(hand_table())
    pd.testing.assert_frame_equal(out, EXPECTED, check_dtype=False, check_index_type=False)


def test_a_long_metrics_table_is_formatted_by_its_row_labels():
    """Column ``value`` says nothing: each cell takes the kind of its metric (row label)."""
    m = pd.DataFrame({"value": ["2020-01-02", 0.0178, 1.234, -0.2512, 123.0],
                      "ci95_lo": [np.nan, -0.01, 0.5, np.nan, np.nan]},
                     index=pd.Index(["start", "annual excess (relative NAV)", "information ratio", "max drawdown",
                                     "rebalance periods"], name="metric"))
    out = format_frame(m)
    assert out["value"].tolist() == ["2020-01-02", "1.78%", "1.23", "-25.12%", "123"]
    assert out["ci95_lo"].tolist() == ["", "-1.00%", "0.50", "", ""]


def test_explicit_kinds_in_attrs_win_over_name_patterns():
    df = pd.DataFrame({"return": [0.5], "weird": [0.123456]})
    df.attrs["kinds"] = {"return": "ratio", "weird": "percent"}
    assert format_frame(df).iloc[0].tolist() == ["0.50", "12.35%"]
    df.attrs["kinds"] = {"return": "bogus"}
    with pytest.raises(ValueError, match="not a kind"):
        format_frame(df)


def test_name_patterns_give_the_documented_kinds():
    cases = {"annual_excess_ci_lo": "percent", "information_ratio": "ratio", "n_held": "count", "signal_date": "date",
             "trading days": "count", "Sharpe (rf = 0)": "ratio", "win rate per rebalance period": "percent",
             "ic_pos": "percent", "turnover": "percent", "nav_before": "number", "recovery": "date", "depth": "percent",
             "year": "text", "mystery": None,
             # an IC and a mean count whose names hold "rank" / "date" (found as a count and a date before)
             "rank_ic_mean": "number", "ic_mean": "number", "rank_icir": "ratio", "stocks_per_date": "ratio", "indices_per_date": "ratio"}
    assert {k: kind_of_name(k) for k in cases} == cases
    assert all(k in {"percent", "ratio", "count", "number", "date", "text"} for _, k in PATTERNS)


def test_no_negative_zero_and_csv_keeps_full_precision(tmp_path):
    assert format_values([-0.00001], "percent").tolist() == ["0.00%"]
    assert format_values([-0.001], "ratio").tolist() == ["0.00"]
    from etfrot.report import Section, write_report

    df = hand_table()
    html = write_report(tmp_path, title="t", synthetic=False, data_label="d",
                        sections=[Section("S", tables={"T": df})]).read_text()
    assert "1.78%" in html and "0.0178" not in html and '<div class="tblwrap">' in html
    back = pd.read_csv(tmp_path / "tables" / "s_t.csv", index_col=0)
    assert back["annual_return"].iloc[0] == 0.0178 and back["sharpe"].iloc[0] == 1.23456


def test_console_prints_the_same_strings():
    from rich.console import Console

    from etfrot.cli.app import print_frame

    buf = io.StringIO()
    print_frame(hand_table(), "t", console=Console(file=buf, width=200))
    text = buf.getvalue()
    for s in ("1.78%", "1.23", "9,301", "2021-03-31", "510300.SH", "12,346"):
        assert s in text, s
    assert "0.0178" not in text and "4.0000" not in text


def test_heat_table_colours_the_marked_columns_symmetric_around_zero(tmp_path):
    """A heat table (``attrs["heat"]``): −max|v| → the colour map's low end, +max|v| → its high end, 0 → its
    middle, with white text on the dark ends and black on the light middle; NaN and unmarked columns unstyled;
    the page shows the formatted values and the CSV keeps the numbers."""
    from etfrot.report import Section, write_report
    from etfrot.report.html import heat_css

    df = pd.DataFrame({"Jan": [-0.04, 0.0], "Feb": [0.04, np.nan], "total": [0.5, -0.5]}, index=pd.Index([2020, 2021], name="year"))
    df.attrs = {"kinds": dict.fromkeys(df.columns, "percent"), "heat": {"columns": ["Jan", "Feb"], "cmap": "RdYlGn"}}
    css = heat_css(df)
    assert css[0, 0] == "background-color:#a50026;color:#fff"  # RdYlGn(0): dark red
    assert css[0, 1] == "background-color:#006837;color:#fff"  # RdYlGn(1): dark green
    assert css[1, 0] == "background-color:#feffbe;color:#000"  # RdYlGn(0.5): pale yellow
    assert css[1, 1] == "" and css[0, 2] == css[1, 2] == ""  # NaN, and the total column (another scale)
    html = write_report(tmp_path, title="t", synthetic=False, data_label="d",
                        sections=[Section("S", tables={"monthly": df})]).read_text()
    assert 'class="tbl heat"' in html and "background-color: #a50026" in html and "-4.00%" in html and "50.00%" in html
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "tables" / "s_monthly.csv", index_col=0), df, check_exact=True)
