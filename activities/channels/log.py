"""A channel that writes each notification to the structured log (at least once)."""

from __future__ import annotations

import structlog

from yuqing.models import Notification


class LogChannel:
    name = "log"

    def __init__(self) -> None:
        self._log = structlog.get_logger("yuqing.notify")

    async def deliver(self, notification: Notification) -> None:
        self._log.info(
            "notification",
            incident_id=notification.incident_id,
            key=notification.key,
            kind=notification.kind,
            target=notification.target.code,
            subject=notification.subject,
        )
