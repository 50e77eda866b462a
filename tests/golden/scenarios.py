"""Every path the incident workflow has, as a scenario driven through a time-skipping dev server.

The same scenarios record the golden histories (``python -m tests.golden.record``) and run live in
``tests/test_audit_live.py``, where the ledger derived from their exported histories must equal the
``status`` query. A new path of the workflow gets a scenario here, then a golden history.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from starter import service
from tests.conftest import Clock, make_incident
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EventCategory,
    EventGrade,
    MajorSituationReport,
    Notification,
    OpinionLevel,
    ReclassificationReport,
    ResponseReport,
    ResponseWay,
    Transfer,
)
from yuqing.policy import load_policy

H = timedelta(hours=1)
M = timedelta(minutes=1)


@dataclass
class Ctx:
    """Where a scenario runs: the server, its clock, and the task queues with workers on them."""

    env: WorkflowEnvironment
    task_queue: str
    dead_queue: str
    """A queue whose worker's only channel is down: notifications fail (P4.b)."""

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def clock(self) -> Clock:
        return Clock(self.env, self.env.client)

    async def open(self, incident: Any, **kwargs: Any) -> WorkflowHandle[Any, Any]:
        handle = await service.open_incident(self.client, incident, task_queue=kwargs.pop("task_queue", self.task_queue), **kwargs)
        await self.clock.settle(handle)
        return handle

    async def report(self, handle: WorkflowHandle[Any, Any], report: Any) -> None:
        await service.file_report(self.client, handle.id, report)
        await self.clock.settle(handle)


class DeadChannel:
    name = "dead"

    async def deliver(self, n: Notification) -> None:
        raise ConnectionError("短信网关不可达 SMS gateway unreachable")


def release(way: ResponseWay = ResponseWay.AUTHORITATIVE_RELEASE, text: str = "发布权威信息") -> ResponseReport:
    return ResponseReport(text=text, way=way)


Run = Callable[[Ctx, str], Awaitable[WorkflowHandle[Any, Any]]]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    rules: tuple[str, ...]
    run: Run
    server: str = "default"
    """``default`` or ``small_history`` (continue-as-new suggested after 40 events)."""


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, description: str, *rules: str, server: str = "default") -> Callable[[Run], Run]:
    def register(run: Run) -> Run:
        SCENARIOS[name] = Scenario(name, description, rules, run, server)
        return run

    return register


@scenario("major-sudden-met", "重大突发事件：4 小时预警，4.5 小时发布权威信息，20 小时新闻发布会，均按时",
          "A3.1", "A3.2", "A3.4", "P3.b", "P3.d", "P3.e")  # fmt: skip
async def major_met(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 4 * H + M)  # the 80% warning of the 5 h obligation
    await ctx.clock.to(handle, 4 * H + 30 * M)
    await ctx.report(handle, release())
    await ctx.clock.to(handle, 20 * H)
    await ctx.report(handle, release(ResponseWay.PRESS_CONFERENCE, "召开新闻发布会"))
    return handle


@scenario("major-sudden-late", "特别重大突发事件：5 小时未发布，催办、督促、督办并重复，8.5 小时逾期发布",
          "A3.1", "D.esc", "P4.a", "P4.d", "P4.b")  # fmt: skip
async def major_late(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.PARTICULARLY_MAJOR))
    for at in (5 * H + M, 6 * H + M, 7 * H + M, 8 * H + M):
        await ctx.clock.to(handle, at)
    await ctx.clock.to(handle, 8 * H + 30 * M)
    await ctx.report(handle, release())
    return handle


@scenario("response-48h-met", "一般舆情：38.4 小时预警，47 小时接受采访回应，按时", "A3.3", "P3.b", "P3.e")
async def response_met(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id))
    await ctx.clock.to(handle, 38 * H + 30 * M)
    await ctx.clock.to(handle, 47 * H)
    await ctx.report(handle, release(ResponseWay.MEDIA_INTERVIEW, "接受媒体采访"))
    return handle


@scenario("response-48h-late", "一般舆情：48 小时未回应，催办，54 小时督促，55 小时逾期回应", "A3.3", "D.esc", "P4.a")
async def response_late(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id))
    await ctx.clock.to(handle, 48 * H + M)
    await ctx.clock.to(handle, 54 * H + M)
    await ctx.clock.to(handle, 55 * H)
    await ctx.report(handle, release(ResponseWay.ONLINE_POST, "政务微博回应"))
    return handle


@scenario("reclassify-up", "较大升为重大：5/24 小时时限自重新定级起算，一次发布同时满足 48 小时回应", "P3.c", "A3.1", "A3.2")
async def reclassify_up(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.RELATIVELY_MAJOR))
    await ctx.clock.to(handle, 10 * H)
    await ctx.report(handle, ReclassificationReport(text="伤亡人数上升", event_grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 14 * H + M)
    await ctx.clock.to(handle, 14 * H + 30 * M)
    await ctx.report(handle, release())
    return handle


@scenario("reclassify-down", "重大降为一般：未到期的 24 小时时限免除并记录理由，48 小时回应由早先的发布满足（录制于补丁 p3c-keep-overdue 之前：当时已督办的 5 小时时限也被免除）", "P3.c", "D.esc")
async def reclassify_down(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 1 * H)
    await ctx.report(handle, release(ResponseWay.ONLINE_POST, "政务网站通报"))
    await ctx.clock.to(handle, 6 * H + M)
    await ctx.report(handle, ReclassificationReport(text="经核实为一般事件", event_grade=EventGrade.GENERAL))
    return handle


@scenario(
    "reclassify-down-escalated",
    "重大降为一般（补丁 p3c-keep-overdue 之后）：已督办的 5 小时时限保持逾期并继续督办，直至权威发布予以满足",
    "P3.c",
    "D.esc",
    "P4.a",
)
async def reclassify_down_escalated(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await reclassify_down(ctx, incident_id)  # the same downgrade, 6 h 01 min in, then on
    await ctx.clock.to(handle, 7 * H + M)
    await ctx.report(handle, release(text="补发权威信息"))
    return handle


@scenario("major-situation", "重大情况随时报告省政府，不经计时器", "A4.4", "D4")
async def major_situation(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, category=EventCategory.PUBLIC_HEALTH))
    await ctx.clock.to(handle, 2 * H)
    await ctx.report(handle, AnalysisReport(text="研判：关注度快速上升"))
    await ctx.report(handle, MajorSituationReport(text="现场出现人员伤亡"))
    return handle


@scenario("continue-as-new", "长事件续新：15 份研判后续新，48 小时时限在新运行中照常督办，逾期回应", "D1", "A3.3", "P4.b",
          server="small_history")  # fmt: skip
async def continue_as_new(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id))
    await ctx.clock.to(handle, 2 * H)
    for i in range(15):
        await service.file_report(ctx.client, handle.id, AnalysisReport(text=f"研判 {i}"))
    await ctx.clock.settle(handle)
    await ctx.clock.to(handle, 48 * H + M)
    await ctx.report(handle, release(ResponseWay.ONLINE_POST, "回应"))
    return handle


@scenario("rejected-reports", "拒收：发现时间在未来（P3.a）、格式有误的信号、定级未变，以及被拒的更新（不入历史）",
          "D3", "P3.a", "P3.c", "P4.e")  # fmt: skip
async def rejected(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    from workflows.incident import IncidentInput, IncidentWorkflow
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.directory import load_directory

    incident = make_incident(id=incident_id, discovered_at=datetime.now(timezone.utc) + 5 * H)
    chain = escalation_chain(load_directory(), incident.responsible_unit)
    handle = await ctx.client.start_workflow(
        IncidentWorkflow.run,
        IncidentInput(incident=incident, policy=load_policy(), chain=chain),
        id=incident.id,
        task_queue=ctx.task_queue,
    )
    await ctx.clock.settle(handle)
    for payload in (
        {"type": "response", "text": "回应"},  # no way
        {"type": "response", "text": "回应", "way": "飞鸽传书"},
        {"type": "gossip", "text": "?"},
        "not even an object",
        {"type": "reclassification", "text": "复核"},  # the grading would not change
    ):
        await service.signal_report(ctx.client, handle.id, payload)  # type: ignore[arg-type]
    try:
        await service.file_report(
            ctx.client, handle.id, ReclassificationReport(text="复核", opinion_level=OpinionLevel.RELATIVELY_MAJOR)
        )
    except service.Rejected:
        pass
    else:  # pragma: no cover
        raise AssertionError("the update should have been refused")
    await service.signal_report(ctx.client, handle.id, {"type": "response", "text": "回应", "way": "新闻发布会"})
    await ctx.clock.settle(handle)
    return handle


@scenario("transfer-acceptance", "省政府办公厅转办：1 小时未接收即催办，之后逾期接收", "A4.1", "A4.2", "P4.c")
async def transfer(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    now = datetime.now(timezone.utc)
    incident = make_incident(id=incident_id, transfer=Transfer(at=now, by="sz-bgt", from_state_council=True))
    handle = await ctx.open(incident)
    await ctx.clock.to(handle, 61 * M)
    await ctx.report(handle, AcceptanceReport(text="即接即办"))
    return handle


@scenario("final-disposition", "研判、回应、最终处置：事件办结，未到期的持续发布免除，工作流完成", "A4.3")
async def final_disposition(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, level=OpinionLevel.MAJOR))
    await ctx.clock.to(handle, 3 * H)
    await ctx.report(handle, AnalysisReport(text="研判：涉事学校食堂"))
    await ctx.report(handle, release(ResponseWay.BRIEFING, "召开吹风会"))
    await ctx.report(handle, DispositionReport(text="已约谈涉事学校，整改完毕", final=True))
    await handle.result()
    return handle


@scenario("office-close", "省政府办公厅办结：已逾期的保持逾期以备考核，未到期的免除", "A5.3", "D.esc")
async def office_close(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR))
    await ctx.clock.to(handle, 5 * H + M)
    await ctx.report(handle, CloseRequest(text="省政府办公厅决定办结"))
    await handle.result()
    return handle


@scenario("backdated-discovery", "发现于 72 小时前：一次补发当前一级督办（记录跳过的步数），其后按时继续",
          "P3.a", "P4.a")  # fmt: skip
async def backdated(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    now = datetime.now(timezone.utc)
    handle = await ctx.open(make_incident(id=incident_id, discovered_at=now - 72 * H))
    await ctx.clock.to(handle, 78 * H + M)
    return handle


@scenario("delivery-failure", "通知渠道中断：通知重试到期后记为未送达，时限与督办照常", "P4.b", "A3.1")
async def delivery_failure(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    quick = load_policy().model_copy(update={"notification_retry_hours": 0.0005})  # 1.8 s of retries
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR), task_queue=ctx.dead_queue, policy=quick)
    await ctx.clock.advance(handle, 5 * H + 30 * M)
    await Clock.settle(handle, timeout=60)
    return handle


def unique_id(name: str) -> str:
    return f"au-{name}-{uuid.uuid4().hex[:6]}"
