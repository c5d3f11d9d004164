"""One training loop for AGRU and the GRU baseline (seed 000 §2; SPEC §4).

* Date split train / valid / test with a purge gap ≥ the label horizon: a training sample on date
  index i is kept only if i + gap < first validation index, so its label C[i+h]/C[i] − 1 ends strictly
  before validation starts (likewise validation before test). Test labels never enter training or
  early stopping.
* Batches hold whole dates (dates shuffled per epoch, packed until a batch has ≥ ``batch_size``
  samples), so the decile weights of the loss are cut per cross-section.
* Early stopping on the validation Rank IC (mean over dates of the Spearman correlation between
  prediction and label); the best epoch's weights are kept.
* Ensemble over seeds: the prediction is the mean of the seeds' predictions (seed 000: 5 seeds).
* Checkpoint every epoch (atomic), resume from it; fully reproducible for a seed on CPU
  (``torch.manual_seed``, deterministic algorithms, epoch shuffles drawn from ``(seed, epoch)``).
* Walk-forward: :func:`walk_forward` retrains every year on all data before it.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from etfrot.errors import ConfigError, EtfrotError
from etfrot.model.agru import MODELS, build_model

PRECISIONS = ("fp32", "bf16")
RESOURCE_COLUMNS = ("seconds", "peak_rss_mib", "peak_cuda_mib")  # history columns that vary run to run
from etfrot.model.dataset import FEATURES, Samples, WindowDataset
from etfrot.model.loss import weighted_mse

# ---------------------------------------------------------------------------------------- metrics


def _group_ranks(v: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Ordinal 0-based rank of v within its group g (g: 0..G−1)."""
    order = np.lexsort((v, g))
    counts = np.bincount(g)
    starts = np.cumsum(counts) - counts
    r = np.empty(v.size, np.float64)
    r[order] = np.arange(v.size) - starts[g[order]]
    return r


def grouped_ic(pred: np.ndarray, label: np.ndarray, group: np.ndarray, rank: bool = True) -> np.ndarray:
    """Per-group (per-date) Pearson correlation of pred and label; of their ranks if ``rank`` (Spearman).

    ``group`` holds any integer ids; the output is ordered by sorted unique id. Groups with < 3
    samples or no dispersion give NaN.
    """
    g = np.unique(np.asarray(group), return_inverse=True)[1].ravel()
    x, y = np.asarray(pred, np.float64), np.asarray(label, np.float64)
    if rank:
        x, y = _group_ranks(x, g), _group_ranks(y, g)
    n = np.bincount(g).astype(float)
    sx, sy = np.bincount(g, x), np.bincount(g, y)
    sxx, syy, sxy = np.bincount(g, x * x), np.bincount(g, y * y), np.bincount(g, x * y)
    cov = sxy - sx * sy / n
    vx, vy = sxx - sx * sx / n, syy - sy * sy / n
    with np.errstate(invalid="ignore", divide="ignore"):
        ic = cov / np.sqrt(vx * vy)
    ic[(n < 3) | (vx <= 1e-12 * np.maximum(sxx, 1)) | (vy <= 1e-12 * np.maximum(syy, 1))] = np.nan
    return ic


# ---------------------------------------------------------------------------------------- split


@dataclass(frozen=True)
class DateSplit:
    """Inclusive date ranges; ``test`` may be None (fit only). Purged by ``gap`` trading days: train keeps
    i + gap < first valid index, valid keeps i + gap ≤ its last index (and < first test index)."""

    train: tuple
    valid: tuple
    test: tuple | None = None

    def masks(self, dates: pd.DatetimeIndex, gap: int) -> dict[str, np.ndarray]:
        """Bool masks over ``dates``; train and valid purged so that their labels end inside their own part."""
        dates = pd.DatetimeIndex(dates)

        def rng(pair, name):
            if pair is None:
                return None
            lo, hi = (pd.Timestamp(p) if p is not None else None for p in pair)
            lo = dates[0] if lo is None else lo
            hi = dates[-1] if hi is None else hi
            if lo > hi:
                raise ConfigError(f"split '{name}': start {lo:%Y-%m-%d} is after end {hi:%Y-%m-%d}")
            return (dates >= lo) & (dates <= hi)

        tr, va, te = rng(self.train, "train"), rng(self.valid, "valid"), rng(self.test, "test")
        idx = np.arange(len(dates))

        def first(m):
            return int(idx[m][0]) if m is not None and m.any() else None

        v0, t0 = first(va), first(te)
        for name, m in (("train", tr), ("valid", va)):
            if not m.any():
                raise ConfigError(f"split '{name}' {getattr(self, name)} holds no trading day of the data "
                                  f"({dates[0]:%Y-%m-%d} → {dates[-1]:%Y-%m-%d})")
        if te is not None and not te.any():
            raise ConfigError(f"split 'test' {self.test} holds no trading day of the data")
        if int(idx[tr][-1]) >= v0:
            raise ConfigError("split: train must end before valid starts")
        if t0 is not None and int(idx[va][-1]) >= t0:
            raise ConfigError("split: valid must end before test starts")
        tr = tr & (idx + gap < v0)
        va = va & (idx + gap <= int(idx[va][-1]))  # valid labels end inside valid (so before any test)
        if t0 is not None:
            va = va & (idx + gap < t0)
        out = {"train": tr, "valid": va}
        if te is not None:
            out["test"] = te
        for name in ("train", "valid"):
            if not out[name].any():
                raise ConfigError(f"split '{name}' is empty after purging {gap} days before the next part; "
                                  "make it longer")
        return out

    @classmethod
    def from_fractions(cls, dates: pd.DatetimeIndex, train: float = 0.6, valid: float = 0.2) -> DateSplit:
        """Split by fractions of ``dates``: first ``train``, next ``valid``, the rest test."""
        if not (0 < train < 1 and 0 < valid < 1 and train + valid < 1):
            raise ConfigError(f"split fractions train={train}, valid={valid}: need 0 < train, valid and train + valid < 1")
        n = len(dates)
        a, b = int(n * train), int(n * (train + valid))
        return cls((dates[0], dates[a - 1]), (dates[a], dates[b - 1]), (dates[b], dates[-1]))


# ---------------------------------------------------------------------------------------- helpers


def resolve_device(device: str) -> torch.device:
    """"auto" → CUDA when available, else CPU; "cpu"; "cuda" (error if absent)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but torch sees no CUDA device; use device='auto' or 'cpu'")
    if device != "cpu" and not device.startswith("cuda"):
        raise ConfigError(f"unknown device {device!r}; use 'auto', 'cpu' or 'cuda'")
    return torch.device(device)


@contextmanager
def _torch_settings(deterministic: bool, num_threads: int | None):
    """Deterministic algorithms and the intra-op thread count for the duration of a fit/predict."""
    prev_det, prev_thr = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    if deterministic != prev_det:
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
    if num_threads:
        torch.set_num_threads(int(num_threads))
    try:
        yield
    finally:
        if deterministic != prev_det:
            torch.use_deterministic_algorithms(prev_det)
        torch.set_num_threads(prev_thr)


def _date_groups(s: Samples) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique dates of sorted samples and [start, end) of each date's block."""
    d, starts = np.unique(s.date, return_index=True)
    ends = np.append(starts[1:], len(s))
    return d, starts, ends


def _pack(order: np.ndarray, sizes: np.ndarray, batch_size: int) -> list[np.ndarray]:
    """Split the date order into consecutive runs whose sample counts reach ``batch_size``."""
    csum = np.cumsum(sizes[order])
    cuts = [0]
    nxt = batch_size
    for k, c in enumerate(csum):  # loop over dates, O(dates)
        if c >= nxt:
            cuts.append(k + 1)
            nxt = c + batch_size
    if cuts[-1] != len(order):
        cuts.append(len(order))
    return [order[a:b] for a, b in zip(cuts[:-1], cuts[1:])]


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------- model


class StockModel:
    """An ensemble of AGRU (or GRU) regressors over stock windows; ``fit`` then ``predict``.

    Every hyper-parameter is an explicit keyword (defaults close to seed 000 / qlib's ALSTM setup):
    ``model`` "agru" | "gru"; ``hidden_size``, ``num_layers``, ``dropout``; ``lr``, ``weight_decay``,
    ``epochs`` (max), ``patience`` (early stopping on validation Rank IC), ``batch_size`` (minimum
    samples per batch, whole dates), ``grad_clip`` (max gradient norm, 0 = off);
    ``extreme_weight``/``base_weight``/``n_bins`` (loss; 1/1 = plain MSE); ``seeds`` (int n → 0..n−1,
    or a list); ``train_date_stride`` (train on every k-th date: adjacent windows overlap 39/40),
    ``valid_date_stride`` (early-stopping IC on every k-th validation date);
    ``device`` "auto" | "cpu" | "cuda"; ``num_threads`` (torch intra-op threads during fit/predict; None =
    torch's default; 1 is fastest for small models on a busy machine); ``precision`` "fp32" | "bf16"
    (bf16 matmuls, float32 states and gradients: faster where the CPU has AVX512-BF16 / AMX or on GPUs;
    ``tests/test_model_precision.py`` bounds the change in predictions); ``checkpoint_dir`` (resume from
    it); ``progress`` (rich bar per epoch with an ETA for the whole fit).

    ``history_`` holds per seed and epoch the losses, validation IC, ``seconds`` (wall time of the epoch,
    validation included) and ``peak_rss_mib`` (peak resident memory of the process so far, ``getrusage``)
    or, on CUDA, ``peak_cuda_mib`` (peak allocated during the epoch).
    """

    def __init__(self, *, model: str = "agru", hidden_size: int = 64, num_layers: int = 2, dropout: float = 0.0,
                 lr: float = 1e-3, weight_decay: float = 0.0, epochs: int = 50, patience: int = 5,
                 batch_size: int = 1024, grad_clip: float = 3.0, extreme_weight: float = 2.0,
                 base_weight: float = 1.0, n_bins: int = 10, seeds: int | list[int] = 5, train_date_stride: int = 1,
                 valid_date_stride: int = 1,
                 device: str = "auto", num_threads: int | None = None, precision: str = "fp32",
                 deterministic: bool = True,
                 checkpoint_dir: str | Path | None = None, progress: bool = True, predict_batch: int = 8192) -> None:
        if model not in MODELS:
            raise ConfigError(f"unknown model {model!r}; use one of {MODELS}")
        if epochs < 1 or patience < 1 or batch_size < 1 or train_date_stride < 1 or valid_date_stride < 1 or lr <= 0:
            raise ConfigError(f"bad training settings: epochs={epochs}, patience={patience}, batch_size={batch_size}, "
                              f"train_date_stride={train_date_stride}, valid_date_stride={valid_date_stride}, lr={lr}; "
                              "all must be positive")
        if precision not in PRECISIONS:
            raise ConfigError(f"precision={precision!r}; use one of {PRECISIONS}")
        seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
        if not seed_list:
            raise ConfigError("seeds: need at least one seed")
        self.params = dict(model=model, hidden_size=hidden_size, num_layers=num_layers, dropout=dropout, lr=lr,
                           weight_decay=weight_decay, epochs=epochs, patience=patience, batch_size=batch_size,
                           grad_clip=grad_clip, extreme_weight=extreme_weight, base_weight=base_weight,
                           n_bins=n_bins, seeds=seed_list, train_date_stride=train_date_stride,
                           valid_date_stride=valid_date_stride, precision=precision)
        self.device = resolve_device(device)
        self.deterministic = deterministic
        self.num_threads = num_threads
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.progress = progress
        self.predict_batch = int(predict_batch)
        self.states: dict[int, dict] = {}
        self.history_: pd.DataFrame | None = None
        self.lookback: int | None = None
        build_model(model, len(FEATURES), hidden_size=hidden_size, num_layers=num_layers, dropout=dropout)  # validate

    # ------------------------------------------------------------------ internals
    def _net(self):
        p = self.params
        mm = torch.bfloat16 if p.get("precision", "fp32") == "bf16" else None
        return build_model(p["model"], len(FEATURES), hidden_size=p["hidden_size"], num_layers=p["num_layers"],
                           dropout=p["dropout"], mm_dtype=mm)

    def _predict_samples(self, net, data: WindowDataset, s: Samples) -> np.ndarray:
        net.eval()
        out = np.empty(len(s), np.float32)
        with torch.inference_mode():
            for a in range(0, len(s), self.predict_batch):
                b = min(a + self.predict_batch, len(s))
                x = torch.from_numpy(data.windows(s.date[a:b], s.stock[a:b])).to(self.device)
                out[a:b] = net(x).float().cpu().numpy()
        return out

    def _fingerprint(self, data: WindowDataset, tr: Samples, va: Samples) -> str:
        same = {k: v for k, v in self.params.items() if k not in ("seeds", "epochs", "patience")}  # may be extended
        h = hashlib.sha256(json.dumps(same, sort_keys=True).encode())
        h.update(np.asarray([len(data.codes), len(data.dates), data.lookback, data.horizon]).tobytes())
        for s in (tr, va):
            h.update(s.date.tobytes())
            h.update(s.stock.tobytes())
            h.update(data.labels(s.date, s.stock).tobytes())
        return h.hexdigest()[:16]

    def _fit_seed(self, seed: int, data: WindowDataset, tr: Samples, va: Samples, bar, task,
                  total_task=None) -> pd.DataFrame:
        p = self.params
        ckpt = self.checkpoint_dir / f"seed{seed}.pt" if self.checkpoint_dir is not None else None
        fp = self._fingerprint(data, tr, va) if ckpt is not None else None
        torch.manual_seed(seed)
        net = self._net().to(self.device)
        opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        start, best, best_state, best_epoch, bad, hist = 0, -np.inf, None, -1, 0, []
        dates, starts, ends = _date_groups(tr)
        keep = np.arange(len(dates))[:: p["train_date_stride"]]
        sizes = ends - starts
        per_epoch = int(sizes[keep].sum())
        if ckpt is not None and ckpt.exists():
            c = torch.load(ckpt, map_location=self.device, weights_only=False)
            if c.get("fingerprint") != fp:
                raise EtfrotError(f"checkpoint {ckpt} was written for other data or settings; delete it or use "
                                  "another checkpoint_dir")
            net.load_state_dict(c["model"])
            opt.load_state_dict(c["optim"])
            torch.set_rng_state(c["torch_rng"])
            start, best, best_state, best_epoch, bad, hist = (c["epoch"], c["best"], c["best_state"], c["best_epoch"],
                                                              c["bad"], c["history"])
            if bar is not None:
                bar.update(total_task, total=bar.tasks[total_task].total - (p["epochs"] - start) * per_epoch * c["stopped"],
                           advance=start * per_epoch)
            if c["stopped"] or start >= p["epochs"]:  # finished: early-stopped, or trained to max epochs
                self.states[seed] = best_state
                return pd.DataFrame(hist).assign(best_epoch=best_epoch)
        va_y = data.labels(va.date, va.stock)
        for epoch in range(start, p["epochs"]):
            t_epoch = time.perf_counter()
            if self.device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(self.device)
            rng = np.random.default_rng([seed, epoch])
            batches = _pack(rng.permutation(keep), sizes, p["batch_size"])
            net.train()
            tot, cnt = 0.0, 0
            if bar is not None:
                bar.reset(task, total=len(batches), description=f"{p['model']} seed {seed} epoch {epoch + 1}/{p['epochs']}")
            for bd in batches:
                idx = np.concatenate([np.arange(starts[k], ends[k]) for k in bd])
                d, s = tr.date[idx], tr.stock[idx]
                x = torch.from_numpy(data.windows(d, s)).to(self.device)
                y = torch.from_numpy(data.labels(d, s)).to(self.device)
                g = torch.from_numpy(d.astype(np.int64)).to(self.device)
                loss = weighted_mse(net(x), y, g, extreme_weight=p["extreme_weight"], base_weight=p["base_weight"],
                                    n_bins=p["n_bins"])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if p["grad_clip"] > 0:
                    torch.nn.utils.clip_grad_norm_(net.parameters(), p["grad_clip"])
                opt.step()
                tot += loss.item() * len(idx)
                cnt += len(idx)
                if bar is not None:
                    bar.advance(task)
                    bar.advance(total_task, len(idx))
            pred = self._predict_samples(net, data, va)
            ric = float(np.nanmean(grouped_ic(pred, va_y, va.date, rank=True)))
            ic = float(np.nanmean(grouped_ic(pred, va_y, va.date, rank=False)))
            hist.append(dict(seed=seed, epoch=epoch + 1, train_loss=tot / max(cnt, 1),
                             valid_mse=float(np.mean((pred - va_y) ** 2)), valid_ic=ic, valid_rank_ic=ric,
                             seconds=time.perf_counter() - t_epoch, **_peak_memory(self.device)))
            if bar is not None:
                bar.console.print(f"{p['model']} seed {seed} epoch {epoch + 1}: train loss {tot / max(cnt, 1):.4f}, "
                                  f"valid Rank IC {ric:.4f}, IC {ic:.4f}, {hist[-1]['seconds']:.1f} s")
            if np.isfinite(ric) and ric > best:
                best, best_epoch, bad = ric, epoch + 1, 0
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})
            else:
                bad += 1
            stopped = bad >= p["patience"]
            done = stopped or epoch + 1 == p["epochs"]
            if best_state is None and done:  # validation IC never finite: keep the last weights
                best_state = copy.deepcopy({k: v.detach().cpu() for k, v in net.state_dict().items()})
            if ckpt is not None:
                _atomic_save(dict(fingerprint=fp, epoch=epoch + 1, model=net.state_dict(), optim=opt.state_dict(),
                                  torch_rng=torch.get_rng_state(), best=best, best_state=best_state,
                                  best_epoch=best_epoch, bad=bad, history=hist, stopped=stopped), ckpt)
            if done:
                if bar is not None:  # early stop: the epochs not run leave the overall ETA
                    bar.update(total_task, total=bar.tasks[total_task].total - (p["epochs"] - epoch - 1) * per_epoch)
                break
        self.states[seed] = best_state
        return pd.DataFrame(hist).assign(best_epoch=best_epoch)

    # ------------------------------------------------------------------ public API
    def fit(self, data: WindowDataset, train, valid, *, gap: int | None = None) -> StockModel:
        """Train every seed on dates in ``train`` (early stopping on ``valid``); ranges are (start, end) inclusive.

        ``gap`` (trading days, default = the label horizon, never less) purges the end of train before valid.
        The per-epoch history is in ``self.history_``.
        """
        gap = data.horizon if gap is None else int(gap)
        if gap < data.horizon:
            raise ConfigError(f"gap={gap} < label horizon {data.horizon}: training labels would overlap validation")
        m = DateSplit(tuple(train), tuple(valid)).masks(data.dates, gap)
        keep = np.zeros_like(m["valid"])
        keep[np.flatnonzero(m["valid"])[:: self.params["valid_date_stride"]]] = True
        tr, va = data.samples(m["train"]), data.samples(m["valid"] & keep)
        if len(tr) == 0 or len(va) == 0:
            raise ConfigError(f"no samples in the {'train' if len(tr) == 0 else 'valid'} period: stocks need a "
                              f"{data.lookback}-day window and a {data.horizon}-day label there")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        self.lookback = data.lookback
        hist = []
        with _torch_settings(self.deterministic and self.device.type == "cpu", self.num_threads):
            bar_ctx = _progress() if self.progress else nullcontext()
            with bar_ctx as bar:
                task = bar.add_task("training", total=1) if bar is not None else None
                total = None
                if bar is not None:
                    _, st, en = _date_groups(tr)
                    n = int((en - st)[:: self.params["train_date_stride"]].sum())
                    total = bar.add_task(f"all seeds ({len(self.params['seeds'])} × ≤ {self.params['epochs']} epochs)",
                                         total=n * self.params["epochs"] * len(self.params["seeds"]))
                for seed in self.params["seeds"]:
                    hist.append(self._fit_seed(seed, data, tr, va, bar, task, total))
        self.history_ = pd.concat(hist, ignore_index=True)
        return self

    def predict(self, data: WindowDataset, start=None, end=None, *, dates=None) -> pd.DataFrame:
        """Date × stock panel (float64, on ``data.dates`` ∩ [start, end], or only the trading days in
        ``dates`` — e.g. rebalance dates) of the seeds' mean prediction; NaN where the stock does not
        trade or lacks a full window."""
        if not self.states:
            raise EtfrotError("the model is not trained; call fit() or load() first")
        if self.lookback is not None and data.lookback != self.lookback:
            raise ConfigError(f"dataset lookback {data.lookback} differs from the trained model's {self.lookback}")
        lo = pd.Timestamp(start) if start is not None else data.dates[0]
        hi = pd.Timestamp(end) if end is not None else data.dates[-1]
        dm = (data.dates >= lo) & (data.dates <= hi)
        if dates is not None:
            dm &= data.dates.isin(pd.DatetimeIndex(dates))
        s = data.samples(dm, with_label=False)
        acc = np.zeros(len(s), np.float64)
        with _torch_settings(torch.are_deterministic_algorithms_enabled(), self.num_threads):
            for seed in self.params["seeds"]:
                net = self._net().to(self.device)
                net.load_state_dict(self.states[seed])
                acc += self._predict_samples(net, data, s)
        out = np.full((len(data.dates), len(data.codes)), np.nan)
        out[s.date, s.stock] = acc / len(self.params["seeds"])
        return pd.DataFrame(out[dm], index=data.dates[dm], columns=data.codes)

    def networks(self) -> list[torch.nn.Module]:
        """The trained networks (one per seed), in eval mode on CPU."""
        nets = []
        for seed in self.params["seeds"]:
            net = self._net()
            net.load_state_dict(self.states[seed])
            nets.append(net.eval())
        return nets

    def save(self, path: str | Path) -> Path:
        """Write ``path/model.pt`` (params, lookback, one state per seed, history)."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        _atomic_save(dict(params=self.params, lookback=self.lookback, states=self.states,
                          history=None if self.history_ is None else self.history_.to_dict("list")), path / "model.pt")
        return path / "model.pt"

    @classmethod
    def load(cls, path: str | Path, *, device: str = "auto", progress: bool = False,
             num_threads: int | None = None) -> StockModel:
        f = Path(path)
        f = f / "model.pt" if f.is_dir() else f
        if not f.exists():
            raise EtfrotError(f"no trained model at {f}; train one with `etfrot model train CONFIG`")
        c = torch.load(f, map_location="cpu", weights_only=False)
        m = cls(**c["params"], device=device, progress=progress, num_threads=num_threads)
        m.states, m.lookback = c["states"], c["lookback"]
        m.history_ = pd.DataFrame(c["history"]) if c["history"] is not None else None
        return m


def _progress():
    """Two bars: batches of the current epoch, and samples of the whole fit (all seeds × epochs) with its ETA."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn())


def _peak_memory(device: torch.device) -> dict:
    """Peak memory for the history: the process's peak RSS (ru_maxrss, KiB on Linux) and, on CUDA, the peak
    allocated since the epoch's ``reset_peak_memory_stats``; in MiB."""
    try:
        import resource

        out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    except ImportError:  # not a POSIX system
        out = {"peak_rss_mib": float("nan")}
    if device.type == "cuda":
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    return out


# ---------------------------------------------------------------------------------------- walk-forward


def walk_forward_folds(dates: pd.DatetimeIndex, *, test_start, test_end=None, valid_years: int = 1,
                       train_start=None, retrain: str = "yearly") -> list[tuple[str, tuple, tuple, tuple]]:
    """The folds of :func:`walk_forward`: [(label = test start, train, valid, test)], each an inclusive
    (start, end) pair (train start None = the first date); fold label ``YYYY-MM-DD``."""
    if retrain not in ("yearly", "once"):
        raise ConfigError(f"retrain={retrain!r}; use 'yearly' or 'once'")
    t0 = pd.Timestamp(test_start)
    t1 = pd.Timestamp(test_end) if test_end is not None else pd.Timestamp(dates[-1])
    if t0 > t1:
        raise ConfigError(f"walk-forward test_start {t0:%Y-%m-%d} is after test_end {t1:%Y-%m-%d}")
    starts = [t0]
    if retrain == "yearly":
        starts += [pd.Timestamp(year=y, month=1, day=1) for y in range(t0.year + 1, t1.year + 1)]
    folds = []
    for k, s in enumerate(starts):
        e = starts[k + 1] - pd.Timedelta(days=1) if k + 1 < len(starts) else t1
        v0 = s - pd.DateOffset(years=valid_years)
        folds.append((f"{s:%Y-%m-%d}", (train_start, v0 - pd.Timedelta(days=1)), (v0, s - pd.Timedelta(days=1)), (s, e)))
    return folds


def walk_forward_models(data: WindowDataset, *, test_start, test_end=None, valid_years: int = 1, train_start=None,
                        retrain: str = "yearly", gap: int | None = None, checkpoint_dir: str | Path | None = None,
                        dates=None, **model_kw) -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """:func:`walk_forward` that also returns the trained models, [(fold start, StockModel)]."""
    panels, hists, models = [], [], []
    for label, train, valid, (s, e) in walk_forward_folds(data.dates, test_start=test_start, test_end=test_end,
                                                          valid_years=valid_years, train_start=train_start,
                                                          retrain=retrain):
        ck = Path(checkpoint_dir) / f"fold{s:%Y%m%d}" if checkpoint_dir is not None else None
        m = StockModel(checkpoint_dir=ck, **model_kw)
        m.fit(data, train, valid, gap=gap)
        panels.append(m.predict(data, s, e, dates=dates))
        hists.append(m.history_.assign(fold=label))
        models.append((label, m))
    return pd.concat(panels).sort_index(), pd.concat(hists, ignore_index=True), models


def walk_forward(data: WindowDataset, *, test_start, test_end=None, valid_years: int = 1, train_start=None,
                 retrain: str = "yearly", gap: int | None = None, checkpoint_dir: str | Path | None = None,
                 dates=None, **model_kw) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-sample scores from ``test_start`` to ``test_end``: for each test year Y (``retrain="yearly"``)
    train on [train_start, Y − valid_years), validate on the ``valid_years`` before Y, predict Y.
    ``retrain="once"`` trains one model before ``test_start`` and predicts the whole range.
    ``dates``: predict only these days (e.g. rebalance dates). ``model_kw``: :class:`StockModel` keywords.

    Returns (date × stock score panel over the test range, training history with a ``fold`` column).
    """
    scores, hist, _ = walk_forward_models(data, test_start=test_start, test_end=test_end, valid_years=valid_years,
                                          train_start=train_start, retrain=retrain, gap=gap,
                                          checkpoint_dir=checkpoint_dir, dates=dates, **model_kw)
    return scores, hist
