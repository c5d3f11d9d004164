"""Training: planted signal is learnt and a null market is not; no leakage; purged split; reproducible; resume.

The toy market: each stock has a persistent latent alpha (AR(1), φ = 0.98) that drives its daily return,
so past price moves in the window carry information about the forward return (like a momentum
signal). With ``signal=0`` returns are pure noise and nothing is predictable.
"""

import numpy as np
import pandas as pd
import pytest

from etfrot.errors import ConfigError, EtfrotError
from etfrot.model import DateSplit, StockModel, WindowDataset, grouped_ic, walk_forward
from etfrot.model.train import RESOURCE_COLUMNS

L, H = 20, 10
KW = dict(hidden_size=8, num_layers=1, epochs=4, patience=4, batch_size=400, lr=5e-3, seeds=1,
          train_date_stride=2, progress=False, device="cpu", num_threads=1)


def toy_panels(n=50, T=420, signal=1.0, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2016-01-01", periods=T, name="date")
    eps = rng.normal(size=(T, n))
    alpha = np.empty((T, n))
    a = rng.normal(size=n)
    for t in range(T):  # AR(1) latent alpha
        a = 0.98 * a + np.sqrt(1 - 0.98**2) * eps[t]
        alpha[t] = a
    r = 0.004 * signal * alpha + 0.02 * rng.normal(size=(T, n)) + 0.01 * rng.normal(size=(T, 1))
    close = 10 * np.exp(np.cumsum(r, axis=0))
    op = close * np.exp(0.005 * rng.normal(size=(T, n)))
    hi = np.maximum(op, close) * (1 + 0.01 * rng.random((T, n)))
    lo = np.minimum(op, close) * (1 - 0.01 * rng.random((T, n)))
    vol = np.exp(10 + 0.3 * rng.normal(size=(T, n)))
    cols = [f"S{i:03d}" for i in range(n)]
    P = lambda x: pd.DataFrame(x, index=dates, columns=cols)
    return {"open": P(op), "high": P(hi), "low": P(lo), "close": P(close), "volume": P(vol), "vwap": P((hi + lo + close) / 3)}


def split(ds):
    d = ds.dates
    return (d[0], d[219]), (d[220], d[299]), (d[300], d[-1])


def test_ic(model, ds, start):
    """Per-date test Rank IC on non-overlapping dates (every H-th) and its t-statistic."""
    pred = model.predict(ds, start)
    s = ds.samples(ds.dates >= start)
    row = ds.dates.get_indexer(ds.dates[s.date]) - ds.dates.get_indexer([pred.index[0]])[0]
    ic = grouped_ic(pred.to_numpy()[row, s.stock], ds.labels(s.date, s.stock), s.date)[::H]
    ic = ic[np.isfinite(ic)]
    return ic.mean(), ic.mean() / (ic.std(ddof=1) / np.sqrt(ic.size))


test_ic.__test__ = False


@pytest.fixture(scope="module")
def signal_ds():
    return WindowDataset.from_panels(toy_panels(signal=1.0), lookback=L, horizon=H)


@pytest.fixture(scope="module")
def trained(signal_ds):
    tr, va, te = split(signal_ds)
    return StockModel(**KW).fit(signal_ds, tr, va)


def test_planted_signal_gives_positive_test_rank_ic(signal_ds, trained):
    _, _, te = split(signal_ds)
    ic, t = test_ic(trained, signal_ds, te[0])
    assert ic > 0.1 and t > 3, (ic, t)


def test_null_market_gives_no_test_rank_ic():
    ds = WindowDataset.from_panels(toy_panels(signal=0.0), lookback=L, horizon=H)
    tr, va, te = split(ds)
    m = StockModel(**{**KW, "seeds": [0, 1], "epochs": 3}).fit(ds, tr, va)  # mean over 2 seeds
    ic, t = test_ic(m, ds, te[0])
    assert abs(t) < 3 and abs(ic) < 0.15, (ic, t)  # within noise (≈ 12 independent 10-day periods)


def _learnt(h: pd.DataFrame) -> pd.DataFrame:
    """The history without wall time and memory (which vary run to run)."""
    return h.drop(columns=[c for c in RESOURCE_COLUMNS if c in h])


def test_poisoned_test_period_changes_nothing_in_training(signal_ds, trained):
    """Replace every price and volume from the test start on (so its labels too) by garbage: training
    history, early stopping and weights are identical."""
    tr, va, te = split(signal_ds)
    p = toy_panels(signal=1.0)
    rng = np.random.default_rng(99)
    for k in p:
        p[k].loc[te[0]:] = p[k].loc[te[0]:] * rng.uniform(0.1, 10, size=p[k].loc[te[0]:].shape)
    poisoned = WindowDataset.from_panels(p, lookback=L, horizon=H)
    assert not np.allclose(np.nan_to_num(poisoned.label[300:]), np.nan_to_num(signal_ds.label[300:]))
    m = StockModel(**KW).fit(poisoned, tr, va)
    pd.testing.assert_frame_equal(_learnt(m.history_), _learnt(trained.history_))
    for k, v in trained.states[0].items():
        assert np.array_equal(v.numpy(), m.states[0][k].numpy()), k
    # ... while poisoning the validation period does change early stopping / history
    q = toy_panels(signal=1.0)
    q["close"].loc[va[0]:va[1]] *= rng.uniform(0.5, 2, size=q["close"].loc[va[0]:va[1]].shape)
    m2 = StockModel(**KW).fit(WindowDataset.from_panels(q, lookback=L, horizon=H), tr, va)
    assert not np.allclose(m2.history_["valid_rank_ic"], trained.history_["valid_rank_ic"])


def test_same_seed_reproduces_and_other_seed_differs(signal_ds, trained):
    tr, va, te = split(signal_ds)
    again = StockModel(**KW).fit(signal_ds, tr, va)
    pd.testing.assert_frame_equal(again.predict(signal_ds, te[0]), trained.predict(signal_ds, te[0]))
    other = StockModel(**{**KW, "seeds": [7]}).fit(signal_ds, tr, va)
    assert not np.allclose(other.predict(signal_ds, te[0]).fillna(0), trained.predict(signal_ds, te[0]).fillna(0))


def test_checkpoint_resume_equals_uninterrupted_run(signal_ds, trained, tmp_path):
    tr, va, te = split(signal_ds)
    StockModel(**{**KW, "epochs": 2}, checkpoint_dir=tmp_path).fit(signal_ds, tr, va)  # "interrupted" after 2
    resumed = StockModel(**KW, checkpoint_dir=tmp_path).fit(signal_ds, tr, va)
    pd.testing.assert_frame_equal(_learnt(resumed.history_), _learnt(trained.history_))
    pd.testing.assert_frame_equal(resumed.predict(signal_ds, te[0]), trained.predict(signal_ds, te[0]))
    with pytest.raises(EtfrotError, match="other data or settings"):
        StockModel(**{**KW, "lr": 1e-2}, checkpoint_dir=tmp_path).fit(signal_ds, tr, va)


def test_save_load_roundtrip(signal_ds, trained, tmp_path):
    trained.save(tmp_path)
    back = StockModel.load(tmp_path, device="cpu")
    _, _, te = split(signal_ds)
    pd.testing.assert_frame_equal(back.predict(signal_ds, te[0]), trained.predict(signal_ds, te[0]))


def test_predict_is_aligned_panel(signal_ds, trained):
    _, _, te = split(signal_ds)
    p = trained.predict(signal_ds, te[0])
    assert list(p.columns) == list(signal_ds.codes) and p.index[0] == te[0] and p.index[-1] == signal_ds.dates[-1]
    assert p.index.name == "date" and p.dtypes.eq("float64").all()
    # scored wherever the stock trades with a full window — also in the last H days that have no label
    assert p.iloc[-1].notna().all()


def test_split_purges_gap_before_next_part():
    dates = pd.bdate_range("2020-01-01", periods=100)
    m = DateSplit((dates[0], dates[49]), (dates[50], dates[79]), (dates[80], dates[99])).masks(dates, gap=5)
    assert np.flatnonzero(m["train"]).tolist() == list(range(45))
    assert np.flatnonzero(m["valid"]).tolist() == list(range(50, 75))
    assert np.flatnonzero(m["test"]).tolist() == list(range(80, 100))
    with pytest.raises(ConfigError, match="before valid"):
        DateSplit((dates[0], dates[60]), (dates[50], dates[79])).masks(dates, gap=5)


def test_gap_shorter_than_horizon_is_refused(signal_ds):
    tr, va, _ = split(signal_ds)
    with pytest.raises(ConfigError, match="horizon"):
        StockModel(**KW).fit(signal_ds, tr, va, gap=H - 1)


def test_walk_forward_retrains_yearly_and_covers_test_range():
    ds = WindowDataset.from_panels(toy_panels(n=20, T=790), lookback=L, horizon=H)  # 2016-01 → 2019-01
    kw = {**KW, "epochs": 1, "train_date_stride": 10}
    panel, hist = walk_forward(ds, test_start="2018-01-01", valid_years=1, **kw)
    assert panel.index[0] == ds.dates[ds.dates >= "2018-01-01"][0] and panel.index[-1] == ds.dates[-1]
    assert not panel.index.has_duplicates
    assert sorted(hist["fold"].unique()) == ["2018-01-01", "2019-01-01"]  # one model per test year
    once, h1 = walk_forward(ds, test_start="2018-01-01", retrain="once", **kw)
    assert once.index.equals(panel.index) and h1["fold"].nunique() == 1
    # fold 2018 (trained on 2016, validated on 2017) predicts 2018 exactly like a direct fit
    m = StockModel(**kw).fit(ds, (None, "2016-12-31"), ("2017-01-01", "2017-12-31"))
    pd.testing.assert_frame_equal(m.predict(ds, "2018-01-01", "2018-12-31"), once.loc[:"2018-12-31"])
    with pytest.raises(ConfigError, match="retrain"):
        walk_forward(ds, test_start="2018-01-01", retrain="monthly", **kw)


def test_history_records_epoch_wall_time_and_peak_memory(trained):
    """Every epoch of every seed carries its wall time (> 0 s) and the process's peak RSS (> 0 MiB, non-decreasing)."""
    h = trained.history_
    assert (h["seconds"] > 0).all()
    assert (h["peak_rss_mib"] > 0).all()
    assert (h.groupby("seed")["peak_rss_mib"].diff().dropna() >= 0).all()
