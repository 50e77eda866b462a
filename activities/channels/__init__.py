"""Notification channels behind one small interface (``Channel``).

A new channel (SMS, e-mail, the OA system) is one module here with a class that has a ``name``
and an ``async deliver(notification)``, plus a line in ``build_channels``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from activities.channels.base import Channel
from activities.channels.log import LogChannel
from activities.channels.outbox import SqliteOutbox

__all__ = ["Channel", "LogChannel", "SqliteOutbox", "build_channels"]


def build_channels(names: Sequence[str], outbox_path: Path) -> list[Channel]:
    """The channels named in configuration (``YUQING_CHANNELS``), in order."""
    known: dict[str, Callable[[], Channel]] = {"outbox": lambda: SqliteOutbox(outbox_path), "log": LogChannel}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"未知通知渠道 unknown notification channel(s) {unknown}; known: {sorted(known)}")
    return [known[n]() for n in names]
