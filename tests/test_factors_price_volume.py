"""Price–volume factors against values worked by hand (SPEC §2.1)."""

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError
from etfrot.factors.price_volume import bias, momentum, rsi

# StockCharts' worked Wilder RSI example (14 days): published RSI 70.53, 66.32, 66.55, 69.41, 66.36, 57.97
WILDER = [44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433, 46.0826, 45.8931,
          46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116, 46.2222, 45.6439]
PUBLISHED = [70.53, 66.32, 66.55, 69.41, 66.36, 57.97]


def _panel(cols: dict) -> pd.DataFrame:
    n = max(len(v) for v in cols.values())
    return pd.DataFrame({k: list(v) + [np.nan] * (n - len(v)) for k, v in cols.items()},
                        index=pd.bdate_range("2021-01-04", periods=n, name="date"))


def _rsi_loop(px, n=14):
    d = np.diff(px)
    g, lo = np.clip(d, 0, None), np.clip(-d, 0, None)
    ag, al = g[:n].mean(), lo[:n].mean()
    out = [100 - 100 / (1 + ag / al)]
    for k in range(n, len(d)):
        ag, al = (ag * (n - 1) + g[k]) / n, (al * (n - 1) + lo[k]) / n
        out.append(100 - 100 / (1 + ag / al))
    return np.array(out)


def test_rsi_matches_published_wilder_example():
    p = _panel({"A": WILDER})
    r = rsi(p, 14)["A"]
    assert r.iloc[:14].isna().all()  # 15 closes are needed for the first value
    np.testing.assert_allclose(r.iloc[14:].to_numpy(), PUBLISHED, atol=0.01)
    np.testing.assert_allclose(r.iloc[14:].to_numpy(), _rsi_loop(np.array(WILDER)), rtol=1e-12)


def test_rsi_seeds_each_column_at_its_own_start():
    late = [np.nan] * 7 + WILDER
    p = _panel({"A": WILDER + [46.0] * 7, "B": late})
    r = rsi(p, 14)
    np.testing.assert_allclose(r["B"].iloc[21:].to_numpy(), _rsi_loop(np.array(WILDER)), rtol=1e-12)
    assert r["B"].iloc[:21].isna().all()


def test_rsi_all_gains_is_100_and_flat_is_50():
    p = _panel({"up": np.arange(1, 21.0), "flat": [5.0] * 20})
    r = rsi(p, 14)
    assert r["up"].iloc[-1] == 100.0
    assert r["flat"].iloc[-1] == 50.0


def test_momentum_and_bias_by_hand():
    px = [10, 11, 12, 13, 12, 15.0]
    p = _panel({"A": px})
    m = momentum(p, 2)["A"]
    assert np.isnan(m.iloc[1])
    assert m.iloc[2] == pytest.approx(12 / 10 - 1)
    assert m.iloc[5] == pytest.approx(15 / 13 - 1)
    m12_1 = momentum(p, 4, skip=1)["A"]  # P_{t-1} / P_{t-4} - 1
    assert m12_1.iloc[5] == pytest.approx(12 / 11 - 1)
    b = bias(p, 3)["A"]
    assert b.iloc[1] != b.iloc[1]  # NaN before 3 closes
    assert b.iloc[5] == pytest.approx(15 / ((13 + 12 + 15) / 3) - 1)


def test_momentum_carries_over_a_suspension_but_not_onto_it():
    p = _panel({"A": [10, 11, np.nan, 12, 13.0]})
    m = momentum(p, 2)["A"]
    assert np.isnan(m.iloc[2])  # not traded on t ⇒ no value
    assert m.iloc[3] == pytest.approx(12 / 11 - 1)  # P_{t−2} is the carried 11
    assert m.iloc[4] == pytest.approx(13 / 11 - 1)


def test_bad_windows_raise():
    p = _panel({"A": [1.0, 2.0]})
    with pytest.raises(ConfigError):
        momentum(p, 0)
    with pytest.raises(ConfigError):
        momentum(p, 5, skip=5)
    with pytest.raises(ConfigError):
        rsi(p, 2.5)
