"""Model fits as independent tasks (SPEC §7: "model fits (seeds, models, walk-forward years)" run in
parallel locally and on a Ray cluster).

A training run is the list of :class:`FitTask` — one per (model variant, fold, seed) — each a pure
function of its settings and the bundle: open the bundle (a shared path, or the copy shipped through
Ray's object store), build the window dataset (cached per process), train one seed of
:class:`~etfrot.model.train.StockModel` on the fold's train/valid ranges. Results are merged in task
order, not completion order: per (variant, fold) one model holding every seed's best weights and the
seeds' histories in seed order, which then predicts the fold's test range here. A seed's fit depends
only on its seed (``torch.manual_seed`` and epoch shuffles from ``(seed, epoch)``, deterministic CPU
kernels), so the merged model equals the one ``StockModel(seeds=[…]).fit`` trains in one process —
bit for bit when both use the same torch thread count (``model.num_threads``; workers default to 1).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from etfrot.errors import ConfigError
from etfrot.model.config import ModelConfig, SplitConfig, WindowConfig
from etfrot.parallel import (
    BundleSource,
    bundle_source,
    check_backend,
    open_bundle_cached,
    run_tasks,
)


@dataclass(frozen=True)
class Fold:
    """One training split: ``label`` ("fixed" or the test start ``YYYY-MM-DD``), inclusive (start, end) ranges."""

    label: str
    train: tuple
    valid: tuple
    test: tuple


@dataclass(frozen=True)
class FitTask:
    """One seed of one model variant on one fold."""

    variant: str
    model: ModelConfig
    window: WindowConfig
    fold: Fold
    seed: int
    gap: int | None
    bundle: BundleSource
    checkpoint_dir: str | None = None
    progress: bool = False


@dataclass
class FitResult:
    """What a :class:`FitTask` returns: the seed's best weights, its per-epoch history, where it ran."""

    variant: str
    fold: str
    seed: int
    state: dict
    history: pd.DataFrame
    lookback: int
    seconds: float
    pid: int


def plan_folds(dates: pd.DatetimeIndex, split: SplitConfig) -> list[Fold]:
    """The folds of ``split`` over the dataset's ``dates`` (fixed: one; walk-forward: one per test year)."""
    from etfrot.model.pipeline import default_test_start
    from etfrot.model.train import DateSplit, walk_forward_folds

    d = pd.DatetimeIndex(dates)
    if split.scheme == "fixed":
        if split.train_end is not None:
            tr_end, va_end = pd.Timestamp(split.train_end), pd.Timestamp(split.valid_end)
            te_end = pd.Timestamp(split.test_end) if split.test_end else d[-1]
            s = DateSplit((split.train_start, tr_end), (tr_end + pd.Timedelta(days=1), va_end),
                          (va_end + pd.Timedelta(days=1), te_end))
        else:
            s = DateSplit.from_fractions(d, split.train_frac, split.valid_frac)
        return [Fold("fixed", tuple(s.train), tuple(s.valid), (pd.Timestamp(s.test[0]), pd.Timestamp(s.test[1])))]
    t0 = pd.Timestamp(split.test_start) if split.test_start else default_test_start(d, split)
    t1 = pd.Timestamp(split.test_end) if split.test_end else d[-1]
    return [Fold(*f) for f in walk_forward_folds(d, test_start=t0, test_end=t1, valid_years=split.valid_years,
                                                 train_start=split.train_start, retrain=split.retrain)]


def seeds_of(m: ModelConfig) -> list[int]:
    return list(range(m.seeds)) if isinstance(m.seeds, int) else [int(s) for s in m.seeds]


def fold_checkpoint(root: str | Path | None, fold: Fold) -> str | None:
    """Checkpoint folder of a fold: ``root`` (fixed) or ``root/fold<YYYYMMDD>`` (walk-forward)."""
    if root is None:
        return None
    return str(Path(root)) if fold.label == "fixed" else str(Path(root) / f"fold{pd.Timestamp(fold.test[0]):%Y%m%d}")


# --------------------------------------------------------------------------- one task
_DATASETS: dict[tuple, object] = {}


def _window_key(path: str, w: WindowConfig) -> tuple:
    return str(Path(path).resolve()), json.dumps(w.model_dump(mode="json"), sort_keys=True)


def dataset_for(source: BundleSource, w: WindowConfig):
    """The window dataset of a bundle, built once per process (keyed by the folder read and the window)."""
    from etfrot.model.dataset import WindowDataset

    path = source.local_path()  # a shipped bundle: this node's copy, written on first use
    key = _window_key(path, w)
    if key not in _DATASETS:
        b = open_bundle_cached(path)
        _DATASETS[key] = WindowDataset.from_bundle(b, lookback=w.lookback, horizon=w.horizon, start=w.start,
                                                   end=w.end, min_stocks=w.min_stocks, pool=w.pool,
                                                   **w.dataset_kwargs())
    return _DATASETS[key]


def fit_task(task: FitTask) -> FitResult:
    """Train one seed of ``task.variant`` on ``task.fold`` (a pure function of the task)."""
    from etfrot.model.train import StockModel

    t0 = time.perf_counter()
    ds = dataset_for(task.bundle, task.window)
    kw = dict(task.model.kwargs(), seeds=[task.seed], progress=task.progress)
    m = StockModel(**kw, checkpoint_dir=task.checkpoint_dir).fit(ds, task.fold.train, task.fold.valid, gap=task.gap)
    return FitResult(task.variant, task.fold.label, task.seed, m.states[task.seed], m.history_, m.lookback,
                     time.perf_counter() - t0, os.getpid())


def merge_seeds(model: ModelConfig, results: list[FitResult]):
    """One :class:`StockModel` from its seeds' results (ordered by the model's seed list)."""
    from etfrot.model.train import StockModel

    by_seed = {r.seed: r for r in results}
    seeds = seeds_of(model)
    missing = [s for s in seeds if s not in by_seed]
    if missing:
        raise ConfigError(f"model fits: no result for seeds {missing}")
    m = StockModel(**dict(model.kwargs(), progress=False))
    m.states = {s: by_seed[s].state for s in seeds}
    m.history_ = pd.concat([by_seed[s].history for s in seeds], ignore_index=True)
    m.lookback = by_seed[seeds[0]].lookback
    return m


# --------------------------------------------------------------------------- a training run
def fit_variants(bundle, models: Mapping[str, ModelConfig], window: WindowConfig, split: SplitConfig, *,
                 dates=None, dataset=None, checkpoint_dirs: Mapping[str, str | Path | None] | None = None,
                 backend: str = "serial", jobs: int = 1, ship_bundle: bool = False, address: str | None = None,
                 progress: bool = True) -> dict:
    """Fit every model variant on every fold of ``split`` and predict its test range: {variant: StockFactorRun}.

    All (variant, fold, seed) fits run as one list of tasks on ``backend`` (serial | process with ``jobs``
    workers | ray, see :func:`etfrot.parallel.run_tasks`); ``ship_bundle`` (ray) sends the bundle through
    the object store instead of reading ``bundle.path`` on every node. ``checkpoint_dirs``: per variant
    (walk-forward folds in ``fold<YYYYMMDD>`` below it), as :class:`StockModel` ``checkpoint_dir``; none with
    ``ship_bundle``, which assumes the nodes share no filesystem.
    """
    check_backend(backend, jobs)
    if ship_bundle and backend != "ray":
        raise ConfigError("ship_bundle (--ship-bundle) needs backend 'ray'; local workers read the bundle's path")
    src = bundle_source(bundle, ship=ship_bundle, address=address)
    if ship_bundle:
        checkpoint_dirs = None
    key = _window_key(src.path, window)
    cached = key in _DATASETS
    ds = dataset if dataset is not None else dataset_for(BundleSource(src.path, src.content_hash), window)
    _DATASETS[key] = ds  # in-process and forked workers reuse it
    try:
        return _fit_all(ds, models, window, split, src, dates, checkpoint_dirs, backend, jobs, address, progress)
    finally:
        if not cached:  # do not keep a large dataset alive in this process after the run
            _DATASETS.pop(key, None)


def _fit_all(ds, models, window, split, src, dates, checkpoint_dirs, backend, jobs, address, progress) -> dict:
    here = backend == "serial" or (backend == "process" and jobs == 1)
    tasks = plan_fits(models, window, split, ds.dates, src, checkpoint_dirs=checkpoint_dirs, progress=progress and here)
    threads = max({m.num_threads or 1 for m in models.values()})
    if backend == "process" and jobs > 1:
        preload_torch()
    results = run_tasks(fit_task, tasks, backend=backend, jobs=jobs, progress=progress and not here,
                        what="model fits", threads=threads, address=address)
    return merge_fits(models, tasks, results, ds, dates)


def preload_torch() -> None:
    """Import here what a fit's first optimizer step imports lazily (``torch._dynamo``: ~800 modules, a few
    seconds), so forked pool workers share it instead of each importing it again."""
    try:
        import torch._dynamo  # noqa: F401
    except ImportError:  # older or trimmed torch builds: nothing to share
        pass


def plan_fits(models: Mapping[str, ModelConfig], window: WindowConfig, split: SplitConfig, dates: pd.DatetimeIndex,
              source: BundleSource, *, checkpoint_dirs: Mapping[str, str | Path | None] | None = None,
              progress: bool = False) -> list[FitTask]:
    """The fits of a training run, variant-major then fold then seed: one :class:`FitTask` each."""
    folds = plan_folds(dates, split)
    ck = dict(checkpoint_dirs or {})
    return [FitTask(v, m, window, f, seed, split.gap, source, fold_checkpoint(ck.get(v), f), progress)
            for v, m in models.items() for f in folds for seed in seeds_of(m)]


def merge_fits(models: Mapping[str, ModelConfig], tasks: list[FitTask], results: list[FitResult], ds,
               dates=None) -> dict:
    """{variant: StockFactorRun} from the tasks' results (in task order): per fold one model of all its
    seeds, which predicts the fold's test range (only ``dates`` in it, if given) on ``ds``."""
    from etfrot.model.pipeline import StockFactorRun

    if len(results) != len(tasks):
        raise ConfigError(f"model fits: {len(results)} results for {len(tasks)} tasks")
    runs = {}
    for v, mc in models.items():
        folds = list(dict.fromkeys(t.fold for t in tasks if t.variant == v))
        panels, hists, fitted = [], [], []
        for f in folds:
            m = merge_seeds(mc, [r for t, r in zip(tasks, results) if t.variant == v and t.fold == f])
            panels.append(m.predict(ds, f.test[0], f.test[1], dates=dates))
            hists.append(m.history_.assign(fold=f.label))
            fitted.append((f.label, m))
        scores = panels[0] if len(panels) == 1 else pd.concat(panels).sort_index()
        runs[v] = StockFactorRun(scores, pd.concat(hists, ignore_index=True), pd.Timestamp(folds[0].test[0]),
                                 pd.Timestamp(folds[-1].test[1]), fitted, ds)
    return runs
