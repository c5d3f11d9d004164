"""A report's figures drawn by this process and the helper process (etfrot.report.render): the same output, in
order, whether the helper is used, switched off, or fails; the helper stays up for the next report."""

from __future__ import annotations

import os
import threading
import time
from functools import partial

import numpy as np
import pandas as pd
import pytest

from etfrot.report import charts
from etfrot.report import render as rd
from etfrot.report.html import figure_png

PARENT = os.getpid()


def _square(x):
    return x * x


def _tagged(builder):
    """The builder's value and the process that computed it (slow enough that both processes take some)."""
    time.sleep(0.05)
    return (builder(), os.getpid())


def _fails_in_helper(builder):
    if os.getpid() != PARENT:
        raise RuntimeError("helper failure")
    return (builder(), os.getpid())


def _builders(n):
    return [partial(_square, x) for x in range(n)]


fork_here = pytest.mark.skipif(not rd.sys.platform.startswith("linux") or rd._cpus() < 2,
                               reason="no helper process here (not Linux, or 1 CPU)")


@pytest.fixture(autouse=True)
def _helper_whatever_the_load(monkeypatch):
    monkeypatch.setenv(rd.ENV, "1")  # the tests must not depend on the machine's load


@fork_here
def test_helper_and_parent_share_the_work_in_order_and_the_helper_stays():
    with rd.FigureJobs(_builders(12), render=_tagged) as jobs:
        out = jobs.results()
    assert [v for v, _ in out] == [x * x for x in range(12)]
    pids = {p for _, p in out}
    assert PARENT in pids and len(pids) == 2
    helper = (pids - {PARENT}).pop()
    with rd.FigureJobs(_builders(12), render=_tagged) as jobs:
        again = jobs.results()
    assert {p for _, p in again} <= {PARENT, helper}  # the same helper, not a new one


@fork_here
def test_a_failing_helper_leaves_nothing_undrawn():
    with rd.FigureJobs(_builders(6), render=_fails_in_helper) as jobs:
        out = jobs.results()
    assert out == [(x * x, PARENT) for x in range(6)]


@fork_here
def test_a_killed_helper_is_replaced_and_nothing_is_lost():
    rd.FigureJobs(_builders(4), render=_tagged).results()  # the helper is up
    rd._HELPER.proc.kill()
    rd._HELPER.proc.join()
    out = rd.FigureJobs(_builders(6), render=_tagged).results()
    assert [v for v, _ in out] == [x * x for x in range(6)]
    assert rd._HELPER.proc is None or rd._HELPER.alive()


def test_switched_off_busy_or_unpicklable_is_drawn_here(monkeypatch):
    for off in ("0", None):  # None: unset, the default
        if off is None:
            monkeypatch.delenv(rd.ENV)
        else:
            monkeypatch.setenv(rd.ENV, off)
        assert not rd.can_fork(10)
        assert rd.FigureJobs(_builders(3), render=_tagged).results() == [(0, PARENT), (1, PARENT), (4, PARENT)]
    monkeypatch.setenv(rd.ENV, "auto")
    monkeypatch.setattr(rd.os, "getloadavg", lambda: (rd._cpus() - 0.4, 0.0, 0.0))  # no CPU left over
    assert not rd.can_fork(10)
    monkeypatch.setattr(rd.os, "getloadavg", lambda: (0.1, 0.0, 0.0))
    assert rd.can_fork(10) is (rd.sys.platform.startswith("linux") and rd._cpus() >= 2)
    monkeypatch.setenv(rd.ENV, "1")
    local = [lambda: 7, lambda: 8]  # lambdas cannot be pickled
    assert rd.FigureJobs(local, render=_tagged).results() == [(7, PARENT), (8, PARENT)]


def test_no_helper_is_forked_while_another_thread_runs():
    rd._HELPER.stop()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not rd.can_fork(10)
    finally:
        stop.set()
        t.join()


def test_strings_pass_through():
    assert rd.FigureJobs(["data:a", partial(_square, 3), "data:b"], render=lambda b: f"drawn {b()}").results() == [
        "data:a", "drawn 9", "data:b"]


def test_figures_come_back_byte_for_byte_as_drawn_alone(monkeypatch):
    idx = pd.bdate_range("2020-01-01", periods=200)
    navs = [pd.Series(np.linspace(1, 1 + k / 10, 200), index=idx) for k in range(4)]
    alone = [figure_png(charts.nav_chart(s, synthetic=True)) for s in navs]
    assert rd.FigureJobs([partial(charts.nav_chart, s, synthetic=True) for s in navs]).results() == alone
    assert rd.FigureJobs([charts.nav_chart(s, synthetic=True) for s in navs]).results() == alone  # Figure objects
    monkeypatch.setenv(rd.ENV, "0")
    assert rd.FigureJobs([partial(charts.nav_chart, s, synthetic=True) for s in navs]).results() == alone
