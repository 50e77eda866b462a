"""The periodic circular (通报, A5.2): a Temporal Schedule starts this workflow every month.

It decides the period from ``workflow.now()`` (the month before, Beijing time), has an activity collect,
assess and write the circular (``activities.assessment``), and tells the provincial general office
where it is. A run on demand (``yuqing assess schedule --trigger``) does the same at once (不定期).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notifier
    from workflows.rules.article5_assessment import previous_month
    from workflows.rules.delivery import NOTIFY_ATTEMPT, NOTIFY_HEARTBEAT, until_delivered
    from yuqing.models import WRITE_CIRCULAR, CircularFacts, CircularInput, CircularResult, Notification

CIRCULAR_WORKFLOW = "CircularWorkflow"
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
"""Set by a Schedule on the workflows it starts: when the run was meant to start."""


@workflow.defn(name=CIRCULAR_WORKFLOW)
class CircularWorkflow:
    @workflow.run
    async def run(self, input: CircularInput) -> CircularResult:
        request = input.request
        if request.period_from is None or request.period_to is None:
            # the month before the one the schedule meant (a run caught up after an outage starts late)
            scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
            start, end = previous_month(scheduled or workflow.now())
            request = request.model_copy(update={"period_from": start, "period_to": end})
        workflow.logger.info("writing circular", extra={"period": f"{request.period_from}..{request.period_to}"})
        result: CircularResult = await workflow.execute_activity(
            WRITE_CIRCULAR,
            request,
            result_type=CircularResult,
            start_to_close_timeout=timedelta(minutes=15),
            retry_policy=RetryPolicy(maximum_attempts=5, initial_interval=timedelta(seconds=10)),
        )
        notice = Notification(
            key=f"circular/{result.period_from}_{result.period_to}/0/1",  # one notice per period, whatever runs
            incident_id=workflow.info().workflow_id,
            kind="circular",
            at=workflow.now(),
            target=input.office,
            incident=None,
            circular=CircularFacts(
                title=result.title, period=f"{result.period_from}至{result.period_to}", directory=result.directory,
                incidents=result.incidents, criticisms=result.criticisms, summons=result.summons,
                problems=len(result.problems),
            ),
        )  # fmt: skip
        await workflow.execute_activity_method(  # retried until delivered (P4.b)
            Notifier.deliver, notice, start_to_close_timeout=NOTIFY_ATTEMPT, heartbeat_timeout=NOTIFY_HEARTBEAT,
            retry_policy=until_delivered(0.5),
        )  # fmt: skip
        return result
