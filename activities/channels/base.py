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

    async def deliver(self, letter: Letter) -> None: ...
