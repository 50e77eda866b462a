"""Article 五 in the workflow: the provincial office's evaluation (A5.1, S6) and the evaluation window
after 办结 (P5.b: 30 days, every clock stopped), with time skipping across both of its edges."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus

from starter import service
from tests.conftest import CITY, COUNTY, OFFICE, UNIT, Clock, escalations_of, make, make_incident
from yuqing.errors import Rejected
from yuqing.models import (
    AnalysisReport,
    CloseRequest,
    DispositionVerdict,
    EvaluationReport,
    EventGrade,
    IncidentState,
    OpinionLevel,
    ReclassificationReport,
    ResponseVerdict,
)
from yuqing.policy import load_policy

H, S = timedelta(hours=1), timedelta(seconds=1)
DAY = timedelta(days=1)
WINDOW = 30 * DAY


def evaluation(by: str = OFFICE, **fields: object) -> EvaluationReport:
    fields.setdefault("response", ResponseVerdict.IMPROPER)
    fields.setdefault("disposition", DispositionVerdict.EFFECTIVE)
    fields.setdefault("text", "回应口径前后不一")
    return make(EvaluationReport, by=by, **fields)  # type: ignore[no-any-return]


async def running(handle: object) -> bool:
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # type: ignore[attr-defined]


@pytest.mark.parametrize("by", [UNIT, COUNTY, CITY])
async def test_s6_only_the_provincial_office_evaluates(clock: Clock, by: str) -> None:
    handle = await clock.open(make_incident())
    with pytest.raises(Rejected, match="S6"):
        await service.file_report(clock.client, handle.id, evaluation(by=by))
    assert (await clock.status(handle)).evaluations == []


async def test_a5_1_an_evaluation_is_recorded_with_who_when_and_why(clock: Clock) -> None:
    handle = await clock.open(make_incident(), policy=load_policy())
    receipt = await service.file_report(clock.client, handle.id, evaluation(disposition=DispositionVerdict.INEFFECTIVE))
    status = await clock.status(handle)
    [found] = status.evaluations
    assert (found.by, found.at, found.response, found.disposition, found.reason, found.seq) == (
        OFFICE, receipt.at, ResponseVerdict.IMPROPER, DispositionVerdict.INEFFECTIVE, "回应口径前后不一", receipt.seq,
    )  # fmt: skip
    assert status.reports[-1].type.value == "evaluation" and status.state == IncidentState.OPEN


async def test_p5_b_a_closed_incident_waits_for_its_evaluation_with_every_clock_stopped(clock: Clock) -> None:
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR), policy=load_policy())
    status = await clock.to(handle, 5 * H + 2 * S)  # the 5 h obligation is overdue and escalated once
    assert escalations_of(status, "authoritative_info#1") == [(1, 1, UNIT)]
    closed = await service.close_incident(clock.client, handle.id, "舆情平息", by=OFFICE)
    status = await clock.status(handle)
    assert status.state == IncidentState.CLOSED and status.evaluation_until == closed.at + WINDOW
    assert await running(handle)
    status = await clock.advance(handle, 10 * H)  # no escalation, no warning while waiting (P5.b)
    assert escalations_of(status, "authoritative_info#1") == [(1, 1, UNIT)] and await running(handle)
    with pytest.raises(Rejected, match="P5.b"):  # evaluations only
        await service.file_report(clock.client, handle.id, make(AnalysisReport))
    await service.file_report(clock.client, handle.id, evaluation())
    final = await handle.result()
    assert final.state == IncidentState.CLOSED and [e.response for e in final.evaluations] == [ResponseVerdict.IMPROPER]


async def test_p5_b_evaluated_on_the_last_second_of_the_window(clock: Clock) -> None:
    handle = await clock.open(make_incident(), policy=load_policy())
    closed = await service.close_incident(clock.client, handle.id, "办结", by=OFFICE)
    await clock.advance(handle, WINDOW - S)
    assert await running(handle)
    receipt = await service.file_report(clock.client, handle.id, evaluation())
    assert receipt.at is not None and closed.at is not None
    assert closed.at + WINDOW - 2 * S < receipt.at < closed.at + WINDOW
    assert len((await handle.result()).evaluations) == 1


async def test_p5_b_the_window_ends_and_the_incident_completes_unevaluated(clock: Clock) -> None:
    handle = await clock.open(make_incident(), policy=load_policy())
    await service.close_incident(clock.client, handle.id, "办结", by=OFFICE)
    await clock.advance(handle, WINDOW - S)
    assert await running(handle)
    # across the window's end the workflow completes: fast_forward cannot report reaching its target then
    await asyncio.wait_for(clock.env.fast_forward(handle, 2 * S), 120)  # type: ignore[attr-defined]
    final = await asyncio.wait_for(handle.result(), 30)
    assert final.state == IncidentState.CLOSED and final.evaluations == []
    with pytest.raises(Rejected):  # too late: the workflow is complete
        await service.file_report(clock.client, handle.id, evaluation())


async def test_p5_b_evaluated_before_the_close_completes_at_the_close(clock: Clock) -> None:
    handle = await clock.open(make_incident(), policy=load_policy())
    await service.file_report(clock.client, handle.id, evaluation(response=ResponseVerdict.PROPER))
    await clock.file(handle, make(CloseRequest, by=OFFICE, text="办结"))
    final = await handle.result()
    assert final.state == IncidentState.CLOSED and final.evaluations[0].response == ResponseVerdict.PROPER


async def test_a5_3_the_peak_opinion_level_is_kept_after_a_downgrade(clock: Clock) -> None:
    handle = await clock.open(make_incident(level=OpinionLevel.RELATIVELY_MAJOR))
    assert (await clock.status(handle)).peak_opinion_level == OpinionLevel.RELATIVELY_MAJOR
    await clock.file(handle, make(ReclassificationReport, opinion_level=OpinionLevel.MAJOR))
    status = await clock.file(handle, make(ReclassificationReport, by=COUNTY, opinion_level=OpinionLevel.GENERAL))
    assert status.opinion_level == OpinionLevel.GENERAL and status.peak_opinion_level == OpinionLevel.MAJOR


async def test_a_refused_evaluation_by_signal_is_recorded_and_changes_nothing(clock: Clock) -> None:
    handle = await clock.open(make_incident())
    await service.signal_report(clock.client, handle.id, evaluation(by=UNIT).model_dump(mode="json", by_alias=True))
    status = await clock.status(handle)
    assert status.evaluations == [] and "S6" in status.rejected[-1].reason
