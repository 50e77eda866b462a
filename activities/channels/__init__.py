"""Notification channels behind one small interface (``Channel``).

A new channel (SMS, e-mail, the OA system) is one module here with a class that has a ``name``
and an ``async deliver(notification)``, plus a line in ``build_channels``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from activities.channels.base import PERMANENT_REFUSAL, Channel
from activities.channels.log import LogChannel
from activities.channels.outbox import SqliteOutbox
from yuqing import config

__all__ = ["PERMANENT_REFUSAL", "Channel", "LogChannel", "SqliteOutbox", "WebhookChannel", "build_channels", "close_channels"]


def build_channels(names: Sequence[str], outbox_path: Path) -> list[Channel]:
    """The channels named in configuration (``YUQING_CHANNELS``), in order.

    ``webhook`` reads ``YUQING_WEBHOOK_URL`` and ``YUQING_WEBHOOK_SECRET_FILE``: missing or unreadable, a
    ``YuqingError`` says so, and the worker does not start.
    """
    known: dict[str, Callable[[], Channel]] = {
        "outbox": lambda: SqliteOutbox(outbox_path),
        "log": LogChannel,
        "webhook": _webhook,
    }
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"未知通知渠道 unknown notification channel(s) {unknown}; known: {sorted(known)}")
    return [known[n]() for n in names]


def _webhook() -> Channel:
    from activities.channels.webhook import WebhookChannel  # its HTTP client only where it is used

    return WebhookChannel(config.webhook_url(), config.webhook_secret())


def __getattr__(name: str) -> Any:
    """``WebhookChannel`` on first use: ``yuqing``'s commands import this package and never the HTTP client."""
    if name == "WebhookChannel":
        from activities.channels.webhook import WebhookChannel

        return WebhookChannel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def close_channels(channels: Sequence[Channel]) -> None:
    """Release what the channels hold (the webhook's connection pool), at worker shutdown."""
    for channel in channels:
        close = getattr(channel, "aclose", None)
        if close is not None:
            await close()
