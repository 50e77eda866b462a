"""The one interface every notification channel implements."""

from __future__ import annotations

from typing import Protocol

from activities.messages import Letter

PERMANENT_REFUSAL = "NotificationRefused"
"""``ApplicationError.type`` of a permanent refusal (the webhook's 4xx other than 408/429): not retried, to be
recorded. Here, not in the webhook's module, so nothing but a webhook channel imports its HTTP client."""


class Channel(Protocol):
    """Delivers a letter (a notification and its words); must be safe to call again with the same one
    (P4.b: its ``notification.key`` identifies it).

    Raise to have the activity retried; return normally once the letter is out.
    """

    name: str
    # optionally ``attempt_seconds: float``: the longest one delivery may take (default 1 s), so the
    # activity never begins an attempt its retry window would cut off (``activities.notify``)

    async def deliver(self, letter: Letter) -> None: ...
