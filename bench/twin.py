"""The bare twin of the incident workflow: the same message names and shapes, none of the rules.

A benchmark measures the incident workflow and this twin in the same run on the same server, and
reports the ratio: what the notice's rules, the bounded record and the checks cost on top of what
Temporal itself costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RawValue


@activity.defn(name="twin_notify")
async def twin_notify(step: int) -> int:
    return step


@workflow.defn(dynamic=True)
class BareTwin:
    """Takes every update and signal, decodes nothing; with ``hourly`` escalates every hour like an
    overdue obligation would (a timer and one activity a step)."""

    def __init__(self) -> None:
        self.updates = 0
        self.signals = 0

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> int:
        hourly = bool(args) and workflow.payload_converter().from_payload(args[0].payload) == "hourly"
        step = 0
        while True:
            if hourly:
                await workflow.sleep(timedelta(hours=1))
                step += 1
                await workflow.execute_activity(twin_notify, step, start_to_close_timeout=timedelta(seconds=30))
            else:
                await workflow.wait_condition(lambda: False)

    @workflow.update(dynamic=True)
    def on_update(self, name: str, args: Sequence[RawValue]) -> dict[str, Any]:
        self.updates += 1
        return {"seq": self.updates}

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self.signals += 1
