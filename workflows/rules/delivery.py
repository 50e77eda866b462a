"""How a notification is retried (P4.b): within the policy's retry window, then until it is delivered.

Temporal's retry policy does the retrying (nothing is retried by hand); a channel's permanent refusal
(``REFUSED``) is never retried. Used by the incident and the circular workflows.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

REFUSED = "NotificationRefused"
"""The error type of a channel's permanent refusal (``activities.channels.base.PERMANENT_REFUSAL``)."""
NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    non_retryable_error_types=[REFUSED],
)
"""Within the retry window (``Policy.notification_retry``)."""
NOTIFY_ATTEMPT = timedelta(seconds=30)
"""One attempt at most; the channels' own connection and lock timeouts are well under it
(``activities.notify``), so an abandoned attempt never writes after it."""
NOTIFY_HEARTBEAT = timedelta(seconds=10)
"""An attempt that stops heartbeating (a worker killed mid-delivery) is retried after this."""


def until_delivered(spread: float) -> RetryPolicy:
    """Retries without end after the window, capped at 5 to 6 minutes apart. ``spread`` (0 to 1,
    ``workflow.random()``) gives each notification its own cap, so notifications held up by one outage
    drift apart instead of coming back as one burst when the channel does."""
    return RetryPolicy(
        initial_interval=timedelta(seconds=5),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=300 + int(60 * spread)),
        non_retryable_error_types=[REFUSED],
    )
