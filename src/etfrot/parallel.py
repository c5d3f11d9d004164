"""Independent tasks here, on a local process pool, or on a Ray cluster (SPEC §7: sweeps and model fits
"run in parallel locally, and on a Ray cluster where the user has one").

    results = run_tasks(fn, tasks, backend="process", jobs=2)      # [fn(t) for t in tasks], in task order
    results = run_tasks(fn, tasks, backend="ray", address="auto")  # the same, as Ray tasks

``fn`` must be a picklable module-level callable and every task a pure function of its argument, so
the results do not depend on the backend or on which worker ran what. Workers run one BLAS/torch
thread each (``threads`` for Ray tasks, which also reserve that many CPUs), so N workers use N cores.
A Ray task whose worker process dies (killed, out of memory, node lost) is retried ``max_retries``
times (Ray's ``max_retries``: system failures only; an exception raised by ``fn`` is not retried).

Bundles reach the workers as a :class:`BundleSource`: a path every node can read, or — ``ship`` —
the bundle's files put once into Ray's object store and written to a local folder (keyed by the
bundle's content hash) on each node that needs them.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from etfrot.errors import ConfigError, EtfrotError

BACKENDS = ("serial", "process", "ray")
MAX_RETRIES = 3


# --------------------------------------------------------------------------- workers
def one_thread_per_worker(n: int = 1) -> None:
    """Worker initializer: ``n`` BLAS/OpenMP (and torch) threads, so N workers use N·n cores instead of
    oversubscribing them (numpy's OpenBLAS and torch otherwise start one thread per core in each).
    The environment variables cover libraries a spawned worker imports later."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, leave the defaults
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def _call_threaded(fn: Callable, threads: int, task):
    """``fn(task)`` with ``threads`` BLAS/torch threads (what a Ray task with ``num_cpus=threads`` may use)."""
    one_thread_per_worker(threads)
    return fn(task)


def check_backend(backend: str, jobs: int = 1) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {BACKENDS}")
    if jobs < 1:
        raise ConfigError(f"jobs must be ≥ 1 (got {jobs})")


def _progress(enabled: bool, what: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    return Progress(TextColumn(f"[bold]{what}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled, transient=False)


def run_tasks(fn: Callable[[Any], Any], tasks: Sequence, *, backend: str = "serial", jobs: int = 1,
              progress: bool = False, what: str = "tasks", first_here: bool = False, threads: int = 1,
              address: str | None = None, max_retries: int = MAX_RETRIES) -> list:
    """``[fn(t) for t in tasks]`` (same order) on ``backend``: serial | process (``jobs`` local workers) | ray.

    ``first_here`` (process backend, ``fork`` start method): run the first task in this process before the
    pool starts, so the forked workers inherit what it cached (an opened bundle, factor panels) instead of
    each recomputing it. ``threads``: BLAS/torch threads per Ray task (its ``num_cpus``). ``address``: the
    Ray cluster (``auto``, ``HOST:6379``, ``ray://HOST:10001``; default ``RAY_ADDRESS``, else a local Ray).
    Exceptions raised by ``fn`` propagate (catch them inside ``fn`` to record them as data instead).
    """
    check_backend(backend, jobs)
    tasks = list(tasks)
    if not tasks:
        return []
    if backend == "ray":
        return _run_ray(fn, tasks, progress, what, threads, address, max_retries)
    if backend == "serial" or jobs == 1 or len(tasks) == 1:
        out = []
        with _progress(progress, what) as bar:
            t = bar.add_task(what, total=len(tasks))
            for task in tasks:
                out.append(fn(task))
                bar.advance(t)
        return out
    return _run_pool(fn, tasks, jobs, progress, what, first_here)


def _run_pool(fn, tasks, jobs, progress, what, first_here):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    outs: list = [None] * len(tasks)
    fork = "fork" in mp.get_all_start_methods() and sys.platform == "linux"
    ctx = mp.get_context("fork" if fork else "spawn")
    first = 1 if first_here and fork else 0
    with _progress(progress, what) as bar:
        t = bar.add_task(what, total=len(tasks))
        for i in range(first):
            outs[i] = fn(tasks[i])
            bar.advance(t)
        workers = min(jobs, len(tasks) - first, os.cpu_count() or jobs)
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=one_thread_per_worker) as pool:
            futs = {pool.submit(fn, task): i for i, task in enumerate(tasks) if i >= first}
            for f in as_completed(futs):
                outs[futs[f]] = f.result()
                bar.advance(t)
    return outs


# --------------------------------------------------------------------------- Ray
def import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("backend 'ray' needs Ray, which is not installed: pip install 'etfrot[ray]' "
                          "(or use the local backends: serial, process)") from None
    return ray


def init_ray(address: str | None = None):
    """Connect to ``address`` (or ``RAY_ADDRESS``, or a cluster started on this machine with ``ray start``),
    else start a local Ray; a no-op when Ray is already initialised (e.g. by the caller)."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init(address=address or os.environ.get("RAY_ADDRESS") or None, ignore_reinit_error=True,
                 log_to_driver=False)
    return ray


def _run_ray(fn, tasks, progress, what, threads, address, max_retries):
    ray = init_ray(address)
    remote = ray.remote(num_cpus=threads, max_retries=max_retries)(_call_threaded)
    fn_ref = ray.put(fn)  # shipped once, resolved by Ray in every task
    refs = [remote.remote(fn_ref, threads, t) for t in tasks]
    index = {r: i for i, r in enumerate(refs)}
    outs: list = [None] * len(refs)
    pending = list(refs)
    with _progress(progress, f"{what} (ray)") as bar:
        t = bar.add_task(what, total=len(refs))
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for r in done:
                try:
                    outs[index[r]] = ray.get(r)
                except ray.exceptions.RayTaskError as e:  # fn raised: re-raise its own exception
                    raise e.as_instanceof_cause() from None
                except ray.exceptions.RayError as e:
                    raise EtfrotError(f"Ray task {index[r]} of {len(refs)} ({what}) failed after {max_retries} "
                                      f"retries: {type(e).__name__}: {str(e).splitlines()[0]}") from None
                bar.advance(t)
    return outs


# --------------------------------------------------------------------------- bundles on workers
SHIP_DIR_ENV = "ETFROT_SHIP_DIR"


@dataclass(frozen=True)
class BundleSource:
    """Where a worker finds the bundle: ``path`` (readable on every node) or ``ref``, the bundle's files in
    Ray's object store (:func:`ship_bundle`), written once per node under ``$ETFROT_SHIP_DIR`` (default: the
    temp folder) / ``etfrot-bundles/<content hash>``."""

    path: str
    content_hash: str
    ref: Any = None

    def local_path(self) -> str:
        if self.ref is None:
            return self.path
        root = Path(os.environ.get(SHIP_DIR_ENV) or tempfile.gettempdir()) / "etfrot-bundles"
        target = root / self.content_hash
        if (target / "manifest.json").exists():
            return str(target)
        import ray

        files: dict[str, bytes] = ray.get(self.ref)
        tmp = root / f".{self.content_hash}.{uuid.uuid4().hex[:8]}"
        for rel, data in files.items():
            f = tmp / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(data)
        try:
            os.replace(tmp, target)  # atomic; another worker on this node may have won the race
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (target / "manifest.json").exists():
                raise
        return str(target)


def bundle_files(path: str | Path) -> dict[str, bytes]:
    """The files a bundle is made of ({relative path: bytes}): manifest.json and its data folder."""
    import json

    p = Path(path)
    m = json.loads((p / "manifest.json").read_text())
    files = {"manifest.json": (p / "manifest.json").read_bytes()}
    for f in sorted((p / m["data_dir"]).rglob("*")):
        if f.is_file():
            files[str(f.relative_to(p))] = f.read_bytes()
    return files


def bundle_source(bundle, *, ship: bool = False, address: str | None = None) -> BundleSource:
    """The :class:`BundleSource` of an opened bundle: its absolute path, or (``ship``) its files put into
    Ray's object store once (Ray is initialised here if needed)."""
    path = str(Path(bundle.path).resolve())
    if not ship:
        return BundleSource(path, bundle.content_hash)
    ray = init_ray(address)
    return BundleSource(path, bundle.content_hash, ray.put(bundle_files(path)))


_BUNDLES: dict[str, Any] = {}


def open_bundle_cached(path) -> Any:
    """Open a bundle once per process (workers reuse it across their tasks)."""
    from etfrot.data import Bundle

    key = str(Path(path).resolve())
    if key not in _BUNDLES:
        _BUNDLES[key] = Bundle.open(key)
    return _BUNDLES[key]
