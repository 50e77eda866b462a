"""The notification activity: one notification, written in words, through every channel (P4.b)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog
from temporalio import activity

from activities.channels.base import Channel
from activities.messages import render
from yuqing.models import Notification

REFUSED = "NotificationRefused"
"""The error type of a permanent refusal by a channel (a webhook's 4xx other than 408/429): not
retried; the workflow lists the notification as refused (P4.b)."""
HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats while the channels work: a worker killed mid-delivery is noticed after
the workflow's heartbeat timeout (10 s), not the attempt's 30 s."""


class Notifier:
    """Holds the channels; its ``deliver`` method is the activity the workflow calls."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = list(channels)

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> None:
        """Write the words (``activities.messages``) and deliver to every channel in order; a failure
        raises and Temporal retries the whole call. Each channel is idempotent on the key, and bounds
        its own connection and lock timeouts well under the attempt's, so an attempt the workflow has
        given up on never writes afterwards."""
        log = structlog.get_logger("yuqing.notify").bind(
            incident_id=notification.incident_id, key=notification.key, attempt=activity.info().attempt
        )
        letter = render(notification)
        beat = asyncio.create_task(_heartbeat())
        try:
            for channel in self._channels:
                await channel.deliver(letter)
        finally:
            beat.cancel()
        log.debug("delivered", channels=[c.name for c in self._channels])


async def _heartbeat() -> None:
    while True:
        activity.heartbeat()
        await asyncio.sleep(HEARTBEAT_EVERY)
