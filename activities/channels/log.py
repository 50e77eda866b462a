"""A channel that writes each notification to the structured log (at least once)."""

from __future__ import annotations

import structlog

from activities.messages import Letter


class LogChannel:
    name = "log"

    def __init__(self) -> None:
        self._log = structlog.get_logger("yuqing.notify")

    async def deliver(self, letter: Letter) -> None:
        n = letter.notification
        self._log.info(
            "notification", incident_id=n.incident_id, key=n.key, kind=n.kind, target=n.target.code, subject=letter.subject
        )
