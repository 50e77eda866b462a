"""Every path the incident workflow has, as a scenario driven through a time-skipping dev server.

The same scenarios record the golden histories (``python -m tests.golden.record``) and run live in
``tests/test_audit_live.py``, where the ledger derived from their exported histories must equal the
``status`` query. A new path of the workflow gets a scenario here, then a golden history.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from starter import service
from tests.conftest import CITY, COUNTY, OFFICE, UNIT, Clock, make, make_incident, release, serving
from worker import build_worker
from workflows.rules.delivery import REFUSED
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    DispositionVerdict,
    EvaluationReport,
    EventCategory,
    EventGrade,
    ExplanationReport,
    MajorSituationReport,
    OpinionLevel,
    Receipt,
    ReclassificationReport,
    ReleaseChannel,
    ResponseVerdict,
    ResponseWay,
    Transfer,
    TransferSource,
)
from yuqing.policy import load_policy

CITY_EDUCATION, COUNTY_POLICE = "370100-jyj", "370102-gaj"
"""The city's education bureau (a transfer's receiving unit) and a county department (a lead)."""
H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


@dataclass
class Ctx:
    """Where a scenario runs: the server, its clock, and the task queues with workers on them."""

    env: WorkflowEnvironment
    task_queue: str
    dead_queue: str
    """A queue whose worker's only channel is down: notifications fail (P4.b)."""
    workers: AsyncExitStack
    """Workers a scenario starts for itself and that must stay up to answer queries afterwards."""

    @property
    def client(self) -> Client:
        return self.env.client

    @property
    def clock(self) -> Clock:
        return Clock(self.env, self.env.client)

    async def open(self, incident: Any, **kwargs: Any) -> WorkflowHandle[Any, Any]:
        return await self.clock.open(incident, task_queue=kwargs.pop("task_queue", self.task_queue), **kwargs)

    async def report(self, handle: WorkflowHandle[Any, Any], report: Any) -> None:
        await service.file_report(self.client, handle.id, report)
        await self.clock.settle(handle)


class DeadChannel:
    """A gateway that refuses every notification for good (P4.b: listed as refused, not retried). The
    goldens of this path were recorded when a channel down past the retry window was given up; since the
    fifth release such a notification is retried until delivered, which a live run could not settle."""

    name = "dead"

    async def deliver(self, letter: Any) -> None:
        raise ApplicationError("短信网关拒收 SMS gateway refused: HTTP 403", type=REFUSED, non_retryable=True)


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


@scenario("major-sudden-met", "重大突发事件：4 小时预警，4.5 小时政务微博情况通报，20 小时新闻发布会，均按时",
          "A3.1", "A3.2", "A3.4", "P3.b", "P3.d", "P3.e", "N3.b")  # fmt: skip
async def major_met(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 4 * H + M)  # the 80% warning of the 5 h obligation
    await ctx.clock.to(handle, 4 * H + 30 * M)
    await ctx.report(handle, release(text="政务微博发布情况通报"))
    await ctx.clock.to(handle, 20 * H)
    await ctx.report(handle, release(ResponseWay.PRESS_CONFERENCE, ReleaseChannel.ON_SITE, text="召开新闻发布会"))
    return handle


@scenario("major-sudden-late", "特别重大突发事件：5 小时未发布，催办、督促区县、督促市、督办并重复，9.5 小时逾期发布",
          "A3.1", "D.esc", "P4.a", "P4.d", "P4.b", "P3.f")  # fmt: skip
async def major_late(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.PARTICULARLY_MAJOR))
    for at in (5 * H + M, 6 * H + M, 7 * H + M, 8 * H + M, 9 * H + M):
        await ctx.clock.to(handle, at)
    await ctx.clock.to(handle, 9 * H + 30 * M)
    await ctx.report(handle, release())
    return handle


@scenario("response-48h-met", "一般舆情：38.4 小时预警，47 小时接受媒体采访回应，按时；此后的发布不计时", "A3.3", "P3.b", "P3.d", "P3.e")
async def response_met(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, level=OpinionLevel.GENERAL))
    await ctx.clock.to(handle, 38 * H + 30 * M)
    await ctx.clock.to(handle, 47 * H)
    await ctx.report(handle, release(ResponseWay.MEDIA_INTERVIEW, ReleaseChannel.NEWS_MEDIA, text="接受媒体采访"))
    await ctx.report(handle, release(text="再次通报"))
    return handle


@scenario("response-48h-late", "较大舆情：48 小时未回应，催办，54 小时督促区县，55 小时逾期回应；超时说明", "A3.3", "D.esc", "P4.a", "P4.g")
async def response_late(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id))
    await ctx.clock.to(handle, 48 * H + M)
    await ctx.clock.to(handle, 54 * H + M)
    await ctx.clock.to(handle, 55 * H)
    await ctx.report(handle, release(channel=ReleaseChannel.WECHAT, text="政务微信回应"))
    await ctx.report(handle, make(ExplanationReport, obligation_id="response#1", text="值班人员误判，延误回应"))
    return handle


@scenario("reclassify-up", "较大升为重大：5/24 小时时限自重新定级起算，一次发布同时满足 48 小时回应", "P3.c", "A3.1", "A3.2", "S4")
async def reclassify_up(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.RELATIVELY_MAJOR))
    await ctx.clock.to(handle, 10 * H)
    await ctx.report(handle, make(ReclassificationReport, text="伤亡人数上升", event_grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 14 * H + M)
    await ctx.clock.to(handle, 14 * H + 30 * M)
    await ctx.report(handle, release())
    return handle


@scenario("reclassify-down", "重大降为一般（区政府决定）：未到期的 24 小时时限与持续发布免除并记录理由，已督办的 5 小时时限保持逾期、不再督办，48 小时回应由早先的回应满足",
          "P3.c", "P3.d", "D.esc", "S4")  # fmt: skip
async def reclassify_down(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 1 * H)
    await ctx.report(handle, release(ResponseWay.MEDIA_INTERVIEW, ReleaseChannel.NEWS_MEDIA, text="接受采访"))
    await ctx.clock.to(handle, 6 * H + M)
    await ctx.report(handle, make(ReclassificationReport, by=COUNTY, text="经核实为一般事件", event_grade=EventGrade.GENERAL))
    await ctx.clock.to(handle, 9 * H)  # no longer 重大: the overdue 5 h obligation escalates no more
    return handle


@scenario("reclassify-up-down-up", "升级、降级、再升级：5 小时时限仍为第一次的期限，到期即督办", "P3.c", "S4")
async def reclassify_up_down_up(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.RELATIVELY_MAJOR))
    await ctx.clock.to(handle, 1 * H)
    await ctx.report(handle, make(ReclassificationReport, text="升级", event_grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 2 * H)
    await ctx.report(handle, make(ReclassificationReport, by=CITY, text="降级", event_grade=EventGrade.RELATIVELY_MAJOR))
    await ctx.clock.to(handle, 3 * H)
    await ctx.report(handle, make(ReclassificationReport, text="再次升级", event_grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 6 * H + M)
    return handle


@scenario("major-situation", "重大情况随时报告省政府，不经计时器", "A4.4", "D4")
async def major_situation(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, category=EventCategory.PUBLIC_HEALTH))
    await ctx.clock.to(handle, 2 * H)
    await ctx.report(handle, make(AnalysisReport, text="研判：关注度快速上升"))
    await ctx.report(handle, make(MajorSituationReport, text="现场出现人员伤亡"))
    return handle


@scenario("continue-as-new", "长事件续新：15 份研判后续新，重发的报告不重复登记，48 小时时限在新运行中照常督办，逾期回应",
          "D1", "A3.3", "P4.b", server="small_history")  # fmt: skip
async def continue_as_new(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id))
    await ctx.clock.to(handle, 2 * H)
    reports = [make(AnalysisReport, text=f"研判 {i}") for i in range(15)]
    for report in reports:
        await service.file_report(ctx.client, handle.id, report)
    await ctx.clock.settle(handle)
    await handle.execute_update("report", reports[0], id=f"resent-{incident_id}", result_type=Receipt)
    await ctx.clock.to(handle, 48 * H + M)
    await ctx.report(handle, release(channel=ReleaseChannel.CLIENT_APP, text="回应"))
    return handle


@scenario("rejected-reports", "拒收：空信号、两份输入、无法解码、格式有误、越权（S1）、定级未变，以及被拒的更新（不入历史）",
          "D3", "P3.c", "P4.e", "S1")  # fmt: skip
async def rejected(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    from temporalio.api.common.v1 import Payload, Payloads, WorkflowExecution
    from temporalio.api.workflowservice.v1 import SignalWorkflowExecutionRequest

    handle = await ctx.open(make_incident(id=incident_id))
    good = make(AnalysisReport).model_dump(mode="json", by_alias=True)

    async def raw(payloads: list[Payload]) -> None:
        await ctx.client.workflow_service.signal_workflow_execution(
            SignalWorkflowExecutionRequest(
                namespace=ctx.client.namespace, workflow_execution=WorkflowExecution(workflow_id=incident_id),
                signal_name="report", input=Payloads(payloads=payloads), identity="golden",
            )
        )  # fmt: skip

    await raw([])
    await raw([Payload(metadata={"encoding": b"json/plain"}, data=b"{broken")])
    for payload in (
        {**good, "way": "飞鸽传书", "type": "response"},
        {"type": "gossip", "text": "?"},
        "not even an object",
        {**good, "as": "370200"},  # another city's unit (S1)
        make(ReclassificationReport, by=COUNTY, text="复核").model_dump(mode="json", by_alias=True),
    ):
        await service.signal_report(ctx.client, handle.id, payload)
    try:
        await service.file_report(ctx.client, handle.id, make(ReclassificationReport, by=COUNTY, text="复核",
                                                               opinion_level=OpinionLevel.RELATIVELY_MAJOR))  # fmt: skip
    except service.Rejected:
        pass
    else:  # pragma: no cover
        raise AssertionError("the update should have been refused")
    await service.signal_report(ctx.client, handle.id, release(ResponseWay.BRIEFING, ReleaseChannel.ON_SITE).model_dump(mode="json", by_alias=True))
    await ctx.clock.settle(handle)
    return handle


@scenario("transfer-acceptance", "省政府办公厅转办：1 小时未接收即催办，之后接收单位逾期接收", "A4.1", "A4.2", "P4.c", "S2", "S3")
async def transfer(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    now = datetime.now(timezone.utc)
    incident = make_incident(id=incident_id, transfer=Transfer(at=now, by=OFFICE, from_state_council=True))
    handle = await ctx.open(incident)
    await ctx.clock.to(handle, 61 * M)
    await ctx.report(handle, make(AcceptanceReport, text="即接即办"))
    return handle


@scenario("final-disposition", "研判、回应、最终处置：无所欠时限，事件办结，工作流完成", "A4.3", "S3")
async def final_disposition(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, level=OpinionLevel.MAJOR))
    await ctx.clock.to(handle, 3 * H)
    await ctx.report(handle, make(AnalysisReport, text="研判：涉事学校食堂"))
    await ctx.report(handle, release(ResponseWay.BRIEFING, ReleaseChannel.ON_SITE, text="召开吹风会"))
    await ctx.report(handle, make(DispositionReport, text="已约谈涉事学校，整改完毕", final=True))
    await handle.result()
    return handle


@scenario("final-disposition-deferred", "4 小时 59 分报最终处置：5/24 小时时限未免除，照常督办，两项完成后事件才办结",
          "S3", "S7", "A3.1", "A3.2")  # fmt: skip
async def final_deferred(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await ctx.clock.to(handle, 4 * H + 59 * M)
    await ctx.report(handle, make(DispositionReport, text="处置完毕", final=True))
    await ctx.clock.to(handle, 5 * H + M)
    await ctx.report(handle, release(ResponseWay.PRESS_CONFERENCE, ReleaseChannel.ON_SITE, text="召开新闻发布会"))
    await handle.result()
    return handle


@scenario("office-close", "省政府办公厅办结：已逾期的保持逾期以备考核，未到期的免除，记录办结单位", "A5.3", "D.esc", "S3")
async def office_close(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR))
    await ctx.clock.to(handle, 5 * H + M)
    await ctx.report(handle, make(CloseRequest, by=OFFICE, text="省政府办公厅决定办结"))
    await handle.result()
    return handle


@scenario("backdated-discovery", "发现于 72 小时前：一轮补发（当前一级督办与对责任单位的催办），其后按时继续",
          "P3.a", "P4.a")  # fmt: skip
async def backdated(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    now = datetime.now(timezone.utc)
    handle = await ctx.open(make_incident(id=incident_id, discovered_at=now - 72 * H))
    await ctx.clock.to(handle, 78 * H + M)
    return handle


@scenario("credited-report", "工作进程中断：截止前 4 秒报送、中断后到达的发布按报送时间计，按时", "P4.h", "A3.1")
async def credited(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    queue = f"outage-{incident_id}"
    async with serving(build_worker(ctx.client, [], task_queue=queue)):
        handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR), task_queue=queue)
        await ctx.clock.to(handle, 5 * H - 4 * S)
    filed = await ctx.clock.now(handle)  # the worker is down from here: nobody can act
    sending = asyncio.create_task(service.file_report(ctx.client, handle.id, release(filed_at=filed)))
    await asyncio.sleep(6)  # the deadline passes during the outage
    await ctx.workers.enter_async_context(serving(build_worker(ctx.client, [], task_queue=queue)))
    await asyncio.wait_for(sending, 30)
    await ctx.clock.settle(handle)
    return handle


# ---------------------------------------------------- the third release: Articles 一 and 二


@scenario("transfer-mid-incident", "重大突发事件 2 小时后改由市教育局办理：按时接收，研判逾期并督办后补报（A4.1, P4.f）",
          "A4.1", "A4.2", "P4.c", "P4.f", "P4.d", "S2", "S3")  # fmt: skip
async def transfer_mid_incident(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR))
    await ctx.clock.to(handle, 2 * H)
    await service.transfer_incident(ctx.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE)
    await ctx.clock.settle(handle)
    await ctx.clock.to(handle, 2 * H + 30 * M)
    await ctx.report(handle, make(AcceptanceReport, by=CITY_EDUCATION, text="即接即办"))
    await ctx.report(handle, release(by=CITY_EDUCATION, text="市教育局发布情况通报"))
    await ctx.clock.to(handle, 26 * H + 30 * M + M)  # the analysis was due 24 h after acceptance
    await ctx.report(handle, make(AnalysisReport, by=CITY_EDUCATION, text="研判：舆情趋缓"))
    return handle


@scenario("lead-department", "区政府指定区公安分局为牵头部门：牵头部门收到催办并代为发布（A2.1）", "A2.1", "S1", "S5", "P4.d")
async def lead_department(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR))
    await service.designate_lead(ctx.client, handle.id, COUNTY_POLICE, by=COUNTY)
    await ctx.clock.to(handle, 5 * H + M)
    await ctx.report(handle, release(by=COUNTY_POLICE, text="区公安分局发布警情通报"))
    return handle


@scenario("particularly-major", "特别重大舆情：主要负责同志与宣传、网信、通信管理即时知悉，重大情况再通报，督促致主要负责同志",
          "A2.2", "A2.3", "A4.4")  # fmt: skip
async def particularly_major(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, level=OpinionLevel.MAJOR))
    await ctx.report(handle, make(ReclassificationReport, by=COUNTY, opinion_level=OpinionLevel.PARTICULARLY_MAJOR,
                                  text="舆情持续发酵"))  # fmt: skip
    await ctx.report(handle, make(MajorSituationReport, text="现场出现人员聚集"))
    await ctx.clock.to(handle, 54 * H + M)
    return handle


# ---------------------------------------------------- the fourth release: Article 五


@scenario("evaluated-after-close", "办结后评价期内（时限停止计时）省政府办公厅评价回应不妥当、处置得力，事件完成",
          "A5.1", "S6", "P5.b")  # fmt: skip
async def evaluated_after_close(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR),
                            policy=load_policy())  # the shipped 30-day window  # fmt: skip
    await ctx.clock.to(handle, 5 * H + M)  # the 5 h obligation missed and escalated once
    await ctx.report(handle, make(CloseRequest, by=OFFICE, text="舆情平息"))
    await ctx.clock.to(handle, 5 * 24 * H)  # five days into the window: nothing escalates
    await ctx.report(handle, make(EvaluationReport, by=OFFICE, text="回应迟缓，口径不一", response=ResponseVerdict.IMPROPER,
                                  disposition=DispositionVerdict.EFFECTIVE))  # fmt: skip
    await handle.result()
    return handle


@scenario("in-force-at-opening", "0.5.1 起立案的事件：输入列明已生效的变更，历史中无版本标记；重大舆情即时知悉宣传、网信，按时发布、发布会，办结后评价",
          "A2.3", "A3.1", "A3.2", "A5.1", "S6", "P5.b")  # fmt: skip
async def in_force_at_opening(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR),
                            policy=load_policy())  # fmt: skip
    await ctx.clock.to(handle, 3 * H)
    await ctx.report(handle, release(text="政务微博发布情况通报"))
    await ctx.clock.to(handle, 20 * H)
    await ctx.report(handle, release(ResponseWay.PRESS_CONFERENCE, ReleaseChannel.ON_SITE, text="召开新闻发布会"))
    await ctx.report(handle, make(CloseRequest, by=OFFICE, text="舆情平息"))
    await ctx.clock.to(handle, 3 * 24 * H)
    await ctx.report(handle, make(EvaluationReport, by=OFFICE, text="回应及时", response=ResponseVerdict.PROPER,
                                  disposition=DispositionVerdict.EFFECTIVE))  # fmt: skip
    await handle.result()
    return handle


@scenario("refused-start", "启动输入不合法（窗口 1e12 小时）：工作流立即失败并指明字段，不留卡住的任务", "D1")
async def refused_start(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    from workflows.incident import WORKFLOW_NAME
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.directory import load_directory
    from yuqing.models import IncidentInput

    incident = make_incident(id=incident_id)
    start = IncidentInput(incident=incident, policy=load_policy(), chain=escalation_chain(load_directory(), UNIT),
                          opened_by=UNIT).model_dump(mode="json")  # fmt: skip
    start["policy"]["obligations"]["response"]["window_hours"] = 1e12
    handle = await ctx.client.start_workflow(WORKFLOW_NAME, start, id=incident_id, task_queue=ctx.task_queue)
    try:
        await handle.result()
    except Exception:
        pass
    return handle


@scenario("delivery-failure", "通知未送达：渠道拒收的通知记为未送达（不再重试），时限与督办照常", "P4.b", "A3.1")
async def delivery_failure(ctx: Ctx, incident_id: str) -> WorkflowHandle[Any, Any]:
    quick = load_policy().model_copy(update={"notification_retry_hours": 0.0005})  # 1.8 s of retries
    handle = await ctx.open(make_incident(id=incident_id, grade=EventGrade.MAJOR), task_queue=ctx.dead_queue, policy=quick)
    await ctx.clock.advance(handle, 5 * H + 30 * M)
    await Clock.settle(handle, timeout=60)
    return handle


def unique_id(name: str) -> str:
    return f"au-{name}-{uuid.uuid4().hex[:6]}"
