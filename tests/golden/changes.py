"""Deliberate changes of the workflow, for the golden replay tests (README, "Changing workflow code").

Each class is today's ``IncidentWorkflow`` with one new behaviour, registered under the same name as
a new release of the code would be. ``UnpatchedChange`` ships it bare: every history recorded before
it no longer replays. ``PatchedChange`` ships the same behaviour behind ``workflow.patched``: old
histories replay as they ran, new runs get the new behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from workflows.incident import IncidentWorkflow
    from yuqing.models import IncidentStatus, Obligation

PATCH_ID = "warn-government-too"


def _warn_government(wf: Any, obligation: Obligation) -> None:
    """The new behaviour: the unit's people's government hears of each warning too (a P3.e variant)."""
    input, _ = wf._inputs()
    chain = input.chain
    wf._send("warning", chain[min(1, len(chain) - 1)], obligation=obligation, round_=2)


@workflow.defn(dynamic=True)
class UnpatchedChange(IncidentWorkflow):
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        return await super().run(args)

    def _warn(self, obligation: Obligation, now: datetime) -> None:
        super()._warn(obligation, now)
        _warn_government(self, obligation)


@workflow.defn(dynamic=True)
class PatchedChange(IncidentWorkflow):
    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        return await super().run(args)

    def _warn(self, obligation: Obligation, now: datetime) -> None:
        super()._warn(obligation, now)
        if self._in_force(PATCH_ID):  # workflow.patched for every history until PATCH_ID joins IN_FORCE
            _warn_government(self, obligation)
