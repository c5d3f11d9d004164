"""etfrot — ETF rotation on China's A-share market.

Data flows one way: sources → bundle → panels → factors → scores → selection → weights →
backtest → report. See README.md for the tour.
"""

__version__ = "0.1.0"
