"""What a replay computes, kept for the audit: the workflow instance, its result, its update results.

The replayer runs the workflow in the sandbox; this interceptor is handed to it as a class defined
here, outside the sandbox, so ``CAPTURED`` is the one dict of this process. After the replay the
instance's ``status()`` query method gives the record the history implies (the query itself is
not part of a history, the method is plain Python).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleUpdateInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)


@dataclass
class Captured:
    instance: Any = None
    result: Any = None
    completed: bool = False
    continued_as_new: bool = False
    updates: dict[str, Any] = field(default_factory=dict)


CAPTURED: dict[str, Captured] = {}
"""By run id; the replay driver pops each entry right after that history's replay."""


def _entry() -> Captured:
    return CAPTURED.setdefault(workflow.info().run_id, Captured())


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        entry = _entry()
        entry.instance = workflow.instance()
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            entry.continued_as_new = True
            raise
        entry.result, entry.completed = result, True
        return result

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        result = await super().handle_update_handler(input)
        # the answer is serialized now; the record it points to goes on changing
        _entry().updates[input.id] = copy.deepcopy(result)
        return result


class CaptureInterceptor(Interceptor):
    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound
