"""Leaving a process that used the Temporal SDK."""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Flush and leave without interpreter finalization.

    The SDK's Rust runtime threads can abort a process while Python finalizes
    (temporalio/sdk-python#300, "PyGILState_Release … must be current"), which turns a clean
    exit code into SIGABRT: bad for scripts and for supervisors (systemd) that read it.
    """
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (yuqing list | head)
            pass
    logging.shutdown()
    os._exit(code)
