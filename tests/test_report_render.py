"""A report's figures drawn by this process and a forked helper (etfrot.report.render): the same output, in
order, whether the helper is used, switched off, or fails."""

from __future__ import annotations

import gc
import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from etfrot.report import charts
from etfrot.report import render as rd
from etfrot.report.html import figure_png

PARENT = os.getpid()


def _tagged(x):
    """x's square and the process that computed it (slow enough that both processes take some)."""
    time.sleep(0.05)
    return (x * x, os.getpid())


def _fails_in_child(x):
    if os.getpid() != PARENT:
        raise RuntimeError("helper failure")
    return (x * x, os.getpid())


fork_here = pytest.mark.skipif(not rd.can_fork(2), reason="no forked helper here (not Linux, 1 CPU, or threads)")


@fork_here
def test_helper_and_parent_share_the_work_in_order():
    with rd.FigureJobs(list(range(12)), render=_tagged) as jobs:
        out = jobs.results()
    assert [v for v, _ in out] == [x * x for x in range(12)]
    pids = {p for _, p in out}
    assert PARENT in pids and len(pids) == 2
    assert gc.get_freeze_count() == 0  # the objects frozen while the helper ran are back with the collector


@fork_here
def test_a_failing_helper_leaves_nothing_undrawn():
    with rd.FigureJobs(list(range(6)), render=_fails_in_child) as jobs:
        out = jobs.results()
    assert out == [(x * x, PARENT) for x in range(6)]


def test_switched_off_or_with_threads_everything_is_drawn_here(monkeypatch):
    monkeypatch.setenv(rd.ENV, "0")
    assert not rd.can_fork(10)
    assert rd.FigureJobs([1, 2, 3], render=_tagged).results() == [(1, PARENT), (4, PARENT), (9, PARENT)]
    monkeypatch.delenv(rd.ENV)
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not rd.can_fork(10)
    finally:
        stop.set()
        t.join()


def test_strings_pass_through():
    assert rd.FigureJobs(["data:a", 3, "data:b"], render=lambda x: f"drawn {x}").results() == ["data:a", "drawn 3", "data:b"]


def test_figures_come_back_byte_for_byte_as_drawn_alone(monkeypatch):
    idx = pd.bdate_range("2020-01-01", periods=200)

    def figs():
        return [charts.nav_chart(pd.Series(np.linspace(1, 1 + k / 10, 200), index=idx), synthetic=True) for k in range(4)]

    alone = [figure_png(f) for f in figs()]
    assert rd.FigureJobs(figs()).results() == alone
    monkeypatch.setenv(rd.ENV, "0")
    assert rd.FigureJobs(figs()).results() == alone
