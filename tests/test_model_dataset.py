"""WindowDataset: known-answer windows, labels and sample masks; laziness (memory independent of L)."""

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import DataMissingError, ValidationError
from etfrot.model.dataset import FEATURES, WindowDataset

DATES = pd.bdate_range("2020-01-01", periods=12, name="date")


def panels(n=3, T=12):
    dates = DATES[:T]
    cols = [f"S{i}" for i in range(n)]
    t = np.arange(1, T + 1, dtype=float)[:, None]
    k = np.arange(1, n + 1, dtype=float)[None, :]
    close = t * k  # close of stock i on day t = t·(i+1)
    P = lambda a: pd.DataFrame(np.broadcast_to(a, (T, n)).copy(), index=dates, columns=cols)
    return {"open": P(close - 0.5), "high": P(close + 1), "low": P(close - 1), "close": P(close),
            "volume": P(100 * t + 0 * k), "vwap": P(close + 0.25)}


def test_window_is_normalised_by_last_close_and_mean_volume():
    ds = WindowDataset.from_panels(panels(), lookback=4, horizon=2, min_stocks=2)
    x = ds.windows(np.array([5]), np.array([1]))  # stock S1 (close = 2t), day index 5 (t = 6)
    assert x.shape == (1, 4, len(FEATURES))
    t = np.arange(3, 7, dtype=float)  # t of days 2..5
    close = 2 * t
    np.testing.assert_allclose(x[0, :, 3], close / 12.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 0], (close - 0.5) / 12.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 1], (close + 1) / 12.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 2], (close - 1) / 12.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 5], (close + 0.25) / 12.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 4], t / t.mean(), rtol=1e-6)
    assert x[0, -1, 3] == pytest.approx(1.0)
    # the dataset's own arrays are untouched by normalisation
    assert ds.features[1, 5, 3] == pytest.approx(12.0)


def test_label_is_forward_return_standardised_per_date():
    p = panels()
    p["close"].iloc[:, 2] = np.linspace(1, 3, 12) ** 2  # make stock returns differ across stocks
    ds = WindowDataset.from_panels(p, lookback=3, horizon=2, min_stocks=2)
    c = p["close"].to_numpy()
    r = c[6] / c[4] - 1  # forward 2-day return at day 4
    z = (r - r.mean()) / r.std(ddof=1)
    np.testing.assert_allclose(ds.label[4], z, rtol=1e-5)
    np.testing.assert_allclose(ds.raw_label[4], r, rtol=1e-5)
    assert np.isnan(ds.label[-2:]).all()  # no label in the last h days
    assert np.isnan(ds.label[:2]).all()  # no full 3-day window before day 2


def test_samples_need_trading_full_window_and_label():
    p = panels(n=4)
    p["close"] = p["close"] * np.exp(np.random.default_rng(0).normal(0, 0.01, (12, 4)))  # returns differ
    p["close"].iloc[5, 0] = np.nan  # S0 has no bar on day 5: windows touching it are not full
    p["volume"].iloc[7, 1] = 0.0  # S1 does not trade on day 7 (its window stays full)
    ds = WindowDataset.from_panels(p, lookback=3, horizon=2, min_stocks=2)
    m = ds.sample_mask(with_label=True)
    assert not m[5:8, 0].any() and m[4, 0] and m[8, 0]
    assert not m[7, 1] and m[8, 1] and m[9, 1]
    assert not m[:2].any() and not m[-2:].any()
    s = ds.samples()
    assert np.all(np.diff(s.date) >= 0)  # sorted by date
    assert len(s) == int(m.sum())
    # predictions need no label: the last h days are samples without one
    assert ds.sample_mask(with_label=False)[-2:, 2].all()


def test_memory_is_lazy_independent_of_lookback():
    p = panels(n=5)
    small, big = (WindowDataset.from_panels(p, lookback=L, horizon=1, min_stocks=2) for L in (2, 10))
    assert small.nbytes == big.nbytes  # windows are never materialised
    assert big.features.dtype == np.float32 and big.features.shape == (5, 12, 6)
    # full A-share scale stated in the docstring: 5000 stocks × 3780 days × 6 features float32
    assert 5000 * 3780 * 6 * 4 / 2**30 < 0.5


def test_bad_shapes_and_missing_panels_raise_clear_errors():
    p = panels()
    with pytest.raises(DataMissingError, match="vwap"):
        WindowDataset.from_panels({k: v for k, v in p.items() if k != "vwap"})
    with pytest.raises(ValidationError, match="shape"):
        WindowDataset(np.zeros((2, 12, 6), np.float32), DATES, ["a", "b", "c"], np.ones((12, 3), bool))
    ds = WindowDataset.from_panels(p, lookback=4, horizon=2, min_stocks=2)
    with pytest.raises(ValidationError, match="before the first date"):
        ds.windows(np.array([1]), np.array([0]))


class FakeBundle:
    """Duck-typed bundle over hand-made panels (adjustment = × adj_factor, as Bundle.panel does)."""

    path = "fake"

    def __init__(self, raw: dict[str, pd.DataFrame]):
        self.raw = raw

    def has(self, name):
        return name == "stock_bars"

    def panel(self, table, field, adjusted=False):
        p = self.raw[field]
        return p * self.raw["adj_factor"] if adjusted and field in ("open", "high", "low", "close") else p

    def vwap(self, table="stock_bars", adjusted=True):
        v = self.raw["amount"] / self.raw["volume"].where(self.raw["volume"] > 0)
        return v * self.raw["adj_factor"] if adjusted else v


def test_from_bundle_adjusts_prices_fills_suspensions_and_masks_untradable_days():
    p = panels(n=2)
    raw = {k: p[k] for k in ("open", "high", "low", "close", "volume")}
    raw["amount"] = p["vwap"] * p["volume"]
    adj = pd.DataFrame(1.0, index=p["close"].index, columns=p["close"].columns)
    adj.iloc[6:, 0] = 2.0  # a 2:1 split-like adjustment of S0 from day 6 on
    raw["adj_factor"] = adj
    raw["is_suspended"] = pd.DataFrame(0.0, index=adj.index, columns=adj.columns)
    raw["is_suspended"].iloc[3, 1] = 1.0
    for k in ("open", "high", "low", "close", "volume", "amount"):
        raw[k] = raw[k].copy()
        raw[k].iloc[8, 1] = np.nan  # S1 has no bar on day 8 (inside its data range)
    raw["close"].iloc[:2, 0] = np.nan  # S0 not yet listed on days 0-1
    for k in ("open", "high", "low", "volume", "amount"):
        raw[k].iloc[:2, 0] = np.nan
    ds = WindowDataset.from_bundle(FakeBundle(raw), lookback=3, horizon=1, min_stocks=1)
    f = ds.features
    assert f[0, 6, 3] == pytest.approx(2 * p["close"].iloc[6, 0])  # adjusted close
    assert f[0, 6, 5] == pytest.approx(2 * p["vwap"].iloc[6, 0])  # adjusted VWAP
    assert f[1, 8, 3] == pytest.approx(p["close"].iloc[7, 1]) and f[1, 8, 4] == 0.0  # carried, volume 0
    assert f[1, 8, 5] == pytest.approx(p["close"].iloc[7, 1])  # no volume: VWAP := close
    assert np.isnan(f[0, :2]).all()
    assert not ds.tradable[3, 1] and not ds.tradable[8, 1] and ds.tradable[9, 1]
    assert not ds.full_window[3, 0] and ds.full_window[4, 0]  # S0's first full 3-day window ends on day 4
    assert ds.full_window[9, 1]  # a filled suspension day keeps the window full


def test_pool_keeps_only_point_in_time_members(small_bundle):
    full = WindowDataset.from_bundle(small_bundle, lookback=20, horizon=5)
    ds = WindowDataset.from_bundle(small_bundle, lookback=20, horizon=5, pool="csi300")
    mem = small_bundle.members_panel("000300.SH", ds.dates).reindex(columns=ds.codes, fill_value=False).to_numpy(bool)
    m = ds.sample_mask(with_label=False)
    assert 0 < m.sum() < full.sample_mask(with_label=False).sum()
    assert np.array_equal(m, full.sample_mask(with_label=False) & mem)
    # labels are standardised within the pool: mean 0 per date over its samples
    z = np.where(ds.sample_mask(), ds.label, np.nan)
    rows = np.isfinite(z).any(axis=1)
    assert rows.sum() > 100 and np.nanmax(np.abs(np.nanmean(z[rows], axis=1))) < 1e-5


def test_volume_is_split_adjusted_with_the_adjustment_factor():
    """A 2-for-1 split on day 6 (raw close 10 → 5, raw volume 100 → 200, adj_factor 1 → 2): the adjusted
    volume is 100 on every day, so the normalised window's volume is exactly 1 across the split; raw volume
    (adjust_volume=False) shows the jump (100/150 before, 200/150 after in a 4-day window over the split)."""
    idx, cols = DATES, ["S0", "S1"]
    P = lambda v: pd.DataFrame(v, index=idx, columns=cols, dtype=float)
    before = np.arange(12)[:, None] < 6
    close = P(np.where(before, 10.0, 5.0) * np.ones((12, 2)))
    vol = P(np.where(before, 100.0, 200.0) * np.ones((12, 2)))
    raw = {"open": close, "high": close, "low": close, "close": close, "volume": vol, "amount": close * vol,
           "adj_factor": P(np.where(before, 1.0, 2.0) * np.ones((12, 2))), "is_suspended": P(np.zeros((12, 2)))}
    ds = WindowDataset.from_bundle(FakeBundle(raw), lookback=4, horizon=1, min_stocks=1, label_winsor=None)
    x = ds.windows(np.array([7]), np.array([0]))  # days 4..7 straddle the split
    np.testing.assert_allclose(x[0, :, 4], 1.0, rtol=1e-6)
    np.testing.assert_allclose(x[0, :, 3], 1.0, rtol=1e-6)  # adjusted close is 10 throughout
    raw_ds = WindowDataset.from_bundle(FakeBundle(raw), lookback=4, horizon=1, min_stocks=1, adjust_volume=False,
                                       label_winsor=None)
    np.testing.assert_allclose(raw_ds.windows(np.array([7]), np.array([0]))[0, :, 4],
                               [100 / 150, 100 / 150, 200 / 150, 200 / 150], rtol=1e-6)


def _jump_panels():
    """100 stocks on day 0 → day 1: returns 0.0 %, 0.1 %, …, 9.8 % for 99 of them and +200 % for one
    (a relisting jump) from day 1 to day 2; every stock has a full 2-day window on day 1."""
    idx, cols = DATES[:4], [f"S{i}" for i in range(100)]
    r = np.append(np.arange(99) * 0.001, 2.0)
    c0 = np.ones(100)
    close = pd.DataFrame([c0, c0, c0 * (1 + r), c0 * (1 + r)], index=idx, columns=cols)
    p = {k: close for k in ("open", "high", "low", "close", "vwap")}
    p["volume"] = close * 0 + 1e4
    return p, r


def test_label_is_winsorised_per_date_before_standardising():
    """Clipped at the 1 % / 99 % quantiles of the date (linear interpolation, numpy): the +200 % stock gets the
    99 % quantile's return, and the z-score is that of the clipped cross-section."""
    p, r = _jump_panels()
    ds = WindowDataset.from_panels(p, lookback=2, horizon=1, min_stocks=2)
    lo, hi = 0.99 * 0.001, 0.098 + 0.01 * (2.0 - 0.098)  # positions 0.99 and 98.01 of the sorted returns
    w = np.clip(r, lo, hi)
    np.testing.assert_allclose(ds.label[1], (w - w.mean()) / w.std(ddof=1), rtol=1e-4, atol=1e-5)
    assert ds.label[1, 99] == pytest.approx(ds.label[1].max())
    assert ds.label[1, 99] < 3.0  # clipped: near the top of the others, not a 10-sigma outlier
    np.testing.assert_allclose(ds.raw_label[1], r, atol=1e-6)  # the raw return is kept (float32)


def test_label_winsor_none_keeps_the_jump_and_bad_quantiles_raise():
    p, r = _jump_panels()
    ds = WindowDataset.from_panels(p, lookback=2, horizon=1, min_stocks=2, label_winsor=None)
    np.testing.assert_allclose(ds.label[1], (r - r.mean()) / r.std(ddof=1), rtol=1e-4, atol=1e-5)
    assert ds.label[1, 99] > 9.0  # unclipped, the jump is a ~10-sigma label
    with pytest.raises(ValidationError, match="label_winsor"):
        WindowDataset.from_panels(p, lookback=2, horizon=1, min_stocks=2, label_winsor=(0.9, 0.1))
