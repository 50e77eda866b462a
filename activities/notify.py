"""The notification activity: one notification through every configured channel (P4.b)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from temporalio import activity

from activities.channels import Channel
from yuqing.models import Notification


class Notifier:
    """Holds the channels; its ``deliver`` method is the activity the workflow calls."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = list(channels)

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> None:
        """Deliver to every channel in order; a failure raises and Temporal retries the whole call.

        Each channel is idempotent on ``notification.key``, so a retry records nothing twice.
        """
        log = structlog.get_logger("yuqing.notify").bind(
            incident_id=notification.incident_id, key=notification.key, attempt=activity.info().attempt
        )
        for channel in self._channels:
            await channel.deliver(notification)
        log.debug("delivered", channels=[c.name for c in self._channels])
