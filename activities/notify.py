"""The notification activity: one notification, written in words, through every channel (P4.b)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime, timezone

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels.base import PERMANENT_REFUSAL, Channel
from activities.messages import render
from yuqing.models import Notification

REFUSED = PERMANENT_REFUSAL
"""The error type of a permanent refusal by a channel (a webhook's 4xx other than 408/429): not
retried; the workflow lists the notification as refused (P4.b)."""
HEARTBEAT_EVERY = 2.0
"""Seconds between heartbeats while a channel works (the SDK throttles what it sends to the server)."""


def _left_of_window(info: activity.Info) -> float | None:
    """Seconds left of the activity's schedule-to-close window (the workflow's retry window), if it has one."""
    if not info.schedule_to_close_timeout:
        return None
    ends = info.scheduled_time + info.schedule_to_close_timeout
    return (ends - datetime.now(timezone.utc)).total_seconds()


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
        self.attempt_seconds = sum(float(getattr(c, "attempt_seconds", 1.0)) for c in self._channels) + 1.0
        """The longest one attempt may take: every channel's own bound, and a second to spare."""

    @activity.defn(name="deliver_notification")
    async def deliver(self, notification: Notification) -> None:
        """Write the words (``activities.messages``) and deliver to every channel in order; a failure
        raises and Temporal retries the whole call. Each channel is idempotent on the key.

        It heartbeats before each channel and every ``HEARTBEAT_EVERY`` seconds while one works, so a
        heartbeat timeout (set by the workflow) notices a dead worker long before the start-to-close,
        and a cancelled attempt stops its channel at once. Each channel also bounds its own attempt well
        under the start-to-close (the webhook: ``ATTEMPT_SECONDS``): an abandoned attempt never writes late."""
        info = activity.info()
        log = structlog.get_logger("yuqing.notify").bind(
            incident_id=notification.incident_id, key=notification.key, attempt=info.attempt
        )
        left = _left_of_window(info)
        window = info.schedule_to_close_timeout.total_seconds() if info.schedule_to_close_timeout else 0.0
        # (a window shorter than an attempt, as in test policies: its first half; a window already past by this
        # worker's clock was not past by the server's, which dispatched the attempt: attempted)
        if left is not None and 0 <= left < min(self.attempt_seconds, window / 2):
            # an attempt the window would cut off may still write and be answered 2xx after the workflow
            # has listed it as pending, and then it is sent again (found by the fault campaign): not begun
            raise ApplicationError(
                f"重试时限将尽 the retry window ends in {left:.1f}s, less than an attempt may take "
                f"({self.attempt_seconds:g}s): not attempted; it is retried after the window",
                type="WindowEnding",
            )
        letter = render(notification)
        for channel in self._channels:
            await _heartbeating(channel.deliver(letter))
        log.debug("delivered", channels=[c.name for c in self._channels])
