"""The one interface every notification channel implements."""

from __future__ import annotations

from typing import Protocol

from activities.messages import Letter


class Channel(Protocol):
    """Delivers a letter (a notification and its words); must be safe to call again with the same one
    (P4.b: its ``notification.key`` identifies it).

    Raise to have the activity retried; return normally once the letter is out.
    """

    name: str
    # optionally ``attempt_seconds: float``: the longest one delivery may take (default 1 s), so the
    # activity never begins an attempt its retry window would cut off (``activities.notify``)

    async def deliver(self, letter: Letter) -> None: ...
