"""Data: the bundle format, its schema and validation, the calendar, point-in-time access, sources."""

from etfrot.data.bundle import Bundle, write_bundle
from etfrot.data.calendar import rebalance_dates

__all__ = ["Bundle", "write_bundle", "rebalance_dates"]
