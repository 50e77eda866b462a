"""The bare twin of the incident workflow: the same message names and shapes, none of the rules.

A benchmark measures the incident workflow and this twin in the same run on the same server, and
reports the ratio: what the notice's rules, the bounded record and the checks cost on top of what
Temporal itself costs.

Started with the incident's own start input and a *plan* as the last argument (``bench.suite``), the
twin does what the incident's history shows it doing, as the engine would with no rules: ``start``
notification activities at once, a durable timer until ``wake`` (set again after every message, as the
incident's loop does), ``wake_activities`` activities when it fires, and completion after ``updates``
updates. Without a plan (``bench.handlers``) it takes messages forever, or with ``"hourly"`` escalates
every hour like an overdue obligation would (a timer and one activity a step).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.common import RawValue


@activity.defn(name="twin_notify")
async def twin_notify(step: int) -> int:
    return step


@workflow.defn(dynamic=True)
class BareTwin:
    """Takes every update and signal, decodes nothing but its plan."""

    def __init__(self) -> None:
        self.updates = 0
        self.signals = 0
        self.changed = False
        self.sent = 0
        self.tasks: list[asyncio.Task[Any]] = []

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> int:
        last = workflow.payload_converter().from_payload(args[-1].payload) if args else None
        if isinstance(last, dict):
            return await self._planned(last)
        hourly = last == "hourly"
        step = 0
        while True:
            if hourly:
                await workflow.sleep(timedelta(hours=1))
                step += 1
                await workflow.execute_activity(twin_notify, step, start_to_close_timeout=timedelta(seconds=30))
            else:
                await workflow.wait_condition(lambda: False)

    def _notify(self, count: int) -> None:
        for _ in range(count):
            self.sent += 1
            self.tasks.append(
                asyncio.create_task(
                    workflow.execute_activity(twin_notify, self.sent, start_to_close_timeout=timedelta(seconds=30))
                )
            )

    async def _planned(self, plan: dict[str, Any]) -> int:
        self._notify(int(plan.get("start", 0)))
        wake = datetime.fromisoformat(plan["wake"]) if plan.get("wake") else None
        fired = False
        target = int(plan.get("updates", 0))
        while not target or self.updates < target:
            now = workflow.now()
            if wake is not None and not fired and now >= wake:
                fired = True
                self._notify(int(plan.get("wake_activities", 0)))
            self.changed = False
            timeout = (wake - now) if wake is not None and not fired else None
            try:
                await workflow.wait_condition(lambda: self.changed, timeout=timeout)
            except TimeoutError:
                pass
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and all(t.done() for t in self.tasks))
        return self.updates

    @workflow.update(dynamic=True)
    def on_update(self, name: str, args: Sequence[RawValue]) -> dict[str, Any]:
        self.updates += 1
        self.changed = True
        return {"seq": self.updates}

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        self.signals += 1
        self.changed = True
