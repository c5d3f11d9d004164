"""Command line: thin wrappers that parse, call the Python API and print with Rich.

Each command group lives in its own module and registers on :mod:`etfrot.cli.app`.
"""

from __future__ import annotations

import sys

from etfrot.cli import data  # noqa: F401  (registers commands)
from etfrot.cli import sweep  # noqa: F401
from etfrot.cli import backtest  # noqa: F401
from etfrot.cli import universe  # noqa: F401
from etfrot.cli import factor  # noqa: F401
from etfrot.cli import run  # noqa: F401
from etfrot.cli import model  # noqa: F401
from etfrot.cli import realdata  # noqa: F401
from etfrot.cli.app import app


def main() -> None:
    """Entry point: run the app; etfrot errors print as one readable message, exit code 2."""
    from rich.console import Console

    from etfrot.errors import EtfrotError

    try:
        app()
    except EtfrotError as e:
        Console(stderr=True, soft_wrap=True).print(f"[bold red]error:[/] {_escape(e)}")
        sys.exit(2)


def _escape(e: Exception) -> str:
    from rich.markup import escape

    return escape(str(e))
