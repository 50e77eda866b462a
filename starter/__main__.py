"""``python -m starter``: the same command line as ``yuqing``."""

from starter.cli import main

main()
