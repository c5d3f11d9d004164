"""Lazy (stock, date) windows of daily bars for the AGRU stock model (seed 000 §2.1; SPEC §4).

One sample = the last ``L`` trading days (default 40) of open, high, low, close, volume and VWAP of
one stock, backward-adjusted (volume split-adjusted: V / adj_factor, so a 2-for-1 split does not double
it); label = forward ``h``-day return (default 20), winsorised and standardised cross-sectionally per date:

    x[s, k] = (O, H, L, C, VWAP)[t-L+1+k] / C[t],   V[t-L+1+k] / mean(V[t-L+1..t])     k = 0..L-1
    r[t, i] = C[t+h, i] / C[t, i] − 1
    y[t, i] = z-score over samples of date t of  clip(r[t, i], q_lo(r[t, ·]), q_hi(r[t, ·]))

with q_lo / q_hi the per-date quantiles ``label_winsor`` (default 1 % / 99 %; None = no clipping), so
that a relisting jump of +200 % neither dominates the date's standard deviation nor gets an unchecked
decile weight (issue 13 item 6).

Windows are never materialised as one array: the dataset holds the panels once as a float32
``(stock × date × feature)`` array and cuts windows out of it by index arithmetic when a batch is
asked for (:meth:`WindowDataset.windows`); normalisation happens there, per sample.

Memory at full A-share scale (5000 stocks × 15 years × 252 days = 3780 dates, 6 features):
features 5000·3780·6·4 B = 454 MB, standardised and raw labels 2 × 76 MB, masks 2 × 19 MB, the
(date, stock) index of ≤ 18.9 M samples as int32 2 × 76 MB — under 0.8 GB in all, where materialised
windows would need 18.9 M · 40 · 6 · 4 B = 18 GB. Building it from a bundle transiently also holds
the long ``stock_bars`` table and a few float64 pivots (≈ 150 MB each): a few GB peak, well inside
24 GiB. ``benchmarks/bench_agru.py`` measures it (0.60 GiB of arrays + 0.10 GiB of sample index for
13.8 M samples; 1.4 GiB peak RSS including the input it was built from).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from etfrot.errors import DataMissingError, ValidationError

FEATURES = ("open", "high", "low", "close", "volume", "vwap")
_PRICE = [0, 1, 2, 3, 5]  # feature positions normalised by the last close
_CLOSE, _VOLUME = 3, 4


@dataclass(frozen=True)
class Samples:
    """Flat (date index, stock index) pairs sorted by date; ``date`` and ``stock`` are int arrays."""

    date: np.ndarray
    stock: np.ndarray

    def __len__(self) -> int:
        return int(self.date.size)

    def take(self, mask_or_idx) -> Samples:
        return Samples(self.date[mask_or_idx], self.stock[mask_or_idx])


class WindowDataset:
    """Panels of one market held once, windows cut lazily.

    Parameters
    ----------
    features : float32 array (n_stocks, n_dates, 6) in the order of :data:`FEATURES`, adjusted prices,
        raw volume; NaN where the stock has no bar.
    dates, codes : the axes.
    tradable : bool (n_dates, n_stocks): the stock traded that day (listed, not suspended, volume > 0).
    lookback, horizon : window length L and label horizon h (trading days).
    label_winsor : (lo, hi) quantiles at which the forward return is clipped per date before the z-score;
        None = no clipping.
    """

    def __init__(self, features: np.ndarray, dates, codes, tradable: np.ndarray, *, lookback: int = 40,
                 horizon: int = 20, min_stocks: int = 10,
                 label_winsor: tuple[float, float] | None = (0.01, 0.99)) -> None:
        features = np.asarray(features)
        self.dates = pd.DatetimeIndex(dates, name="date")
        self.codes = pd.Index(codes, name="code")
        n, t = len(self.codes), len(self.dates)
        if features.shape != (n, t, len(FEATURES)):
            raise ValidationError("stock_bars", None, f"features have shape {features.shape}, expected "
                                  f"(stocks={n}, dates={t}, features={len(FEATURES)})")
        if lookback < 2 or horizon < 1:
            raise ValidationError("stock_bars", None, f"lookback={lookback}, horizon={horizon}",
                                  fix="use lookback ≥ 2 and horizon ≥ 1")
        if not self.dates.is_monotonic_increasing or self.dates.has_duplicates:
            raise ValidationError("calendar", "date", "dates must be strictly increasing")
        self.features = np.ascontiguousarray(features, dtype=np.float32)
        self.lookback, self.horizon, self.min_stocks = int(lookback), int(horizon), int(min_stocks)
        self.tradable = np.asarray(tradable, dtype=bool)
        if self.tradable.shape != (t, n):
            raise ValidationError("stock_bars", "is_suspended", f"tradable mask has shape {self.tradable.shape}, "
                                  f"expected (dates={t}, stocks={n})")
        if label_winsor is not None:
            lo, hi = (float(q) for q in label_winsor)
            if not 0.0 <= lo < hi <= 1.0:
                raise ValidationError("stock_bars", None, f"label_winsor={label_winsor}",
                                      fix="give quantiles 0 ≤ lo < hi ≤ 1, e.g. (0.01, 0.99), or None")
            label_winsor = (lo, hi)
        self.label_winsor = label_winsor
        self.full_window = self._full_window()
        self.raw_label = self._forward_return()
        m = self.tradable & self.full_window
        self.label = self._standardise(self._winsorise(self.raw_label, m), m)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_bundle(cls, bundle, *, lookback: int = 40, horizon: int = 20, codes=None, start=None, end=None,
                    min_stocks: int = 10, pool: str | None = None, adjust_volume: bool = True,
                    label_winsor: tuple[float, float] | None = (0.01, 0.99)) -> WindowDataset:
        """Build from ``stock_bars`` of a bundle: adjusted O/H/L/C (``bundle.panel(..., adjusted=True)``),
        volume ÷ adj_factor (``adjust_volume``; raw volume when False or without an adj_factor column),
        adjusted VWAP (``bundle.vwap``); tradable = has a bar, not suspended, volume > 0.

        ``start``/``end`` cut the calendar (keep ``lookback`` days of history before the first date you
        want scored). Inside a stock's own data range, days without a bar carry the last price with
        volume 0 (a suspension); outside it everything is NaN. ``pool`` (e.g. "csi300" or an index
        code; None or "all" = every stock) keeps samples only on days the stock is a member of that
        index (point-in-time, ``bundle.members_panel``); windows may still reach back before entry.
        """
        if not bundle.has("stock_bars"):
            raise DataMissingError(f"bundle {bundle.path} has no table 'stock_bars'; the AGRU model needs daily "
                                   "stock bars (open, high, low, close, volume, amount, adj_factor).")
        close = bundle.panel("stock_bars", "close", adjusted=True)
        if codes is not None:
            close = close.reindex(columns=pd.Index(codes))
        sl = slice(pd.Timestamp(start) if start is not None else None, pd.Timestamp(end) if end is not None else None)
        close = close.loc[sl]
        cols, idx = close.columns, close.index
        c = close.to_numpy()
        seen = np.isfinite(c)
        inside = np.maximum.accumulate(seen, axis=0) & np.maximum.accumulate(seen[::-1], axis=0)[::-1]

        def arr(p: pd.DataFrame, kind: str) -> np.ndarray:
            a = p.reindex(index=idx, columns=cols).to_numpy(dtype=float)
            if kind == "price":
                a = pd.DataFrame(a).ffill().to_numpy()
            else:
                a = np.where(np.isfinite(a), a, 0.0)
            return np.where(inside, a, np.nan)

        feats = np.empty((len(cols), len(idx), len(FEATURES)), dtype=np.float32)
        for k, f in enumerate(("open", "high", "low", "close")):
            feats[:, :, k] = arr(bundle.panel("stock_bars", f, adjusted=True), "price").T
        vol = bundle.panel("stock_bars", "volume").reindex(index=idx, columns=cols).to_numpy(dtype=float)
        vpanel = bundle.panel("stock_bars", "volume")
        if adjust_volume:
            try:
                adj = bundle.panel("stock_bars", "adj_factor")
            except (DataMissingError, KeyError):  # no adjustment factor: raw volume
                adj = None
            if adj is not None:
                vpanel = vpanel / adj  # shares in units of the adjusted price: a split leaves it unchanged
        feats[:, :, _VOLUME] = arr(vpanel, "volume").T
        vwap = bundle.vwap("stock_bars", adjusted=True).reindex(index=idx, columns=cols).to_numpy(dtype=float)
        vwap = np.where(np.isfinite(vwap), vwap, feats[:, :, _CLOSE].T)  # no volume: VWAP := close
        feats[:, :, 5] = np.where(inside, vwap, np.nan).T
        susp = bundle.panel("stock_bars", "is_suspended").reindex(index=idx, columns=cols).to_numpy(dtype=float)
        tradable = seen & (susp == 0) & (np.nan_to_num(vol) > 0)
        if pool is not None and pool.lower() != "all":
            from etfrot.evaluation.pools import pool_index_code

            members = bundle.members_panel(pool_index_code(bundle, pool), idx)
            tradable &= members.reindex(columns=cols, fill_value=False).to_numpy(bool)
        return cls(feats, idx, cols, tradable, lookback=lookback, horizon=horizon, min_stocks=min_stocks,
                   label_winsor=label_winsor)

    @classmethod
    def from_panels(cls, panels: dict[str, pd.DataFrame], tradable: pd.DataFrame | None = None, **kw) -> WindowDataset:
        """Build from date × code panels named as :data:`FEATURES` (prices already adjusted)."""
        missing = [f for f in FEATURES if f not in panels]
        if missing:
            raise DataMissingError(f"panels {missing} are missing; expected {list(FEATURES)}")
        ref = panels["close"]
        feats = np.stack([panels[f].reindex(index=ref.index, columns=ref.columns).to_numpy(dtype=float).T
                          for f in FEATURES], axis=-1).astype(np.float32)
        if tradable is None:
            tr = np.isfinite(ref.to_numpy()) & (panels["volume"].reindex_like(ref).fillna(0).to_numpy() > 0)
        else:
            tr = tradable.reindex_like(ref).fillna(False).to_numpy(dtype=bool)
        return cls(feats, ref.index, ref.columns, tr, **kw)

    # ------------------------------------------------------------------ masks and labels
    def _full_window(self) -> np.ndarray:
        """(dates × stocks) bool: every feature finite on each of the last L days (cumulative-sum trick)."""
        ok = np.isfinite(self.features).all(axis=2).T  # dates × stocks
        c = np.concatenate([np.zeros((1, ok.shape[1]), np.int32), np.cumsum(ok, axis=0, dtype=np.int32)])
        L = self.lookback
        out = np.zeros_like(ok)
        if ok.shape[0] >= L:
            out[L - 1:] = (c[L:] - c[:-L]) == L
        return out

    def _forward_return(self) -> np.ndarray:
        """(dates × stocks) float32: C[t+h]/C[t] − 1, NaN where either is missing or t+h is past the end."""
        c = self.features[:, :, _CLOSE].T
        out = np.full(c.shape, np.nan, dtype=np.float32)
        h = self.horizon
        if c.shape[0] > h:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[:-h] = c[h:] / c[:-h] - 1.0
        return out

    def _winsorise(self, r: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Clip ``r`` per date to its ``label_winsor`` quantiles over ``mask & finite`` (linear interpolation)."""
        if self.label_winsor is None:
            return r
        x = np.where(mask & np.isfinite(r), r, np.nan)
        ok = np.isfinite(x).any(axis=1)
        q = np.full((x.shape[0], 2), np.nan)
        if ok.any():
            q[ok] = np.nanquantile(x[ok], self.label_winsor, axis=1).T
        with np.errstate(invalid="ignore"):
            return np.clip(r, q[:, :1], q[:, 1:]).astype(np.float32)

    def _standardise(self, r: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Per-date z-score of ``r`` over ``mask & finite`` (dates with < min_stocks samples: NaN)."""
        m = mask & np.isfinite(r)
        x = np.where(m, r, 0.0).astype(np.float64)
        n = m.sum(axis=1)
        mean = x.sum(axis=1) / np.maximum(n, 1)
        var = (np.where(m, (x - mean[:, None]) ** 2, 0.0)).sum(axis=1) / np.maximum(n - 1, 1)
        sd = np.sqrt(var)
        good = (n >= max(self.min_stocks, 2)) & (sd > 0)
        z = (x - mean[:, None]) / np.where(sd > 0, sd, 1.0)[:, None]
        return np.where(m & good[:, None], z, np.nan).astype(np.float32)

    def sample_mask(self, with_label: bool = True) -> np.ndarray:
        """(dates × stocks) bool: the stock trades on t, has a full window, and (optionally) a label."""
        m = self.tradable & self.full_window
        return m & np.isfinite(self.label) if with_label else m

    def samples(self, date_mask=None, *, with_label: bool = True) -> Samples:
        """All samples (sorted by date, then stock) on dates where ``date_mask`` (bool over dates) holds."""
        m = self.sample_mask(with_label)
        if date_mask is not None:
            m = m & np.asarray(date_mask, bool)[:, None]
        d, s = np.nonzero(m)
        return Samples(d.astype(np.int32), s.astype(np.int32))

    # ------------------------------------------------------------------ batches
    def windows(self, date: np.ndarray, stock: np.ndarray) -> np.ndarray:
        """Normalised windows (B, L, 6) float32 of samples (date index, stock index): the collate step.

        Prices (O, H, L, C, VWAP) ÷ the window's last close; volume ÷ the window's mean volume.
        """
        steps = np.arange(-self.lookback + 1, 1, dtype=np.int64)
        tt = np.asarray(date, np.int64)[:, None] + steps[None, :]
        if tt.size and tt.min() < 0:
            raise ValidationError("stock_bars", None, "a sample's window starts before the first date",
                                  fix="ask only for samples from `samples()`")
        x = self.features[np.asarray(stock, np.int64)[:, None], tt]  # (B, L, F) copy of just this batch
        last_close = x[:, -1:, _CLOSE:_CLOSE + 1]
        x[:, :, _PRICE] /= last_close
        vmean = x[:, :, _VOLUME].mean(axis=1, keepdims=True)
        x[:, :, _VOLUME] /= np.where(vmean > 0, vmean, 1.0)
        return x

    def labels(self, date: np.ndarray, stock: np.ndarray) -> np.ndarray:
        return self.label[date, stock]

    @property
    def nbytes(self) -> int:
        """Bytes held by the dataset's arrays (features, labels, masks)."""
        return int(self.features.nbytes + self.label.nbytes + self.raw_label.nbytes + self.tradable.nbytes
                   + self.full_window.nbytes)

    def __repr__(self) -> str:
        return (f"WindowDataset(stocks={len(self.codes)}, dates={len(self.dates)}, lookback={self.lookback}, "
                f"horizon={self.horizon}, samples={int(self.sample_mask().sum())}, {self.nbytes / 2**20:.0f} MiB)")
