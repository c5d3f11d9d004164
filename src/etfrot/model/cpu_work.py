"""CPU execution helpers of the fused GRU encoder (:mod:`etfrot.model.gru_layer`): reused work buffers and a
batch split over single-threaded worker threads.

* :class:`BufferPool`: per-thread free lists of large CPU buffers. A fresh large allocation is mmap'd and
  page-faulted on first touch (a 61 MB buffer: 35 ms measured on this project's Xeon, more than the GEMM that
  fills it); reusing them removes that cost. Keyed by (shape, dtype, inference mode), at most ``cap`` bytes.
* :func:`run_parallel`: with n > 1 intra-op threads, run a function over n batch chunks in n workers that each
  use one thread — one join per call instead of an OpenMP team per elementwise op (on a loaded machine every
  team waits for descheduled threads). The caller's grad / inference mode holds in the workers.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import torch

MIN_CHUNK = 256  # samples per worker thread at the least


class BufferPool:
    """Per-thread free lists of CPU work buffers (≥ 1 MiB) keyed by (shape, dtype, inference mode)."""

    def __init__(self, cap: int = 2**30) -> None:
        self.cap, self.local = cap, threading.local()

    def _free(self) -> dict:
        if not hasattr(self.local, "free"):
            self.local.free = {}
        return self.local.free

    def take(self, shape, dtype, device) -> torch.Tensor:
        """A buffer of that shape (contents undefined): a pooled one on CPU when free, else a new one."""
        if device.type == "cpu":
            lst = self._free().get((tuple(shape), dtype, torch.is_inference_mode_enabled()))
            if lst:
                return lst.pop()
        return torch.empty(shape, dtype=dtype, device=device)

    def give(self, *ts) -> None:
        """Hand buffers back (nothing else may still use them); the pool empties when over ``cap`` bytes."""
        free = self._free()
        for t in ts:
            if t is not None and t.device.type == "cpu" and t.numel() * t.element_size() >= 2**20:
                free.setdefault((tuple(t.shape), t.dtype, t.is_inference()), []).append(t)
        if sum(t.numel() * t.element_size() for lst in free.values() for t in lst) > self.cap:
            free.clear()


POOL = BufferPool()


def _single_thread() -> None:
    torch.set_num_threads(1)  # this worker's own OpenMP / MKL setting (both are per thread)


_EXECUTORS: dict[int, ThreadPoolExecutor] = {}
if hasattr(os, "register_at_fork"):  # a forked child has none of the parent's worker threads: start afresh
    os.register_at_fork(after_in_child=_EXECUTORS.clear)


def run_parallel(n: int, fn, items: list) -> list:
    """[fn(item) for item in items], in n single-threaded workers when n > 1."""
    if n == 1:
        return [fn(it) for it in items]
    ex = _EXECUTORS.get(n)
    if ex is None:
        ex = _EXECUTORS[n] = ThreadPoolExecutor(n, thread_name_prefix="etfrot-gru", initializer=_single_thread)
    inf = torch.is_inference_mode_enabled()
    grad = torch.is_grad_enabled()

    def run(it):
        with torch.inference_mode() if inf else torch.set_grad_enabled(grad):
            return fn(it)

    return list(ex.map(run, items))
