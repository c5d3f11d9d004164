"""ETF universe: index universe, point-in-time ETF screening, clustering, SW level-1 mapping (SPEC §5)."""

from etfrot.universe.cluster import (
    HClust,
    KScan,
    gap_statistic,
    hierarchical,
    plot_dendrogram,
    plot_k_scan,
    representatives,
    return_matrix,
    scan_k,
)
from etfrot.universe.industry import etf_industries, industry_shares, industry_to_etfs, top_industries
from etfrot.universe.screen import CATEGORIES, ScreenResult, index_universe, screen_etfs, screen_tables

__all__ = [
    "CATEGORIES", "HClust", "KScan", "ScreenResult", "etf_industries", "gap_statistic", "hierarchical",
    "index_universe", "industry_shares", "industry_to_etfs", "plot_dendrogram", "plot_k_scan", "representatives",
    "return_matrix", "scan_k", "screen_etfs", "screen_tables", "top_industries",
]
