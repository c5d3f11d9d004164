"""ETF universe: index universe, point-in-time ETF screening, clustering, SW level-1 mapping (SPEC §5)."""

from etfrot.universe.screen import CATEGORIES, ScreenResult, index_universe, screen_etfs, screen_tables

__all__ = ["CATEGORIES", "ScreenResult", "index_universe", "screen_etfs", "screen_tables"]
