"""The notification activity: one notification, written in words, through every channel (P4.b)."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from temporalio import activity

from activities.channels.base import Channel
from activities.messages import render
from yuqing.models import Notification


class Notifier:
    """Holds the channels; its ``deliver`` method is the activity the workflow calls."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = list(channels)

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> None:
        """Write the words (``activities.messages``) and deliver to every channel in order; a failure
        raises and Temporal retries the whole call. Each channel is idempotent on the key."""
        log = structlog.get_logger("yuqing.notify").bind(
            incident_id=notification.incident_id, key=notification.key, attempt=activity.info().attempt
        )
        letter = render(notification)
        for channel in self._channels:
            await channel.deliver(letter)
        log.debug("delivered", channels=[c.name for c in self._channels])
