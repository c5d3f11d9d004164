"""A report's figures to PNG, optionally shared with one helper process that draws at the same time.

Off unless ``ETFROT_REPORT_FORK`` is ``1`` or ``auto`` (:func:`can_fork`): measured on this project's shared
2-core machine, the helper made a build slower in wall time as well as in CPU time (the other core was busy with
other jobs); it is for an otherwise idle machine with cores to spare, where it has not been measured yet.

matplotlib draws in Python while holding the GIL (measured: two threads drawing the report's charts take as
long as one), so the figures are split between processes instead. The helper is forked once, the first time a
report with at least two figures is written (Linux, at least 2 CPUs available, no other Python thread running —
forking a threaded process can deadlock the child), and then waits for work, so later reports in the same
process (``etfrot demo``, a sweep) find it ready. For each report, :class:`FigureJobs` sends it the figure
*builders* — functions that make a figure from its data (``functools.partial(charts.nav_chart, nav)``), a few
hundred kB pickled — and both processes take the next figure from one shared counter until none is left. The
parent writes the tables meanwhile and then joins in, so the split balances itself; the helper sends back only
the PNG data URIs. A forked helper instead of one per report: a fork per report made both processes copy the
memory pages they touched while the child lived (+28 % CPU measured).

Figures given as ``Figure`` objects, builders that cannot be pickled, and — with 1 CPU, elsewhere, with other
threads, on a machine whose load leaves no CPU free (``auto``), when switched off, or when the helper fails —
every figure are drawn here, one after another; the output is the same either way (tests/test_report_render.py). The helper has matplotlib's settings
as they were when it was forked (the report's charts set their style per figure, not through rcParams).
"""

from __future__ import annotations

import os
import pickle
import sys
import threading

ENV = "ETFROT_REPORT_FORK"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _spare_cpu(cpus: int) -> bool:
    """Whether the last minute's load leaves a CPU for the helper besides this process (load average < CPUs − ½)."""
    try:
        return os.getloadavg()[0] < cpus - 0.5
    except OSError:
        return True


def can_fork(n_figures: int) -> bool:
    """Whether the helper process is used for ``n_figures`` figures (see the module doc). ``ETFROT_REPORT_FORK``:
    unset or ``0``: never (the default: on the shared 2-core machine it was measured slower than drawing here,
    see benchmarks/results/report.md); ``auto``: while the load average leaves a CPU free; ``1``: always. With
    the helper already running, other threads do not matter (it is not forked again)."""
    mode = os.environ.get(ENV, "0")
    cpus = _cpus()
    if n_figures < 2 or mode not in ("1", "auto") or not sys.platform.startswith("linux") or cpus < 2:
        return False
    if mode == "auto" and not _spare_cpu(cpus):
        return False
    return _HELPER.alive() or (hasattr(os, "fork") and threading.active_count() == 1)


def draw(fig) -> str:
    """:func:`etfrot.report.html.figure_png` of ``fig``, or of ``fig()`` where it is a function that builds one."""
    from etfrot.report.html import figure_png

    return figure_png(fig() if callable(fig) else fig)


def _take(counter, lock, n: int) -> int | None:
    with lock:
        k = counter.value
        counter.value = k + 1
    return k if k < n else None


def _helper_main(conn, counter, lock) -> None:
    """The helper's loop: receive (render function, builders) pickled, render the builders it takes from the
    counter, send back {position: data URI} (one that fails is left out: the parent draws it and sees the error)."""
    while True:
        try:
            job = conn.recv_bytes()
        except (EOFError, OSError):
            return
        done = {}
        try:
            render, builders = pickle.loads(job)
            while (k := _take(counter, lock, len(builders))) is not None:
                try:
                    done[k] = render(builders[k])
                except Exception:  # noqa: BLE001, S112 — left out: the parent draws it again and raises there
                    continue
        finally:
            conn.send(done)


class _Helper:
    """The one helper process of this process (forked on first use; a fork of this process gets its own)."""

    def __init__(self):
        self.proc = None
        self.owner = None

    def alive(self) -> bool:
        return self.proc is not None and self.owner == os.getpid() and self.proc.is_alive()

    def start(self) -> bool:
        if self.alive():
            return True
        import multiprocessing as mp

        ctx = mp.get_context("fork")
        self.counter, self.lock = ctx.RawValue("i", 0), ctx.Lock()
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_helper_main, args=(child, self.counter, self.lock), daemon=True,
                                name="etfrot-report-figures")
        self.owner = os.getpid()
        try:
            self.proc.start()
        except OSError:
            self.proc = None
            return False
        child.close()
        return True

    def stop(self) -> None:
        if self.proc is not None and self.owner == os.getpid():
            self.proc.terminate()
            self.proc.join()
        self.proc = None


_HELPER = _Helper()


class FigureJobs:
    """``FigureJobs(figs)`` hands the helper its share (if it is used); ``.results()`` → the data URIs, in the
    order of ``figs`` (strings in ``figs`` are passed through). Use it with ``with`` so that an unfinished job
    is collected (or the helper stopped) on the way out."""

    def __init__(self, figs: list, render=None):
        self._figs = list(figs)
        self._render = render or draw
        self._out: list = [f if isinstance(f, str) else None for f in self._figs]
        todo = [i for i, f in enumerate(self._figs) if not isinstance(f, str)]
        self._shared, self._local, self._pending = [], todo, False
        builders = [i for i in todo if callable(self._figs[i])]
        if can_fork(len(builders)):
            try:
                job = pickle.dumps((self._render, [self._figs[i] for i in builders]), protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 — a builder that cannot be pickled (any error): all drawn here
                job = None
            if job is not None and _HELPER.start():
                _HELPER.counter.value = 0
                _HELPER.conn.send_bytes(job)
                self._shared, self._pending = builders, True
                shared = set(builders)
                self._local = [i for i in todo if i not in shared]

    def _next_shared(self) -> int | None:
        k = _take(_HELPER.counter, _HELPER.lock, len(self._shared))
        return None if k is None else self._shared[k]

    def results(self) -> list[str]:
        """Draw this process's share, collect the helper's, and draw here any the helper did not deliver."""
        if self._pending:
            while (i := self._next_shared()) is not None:
                self._out[i] = self._render(self._figs[i])
            self._collect()
        for i in self._local:
            self._out[i] = self._render(self._figs[i])
        for i, uri in enumerate(self._out):
            if uri is None:
                self._out[i] = self._render(self._figs[i])
        return self._out

    def _collect(self) -> None:
        self._pending = False
        try:
            done = _HELPER.conn.recv()
        except (EOFError, OSError):  # the helper died: its figures are drawn here; a new one next time
            _HELPER.stop()
            return
        for k, uri in done.items():
            self._out[self._shared[k]] = uri

    def close(self) -> None:
        if self._pending:  # left early (an error): stop the others from starting, wait for the helper's answer
            _HELPER.counter.value = len(self._shared)
            self._collect()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
