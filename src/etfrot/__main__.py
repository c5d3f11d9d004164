"""`python -m etfrot` = the `etfrot` command."""

from etfrot.cli import main

main()
