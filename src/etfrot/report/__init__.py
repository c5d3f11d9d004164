"""Reports: self-contained HTML (charts embedded as base64 PNG) plus CSV/JSON of every table."""

from etfrot.report.html import Section, write_report

__all__ = ["Section", "write_report"]
