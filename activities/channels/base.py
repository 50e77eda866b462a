"""The one interface every notification channel implements."""

from __future__ import annotations

from typing import Protocol

from yuqing.models import Notification


class Channel(Protocol):
    """Delivers a notification; must be safe to call again with the same one (P4.b).

    Raise to have the activity retried; return normally once the notification is out.
    """

    name: str

    async def deliver(self, notification: Notification) -> None: ...
