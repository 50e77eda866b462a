"""A release with a bug, for the tests: its workflow task fails on every wake, as a wedged incident's did."""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from workflows.incident import IncidentWorkflow
    from yuqing.models import IncidentStatus


@workflow.defn(dynamic=True)
class BrokenIncident(IncidentWorkflow):
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        raise RuntimeError("模拟缺陷 a bug in this release")


@workflow.defn(dynamic=True)
class ChangedIncident(IncidentWorkflow):
    """A release that changed the incident's commands without ``workflow.patched``: a timer first.
    Its worker cannot replay a history the real code recorded (a nondeterminism error)."""

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        await workflow.sleep(1)
        return await super().run(args)
