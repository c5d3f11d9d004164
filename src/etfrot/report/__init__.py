"""Reports: self-contained HTML (charts embedded as base64 PNG) plus CSV/JSON of every table.

``write_report`` renders :class:`Section` s; :mod:`etfrot.report.charts` has one function per figure;
``backtest_sections(result)`` gives the standard sections of a backtest for strategies to compose.
"""

from etfrot.report.html import Section, write_report


def backtest_sections(result, **kwargs):
    """See :func:`etfrot.report.sections.backtest_sections` (imported lazily: it pulls in matplotlib)."""
    from etfrot.report.sections import backtest_sections as _bs

    return _bs(result, **kwargs)


__all__ = ["Section", "backtest_sections", "write_report"]
