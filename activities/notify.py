"""The notification activity: one notification, written in words, through every channel (P4.b)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence

import structlog
from temporalio import activity

from activities.channels.base import Channel
from activities.channels.webhook import PERMANENT_REFUSAL
from activities.messages import render
from yuqing.models import Notification

REFUSED = PERMANENT_REFUSAL
"""The error type of a permanent refusal by a channel (a webhook's 4xx other than 408/429): not
retried; the workflow lists the notification as refused (P4.b)."""
HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats while a channel works (the SDK throttles what it sends to the server)."""


async def _heartbeating(delivery: Awaitable[None]) -> None:
    """Await one channel's delivery, heartbeating meanwhile; cancelled with the activity."""
    task = asyncio.ensure_future(delivery)
    try:
        while not task.done():
            activity.heartbeat()
            await asyncio.wait({task}, timeout=HEARTBEAT_EVERY)
    except BaseException:
        task.cancel()
        raise
    await task


class Notifier:
    """Holds the channels; its ``deliver`` method is the activity the workflow calls."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = list(channels)

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> None:
        """Write the words (``activities.messages``) and deliver to every channel in order; a failure
        raises and Temporal retries the whole call. Each channel is idempotent on the key.

        It heartbeats before each channel and every ``HEARTBEAT_EVERY`` seconds while one works, so a
        heartbeat timeout (set by the workflow) notices a dead worker long before the start-to-close,
        and a cancelled attempt stops its channel at once. Each channel also bounds its own attempt well
        under the start-to-close (the webhook: ``ATTEMPT_SECONDS``): an abandoned attempt never writes late."""
        log = structlog.get_logger("yuqing.notify").bind(
            incident_id=notification.incident_id, key=notification.key, attempt=activity.info().attempt
        )
        letter = render(notification)
        for channel in self._channels:
            await _heartbeating(channel.deliver(letter))
        log.debug("delivered", channels=[c.name for c in self._channels])
