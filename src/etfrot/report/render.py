"""A report's figures to PNG, shared with one forked helper process where that can run them at the same time.

matplotlib draws in Python while holding the GIL (measured: two threads drawing the report's charts take as
long as one), so the figures are split between processes instead: :class:`FigureJobs` forks one child
(Linux, at least 2 CPUs available, no other Python thread running — forking a threaded process can deadlock
the child), and both processes take the next figure from one shared counter until none is left. The parent
writes the tables meanwhile and then joins in, so the split balances itself. The child inherits the figures
(copy-on-write: nothing is pickled) and sends back only the PNG data URIs. With 1 CPU, elsewhere, with other
threads, with ``ETFROT_REPORT_FORK=0``, or if the child fails, every figure is drawn here, one after another;
the output is the same either way (checked in tests/test_report_render.py). A figure may also be given as a
function that builds it (``functools.partial(charts.nav_chart, nav)``): then building it is shared out too.
"""

from __future__ import annotations

import gc
import os
import sys
import threading

ENV = "ETFROT_REPORT_FORK"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def can_fork(n_figures: int) -> bool:
    """Whether a helper process is used for ``n_figures`` figures (see the module doc)."""
    return (n_figures >= 2 and os.environ.get(ENV, "1") != "0" and sys.platform.startswith("linux")
            and hasattr(os, "fork") and threading.active_count() == 1 and _cpus() >= 2)


def draw(fig) -> str:
    """:func:`etfrot.report.html.figure_png` of ``fig``, or of ``fig()`` where it is a function that builds one."""
    from etfrot.report.html import figure_png

    return figure_png(fig() if callable(fig) else fig)


class FigureJobs:
    """``FigureJobs(figs)`` starts the helper (if any); ``.results()`` → the data URIs, in the order of ``figs``
    (strings in ``figs`` are passed through). Call ``.close()`` (or use ``with``) to stop an unfinished helper."""

    def __init__(self, figs: list, render=None):
        self._figs = list(figs)
        self._render = render or draw
        self._todo = [i for i, f in enumerate(self._figs) if not isinstance(f, str)]
        self._out: list = [f if isinstance(f, str) else None for f in self._figs]
        self._child = None
        self._froze = False
        self._local = 0
        if can_fork(len(self._todo)):
            import multiprocessing as mp

            ctx = mp.get_context("fork")
            self._next = ctx.RawValue("i", 0)
            self._lock = ctx.Lock()
            self._recv, send = ctx.Pipe(duplex=False)
            self._child = ctx.Process(target=self._child_main, args=(send,), daemon=True)
            # while the helper lives, the objects made so far are out of the collector's reach: a full collection in
            # either process would write to every one of them and so copy all their pages (copy-on-write)
            self._froze = gc.get_freeze_count() == 0  # someone else's freeze is left as it is
            if self._froze:
                gc.freeze()
            try:
                self._child.start()
            except BaseException:
                self._unfreeze()
                raise
            send.close()

    def _take(self) -> int | None:
        """The next figure to draw (its position in ``figs``), or None when all are taken."""
        if self._child is None:
            k, self._local = self._local, self._local + 1
        else:
            with self._lock:
                k = self._next.value
                self._next.value = k + 1
        return self._todo[k] if k < len(self._todo) else None

    def _child_main(self, send) -> None:
        done = {}
        try:
            while (i := self._take()) is not None:
                done[i] = self._render(self._figs[i])
        finally:  # what was drawn goes back even if a figure failed; the parent draws the rest
            send.send(done)
            send.close()

    def results(self) -> list[str]:
        """Draw the figures not yet taken, collect the helper's, and draw here any the helper did not deliver."""
        while (i := self._take()) is not None:
            self._out[i] = self._render(self._figs[i])
        if self._child is not None:
            try:
                done = self._recv.recv()
            except (EOFError, OSError):  # the helper died: its figures are drawn below
                done = {}
            self._child.join()
            self._child = None
            self._unfreeze()
            for i, uri in done.items():
                self._out[i] = uri
        for i, uri in enumerate(self._out):
            if uri is None:
                self._out[i] = self._render(self._figs[i])
        return self._out

    def close(self) -> None:
        if self._child is not None:
            if self._child.is_alive():
                self._child.terminate()
            self._child.join()
            self._child = None
            self._unfreeze()

    def _unfreeze(self) -> None:
        if self._froze:
            gc.unfreeze()
            self._froze = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
