"""Assessment and accountability (A5.1-A5.3, P5.a, P4.g, P4.h): incidents with known outcomes driven
through the real workflow with time skipping, exported, replayed, turned into the ledger and assessed,
every number of the JSON against hand-computed values; the finding rules on both sides of their
thresholds on synthetic ledger lines (pure); collection from the server with its cache.

Evaluations (A5.1) are filed by the provincial office through the workflow (one after 办结, in the P5.b
window); the parametrized rule test puts them on synthetic lines.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import assessment.collect as collect_module
from assessment.assess import assess, window_start
from assessment.collect import collect, read_cached, write_cached
from assessment.models import Assessment, Period
from assessment.outcomes import outcome
from audit.export import export
from audit.ledger import IncidentLedger, ObligationLine, build_ledger
from audit.replay import AuditResult, audit
from starter import service
from tests.conftest import COUNTY, OFFICE, Clock, make, make_incident, release, serving
from worker import build_worker
from workflows.rules.article4_supervision import escalation_chain
from yuqing.directory import load_directory
from yuqing.models import (
    AcceptanceReport,
    CloseRequest,
    DispositionVerdict,
    Evaluation,
    EvaluationReport,
    EventGrade,
    ExplanationReport,
    IncidentState,
    IncidentStatus,
    Obligation,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReclassificationReport,
    ReleaseChannel,
    ResponseVerdict,
    ResponseWay,
    Transfer,
)
from yuqing.policy import load_policy
from yuqing.timefmt import SHANGHAI, clock

H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
JN_COUNTY, JN_CITY, QD_COUNTY, ZB_CITY, PROVINCE = "370102-jyj", "370100-jyj", "370211-jyj", "370300-jyj", "sz-jyt"
"""济南市历下区教育和体育局 (济南), 济南市教育局, 青岛市黄岛区教育和体育局 (青岛), 淄博市教育局, 山东省教育厅."""
JINAN, QINGDAO, ZIBO = "370100", "370200", "370300"
KINDS = [k.value for k in ObligationKind]


# ------------------------------------------------------------------ expected values, by hand


def kind(due: int = 0, met: int = 0, late: int = 0, overdue: int = 0, waived: int = 0, pending: int = 0) -> dict[str, int]:
    assert due == met + late + overdue + waived + pending
    return {"due": due, "met": met, "late": late, "overdue": overdue, "waived": waived, "pending": pending}


def kinds(**given: dict[str, int]) -> dict[str, dict[str, int]]:
    """Every kind, in ``ObligationKind`` order; those not given are all zero."""
    return {k: given.get(k, kind()) for k in KINDS}


def row(
    code: str, name: str, city: str | None, city_name: str | None, incidents: int, obligations: dict[str, Any],
    rate: float | None, median: float | None, worst: float | None, escalations: dict[str, int], *,
    explanations: int = 0, credited: int = 0, evaluations: tuple[int, int, int] = (0, 0, 0),
) -> dict[str, Any]:  # fmt: skip
    evaluated, improper, ineffective = evaluations
    return {
        "code": code, "name": name, "city": city, "city_name": city_name, "incidents": incidents,
        "obligations": obligations, "on_time_rate": rate, "median_lateness_minutes": median,
        "worst_lateness_minutes": worst, "escalations": escalations, "explanations": explanations,
        "credited_reports": credited,
        "evaluations": {"evaluated": evaluated, "improper_response": improper, "ineffective_disposition": ineffective},
    }  # fmt: skip


# ------------------------------------------------------------------ the incidents, live


@dataclass
class Live:
    t0: datetime
    """Every incident's discovery time (a whole minute)."""
    ids: dict[str, str]
    env: WorkflowEnvironment

    @property
    def day(self) -> date:
        return self.t0.astimezone(SHANGHAI).date()

    def at(self, offset: timedelta) -> str:
        """A due time as the facts write it."""
        return clock(self.t0 + offset)


async def _close(clock: Clock, handle: WorkflowHandle[Any, Any], at: timedelta) -> None:
    await clock.to(handle, at)
    await service.file_report(clock.client, handle.id, make(CloseRequest, by=OFFICE, text="省政府办公厅决定办结"))
    await clock.settle(handle)


def evaluation(response: ResponseVerdict, disposition: DispositionVerdict, reason: str) -> EvaluationReport:
    """评价 by the provincial general office (A5.1, S6)."""
    return make(EvaluationReport, by=OFFICE, response=response, disposition=disposition, text=reason)  # type: ignore[no-any-return]


@pytest_asyncio.fixture(scope="module")
async def live(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Live]:
    """Ten incidents, discovered at the same whole minute, each closed by the provincial office; four evaluated."""
    clock = Clock(env, env.client)
    prefix = f"as{uuid.uuid4().hex[:6]}"
    t0 = (datetime.now(timezone.utc) - 5 * S).replace(second=0, microsecond=0)
    ids: dict[str, str] = {}

    async def open_(name: str, unit: str, level: OpinionLevel, **fields: Any) -> WorkflowHandle[Any, Any]:
        ids[name] = f"{prefix}-{name}"
        options = {key: fields.pop(option) for key, option in (("task_queue", "queue"), ("policy", "policy")) if option in fields}
        incident = make_incident(id=ids[name], unit=unit, level=level, discovered_at=t0, title=f"测试舆情{name}", **fields)
        return await clock.open(incident, **options)

    async def a_met() -> None:  # 济南 county department, 一般: the 48 h response met at 47 h
        h = await open_("a-met", JN_COUNTY, OpinionLevel.GENERAL)
        await clock.to(h, 47 * H)
        await clock.file(h, release(ResponseWay.MEDIA_INTERVIEW, ReleaseChannel.NEWS_MEDIA, by=JN_COUNTY, text="接受媒体采访"))
        await clock.file(h, evaluation(ResponseVerdict.PROPER, DispositionVerdict.EFFECTIVE, "回应及时妥当"))
        await _close(clock, h, 47 * H + 10 * M)

    async def b_late() -> None:  # the same unit, 较大: the response 35 min late, urged once, explained (P4.g)
        h = await open_("b-late", JN_COUNTY, OpinionLevel.RELATIVELY_MAJOR)
        await clock.to(h, 48 * H + M)
        await clock.to(h, 48 * H + 35 * M)
        await clock.file(h, release(by=JN_COUNTY))
        await clock.file(h, make(ExplanationReport, by=JN_COUNTY, obligation_id="response#1", text="值班人员误判，延误回应"))
        await _close(clock, h, 49 * H)

    async def c_late() -> None:  # 济南 city department, 重大 event and opinion: the 5 h release 80 min late
        h = await open_("c-late", JN_CITY, OpinionLevel.MAJOR, grade=EventGrade.MAJOR)
        await clock.to(h, 5 * H + M)  # 催办 the unit
        await clock.to(h, 6 * H + M)  # 督促 the city government
        await clock.to(h, 6 * H + 20 * M)
        await clock.file(h, release(by=JN_CITY))  # continued_release#1 due at 30 h 20 min (P3.d)
        await clock.to(h, 20 * H)  # the press conference meets the 24 h and continued_release#1; #2 due at 44 h
        await clock.file(h, release(ResponseWay.PRESS_CONFERENCE, ReleaseChannel.ON_SITE, by=JN_CITY, text="召开新闻发布会"))
        await clock.file(h, evaluation(ResponseVerdict.IMPROPER, DispositionVerdict.INEFFECTIVE, "发布信息与事实不符"))
        await _close(clock, h, 21 * H)  # continued_release#2 waived

    async def d_overdue() -> None:  # 淄博, 特别重大: the response never made; closed at 50 h, overdue 120 min
        h = await open_("d-overdue", ZB_CITY, OpinionLevel.PARTICULARLY_MAJOR)
        await clock.to(h, 48 * H + M)
        await _close(clock, h, 50 * H)

    async def e_late() -> None:  # 淄博, 重大: the response 10 min late
        h = await open_("e-late", ZB_CITY, OpinionLevel.MAJOR)
        await clock.to(h, 48 * H + M)
        await clock.to(h, 48 * H + 10 * M)
        await clock.file(h, release(by=ZB_CITY))
        await _close(clock, h, 49 * H)

    async def f_transfer() -> None:  # 青岛 county department, 较大, transferred at discovery: accepted 10 min late
        h = await open_("f-transfer", QD_COUNTY, OpinionLevel.RELATIVELY_MAJOR, transfer=Transfer(at=t0, by=OFFICE))
        await clock.to(h, H + M)
        await clock.to(h, H + 10 * M)
        await clock.file(h, make(AcceptanceReport, by=QD_COUNTY, text="即接即办"))  # analysis due 24 h later (P4.f)
        await _close(clock, h, 2 * H)  # the analysis and the response waived

    async def g_credited(stack: AsyncExitStack) -> None:  # 青岛, 重大 event: released at 5 h - 4 s in an outage (P4.h)
        queue = f"outage-{prefix}"
        async with serving(build_worker(env.client, [], task_queue=queue)):
            h = await open_("g-credited", QD_COUNTY, OpinionLevel.MAJOR, grade=EventGrade.MAJOR, queue=queue)
            await clock.to(h, 5 * H - 4 * S)
        filed = await clock.now(h)
        sending = asyncio.create_task(service.file_report(env.client, h.id, release(by=QD_COUNTY, filed_at=filed)))
        await asyncio.sleep(6)  # the deadline passes while no worker runs
        await stack.enter_async_context(serving(build_worker(env.client, [], task_queue=queue)))
        await asyncio.wait_for(sending, 30)
        await _close(clock, h, 5 * H + 10 * M)  # the press conference and continued_release#1 waived

    async def h_province() -> None:  # 省教育厅, 较大: the response met at 30 h; 处置不得力
        h = await open_("h-province", PROVINCE, OpinionLevel.RELATIVELY_MAJOR)
        await clock.to(h, 30 * H)
        await clock.file(h, release(by=PROVINCE))
        await clock.file(h, evaluation(ResponseVerdict.PROPER, DispositionVerdict.INEFFECTIVE, "整改措施未落实"))
        await _close(clock, h, 31 * H)

    async def i_province() -> None:  # 省教育厅, 重大: the response met at 24 h; evaluated 回应不妥当 after 办结 (P5.b)
        h = await open_("i-province", PROVINCE, OpinionLevel.MAJOR, policy=load_policy())
        await clock.to(h, 24 * H)
        await clock.file(h, release(by=PROVINCE))
        await _close(clock, h, 25 * H)
        await clock.to(h, 26 * H)
        await clock.file(h, evaluation(ResponseVerdict.IMPROPER, DispositionVerdict.EFFECTIVE, "回应口径前后不一"))
        await asyncio.wait_for(h.result(), 30)  # evaluated: the window ends

    async def j_down() -> None:  # 济南 county department, 重大 then 较大 (the county government): response 20 min late
        h = await open_("j-down", JN_COUNTY, OpinionLevel.MAJOR)
        await clock.to(h, H)
        await clock.file(h, make(ReclassificationReport, by=COUNTY, opinion_level=OpinionLevel.RELATIVELY_MAJOR, text="经核实影响有限"))
        await clock.to(h, 48 * H + M)
        await clock.to(h, 48 * H + 20 * M)
        await clock.file(h, release(by=JN_COUNTY))
        await _close(clock, h, 49 * H)

    async with AsyncExitStack() as stack:
        await asyncio.gather(
            a_met(), b_late(), c_late(), d_overdue(), e_late(), f_transfer(), g_credited(stack), h_province(),
            i_province(), j_down(),
        )  # fmt: skip
        yield Live(t0, ids, env)


async def ledger_of(live: Live, folder: Path) -> list[IncidentLedger]:
    """Export → replay → ledger, as an auditor does (D5)."""
    manifest, problems = await export(live.env.client, folder, ids=list(live.ids.values()))
    assert problems == [] and manifest["files"]
    ledger = build_ledger(await audit([folder]))
    assert ledger.problems == [] and ledger.refused == []
    assert sorted(line.incident_id for line in ledger.incidents) == sorted(live.ids.values())
    return ledger.incidents


def expected_assessment(live: Live, now: datetime) -> dict[str, Any]:
    """Every number by hand, from the scripts in ``live``."""
    i, at = live.ids, live.at
    jinan, qingdao, zibo = "济南市人民政府", "青岛市人民政府", "淄博市人民政府"
    units = [
        row(JN_CITY, "济南市教育局", JINAN, jinan, 1,  # c: 5 h late 80 min; 24 h met; continued met, waived
            kinds(authoritative_info=kind(1, late=1), press_conference=kind(1, met=1),
                  continued_release=kind(2, met=1, waived=1)),
            round(2 / 3, 4), 80.0, 80.0, {"1": 1, "2": 1}, evaluations=(1, 1, 1)),
        row(JN_COUNTY, "济南市历下区教育和体育局", JINAN, jinan, 3,  # a met; b late 35 min, explained; j late 20 min
            kinds(response=kind(3, met=1, late=2)), round(1 / 3, 4), 27.5, 35.0, {"1": 2}, explanations=1,
            evaluations=(1, 0, 0)),
        row(QD_COUNTY, "青岛市黄岛区教育和体育局", QINGDAO, qingdao, 2,  # f: acceptance late 10 min; g: credited
            kinds(authoritative_info=kind(1, met=1), press_conference=kind(1, waived=1), response=kind(1, waived=1),
                  continued_release=kind(1, waived=1), acceptance=kind(1, late=1), analysis=kind(1, waived=1)),
            0.5, 10.0, 10.0, {"1": 1}, credited=1),
        row(ZB_CITY, "淄博市教育局", ZIBO, zibo, 2,  # d overdue 120 min; e late 10 min
            kinds(response=kind(2, late=1, overdue=1)), 0.0, 65.0, 120.0, {"1": 2}),
        row(PROVINCE, "山东省教育厅", None, None, 2, kinds(response=kind(2, met=2)), 1.0, None, None, {},
            evaluations=(2, 1, 1)),
    ]  # fmt: skip
    cities = [
        row(JINAN, jinan, JINAN, jinan, 4,  # a b c j
            kinds(authoritative_info=kind(1, late=1), press_conference=kind(1, met=1), response=kind(3, met=1, late=2),
                  continued_release=kind(2, met=1, waived=1)),
            0.5, 35.0, 80.0, {"1": 3, "2": 1}, explanations=1, evaluations=(2, 1, 1)),
        {**units[2], "code": QINGDAO, "name": qingdao},
        {**units[3], "code": ZIBO, "name": zibo},
        units[4],
    ]  # fmt: skip
    return {
        "period": {"from": live.day.isoformat(), "to": live.day.isoformat()},
        "generated_at": now.astimezone(SHANGHAI).isoformat(),
        "look_back_days": 365,
        "totals": {
            "incidents": 10,
            "obligations": kinds(
                authoritative_info=kind(2, met=1, late=1),  # c late, g met
                press_conference=kind(2, met=1, waived=1),  # c met, g waived
                response=kind(8, met=3, late=3, overdue=1, waived=1),  # a h i met; b e j late; d overdue; f waived
                continued_release=kind(3, met=1, waived=2),  # c met and waived; g waived
                acceptance=kind(1, late=1),  # f
                analysis=kind(1, waived=1),  # f
            ),
        },
        "units": units,
        "cities": cities,
        "findings": [
            {"unit": JN_CITY, "unit_name": "济南市教育局", "finding": "通报批评", "incidents": [i["c-late"]],
             "facts": [f"{i['c-late']}《测试舆情c-late》（重大）：发布权威信息（A3.1）应于 {at(5 * H)} 前完成，"
                       "逾期 1 小时 20 分钟完成；督办至第 2 级；评价：回应不妥当、处置不得力——发布信息与事实不符"]},
            {"unit": JN_COUNTY, "unit_name": "济南市历下区教育和体育局", "finding": "通报批评", "incidents": [i["j-down"]],
             "facts": [f"{i['j-down']}《测试舆情j-down》（重大）：予以回应（A3.3）应于 {at(48 * H)} 前完成，"
                       "逾期 20 分钟完成；督办至第 1 级"]},
            {"unit": ZB_CITY, "unit_name": "淄博市教育局", "finding": "约谈整改", "incidents": [i["d-overdue"], i["e-late"]],
             "facts": [
                 f"{i['d-overdue']}《测试舆情d-overdue》（特别重大）：予以回应（A3.3）应于 {at(48 * H)} 前完成，"
                 f"至 {at(50 * H)} 办结时仍未完成，逾期 2 小时；督办至第 1 级",
                 f"{i['e-late']}《测试舆情e-late》（重大）：予以回应（A3.3）应于 {at(48 * H)} 前完成，逾期 10 分钟完成；督办至第 1 级",
             ]},
            {"unit": PROVINCE, "unit_name": "山东省教育厅", "finding": "通报批评", "incidents": [i["i-province"]],
             "facts": [f"{i['i-province']}《测试舆情i-province》（重大）：评价：回应不妥当、处置得力——回应口径前后不一"]},
        ],
        "listed": [
            {"unit": JN_COUNTY, "unit_name": "济南市历下区教育和体育局", "incident": i["b-late"],
             "opinion_level": "relatively_major",
             "facts": [f"{i['b-late']}《测试舆情b-late》（较大）：予以回应（A3.3）应于 {at(48 * H)} 前完成，逾期 35 分钟完成；"
                       "督办至第 1 级；超时说明：值班人员误判，延误回应"]},
            {"unit": QD_COUNTY, "unit_name": "青岛市黄岛区教育和体育局", "incident": i["f-transfer"],
             "opinion_level": "relatively_major",
             "facts": [f"{i['f-transfer']}《测试舆情f-transfer》（较大）：接收转办（P4.c）应于 {at(H)} 前完成，逾期 10 分钟完成；"
                       "督办至第 1 级"]},
            {"unit": PROVINCE, "unit_name": "山东省教育厅", "incident": i["h-province"], "opinion_level": "relatively_major",
             "facts": [f"{i['h-province']}《测试舆情h-province》（较大）：评价：回应妥当、处置不得力——整改措施未落实"]},
        ],
    }  # fmt: skip


async def test_a5_2_a5_3_every_number_of_a_real_period(live: Live, tmp_path: Path) -> None:
    """A5.1-A5.3, P4.g, P4.h: the assessment of the day the ten incidents were discovered, whole."""
    lines = await ledger_of(live, tmp_path)
    now = live.t0 + 3 * 24 * H
    result = assess(lines, Period(from_=live.day, to=live.day), now=now)
    assert result.model_dump(mode="json") == expected_assessment(live, now)
    assert assess(list(reversed(lines)), result.period, now=now) == result  # deterministic whatever the order
    assert assess(lines, result.period, now=now, units_directory=load_directory()) == result  # the same names
    assert result.generated_at.utcoffset() == timedelta(hours=8)


async def test_a5_2_the_period_holds_only_what_was_discovered_in_it(live: Live, tmp_path: Path) -> None:
    """A5.2: the day before and the day after hold nothing; the findings need an incident of the period."""
    lines = await ledger_of(live, tmp_path)
    for day in (live.day - timedelta(days=1), live.day + timedelta(days=1)):
        result = assess(lines, Period(from_=day, to=day), now=live.t0)
        assert result.totals.incidents == 0
        assert (result.units, result.cities, result.findings, result.listed) == ([], [], [], [])
        assert {k: c.due for k, c in result.totals.obligations.items()} == dict.fromkeys(ObligationKind, 0)


async def test_a5_1_a5_3_what_the_evaluations_and_the_peak_level_decide(live: Live, tmp_path: Path) -> None:
    """A5.1, A5.3 on both sides: without its evaluation the provincial department is not found and its 较大
    incident not listed; without the peak level (a record older than the field) the incident taken down to
    较大 is listed, not found. Nothing else moves."""
    by_id = {line.incident_id: line for line in await ledger_of(live, tmp_path)}
    i = live.ids
    [real] = by_id[i["i-province"]].record.evaluations
    assert (real.by, real.response, real.disposition, real.reason) == (
        OFFICE, ResponseVerdict.IMPROPER, DispositionVerdict.EFFECTIVE, "回应口径前后不一"
    )  # fmt: skip
    closed_at = by_id[i["i-province"]].closed_at
    assert closed_at is not None and real.at > closed_at  # after 办结, in the P5.b window
    down = by_id[i["j-down"]].record
    assert (down.opinion_level, down.peak_opinion_level) == (OpinionLevel.RELATIVELY_MAJOR, OpinionLevel.MAJOR)

    now = live.t0 + 3 * 24 * H
    period = Period(from_=live.day, to=live.day)
    plain = expected_assessment(live, now)
    unevaluated = [line.model_copy(update={"record": line.record.model_copy(update={"evaluations": []})})
                   for line in by_id.values()]  # fmt: skip
    got = assess(unevaluated, period, now=now).model_dump(mode="json")
    zero = {"evaluated": 0, "improper_response": 0, "ineffective_disposition": 0}
    for key in ("units", "cities"):
        assert got[key] == [{**r, "evaluations": zero} for r in plain[key]]
    c_fact = plain["findings"][0]["facts"][0].removesuffix("；评价：回应不妥当、处置不得力——发布信息与事实不符")
    assert got["findings"] == [{**plain["findings"][0], "facts": [c_fact]}, *plain["findings"][1:3]]
    assert got["listed"] == plain["listed"][:2]

    j = by_id[i["j-down"]]
    older = j.model_copy(update={"record": j.record.model_copy(update={"peak_opinion_level": None})})
    got = assess([older if x is j else x for x in by_id.values()], period, now=now).model_dump(mode="json")
    assert [f["unit"] for f in got["findings"]] == [JN_CITY, ZB_CITY, PROVINCE]
    assert [x["incident"] for x in got["listed"]] == [i["b-late"], i["j-down"], i["f-transfer"], i["h-province"]]
    assert got["listed"][1]["facts"] == [plain["findings"][1]["facts"][0].replace("（重大）", "（较大）")]


# ------------------------------------------------------------------ collection from the server


async def _completed(live: Live, name: str) -> str:
    """The last run id of ``name``'s chain once its workflow has completed (after the evaluation window, P5.b,
    where the workflow keeps one)."""
    handle = live.env.client.get_workflow_handle(live.ids[name])
    description = await handle.describe()
    if description.status == WorkflowExecutionStatus.RUNNING:
        await Clock(live.env, live.env.client).advance(handle, timedelta(days=31))
        await asyncio.wait_for(handle.result(), 60)
        description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.COMPLETED
    return description.run_id or ""


async def _collect_all(live: Live, period: Period, cache: Path) -> tuple[list[IncidentLedger], list[str]]:
    """``collect`` until visibility lists every incident of ``live`` (it is eventually consistent)."""
    for _ in range(50):
        lines, problems = await collect(live.env.client, period, 365, cache_dir=cache)
        if set(live.ids.values()) <= {line.incident_id for line in lines}:
            return lines, problems
        await asyncio.sleep(0.2)
    raise AssertionError("visibility never listed every incident")


def _mine(live: Live, lines: Sequence[IncidentLedger]) -> dict[str, dict[str, Any]]:
    return {line.incident_id: line.model_dump(mode="json") for line in lines if line.incident_id in live.ids.values()}


async def test_collect_equals_the_auditors_ledger_and_caches_completed_chains(
    live: Live, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 (speed): collected lines equal the exported ledger's; a completed chain is replayed once."""
    done = await _completed(live, "a-met")
    exported = await ledger_of(live, tmp_path / "export")
    expected = {line.incident_id: line.model_copy(update={"files": [Path(f).name for f in line.files]}) for line in exported}
    period = Period(from_=live.day, to=live.day)
    cache = tmp_path / "cache"

    replayed: list[str] = []

    async def counting(paths: Sequence[Path], **kwargs: Any) -> AuditResult:
        result = await audit(paths, **kwargs)
        replayed.extend(r.run_id or "" for r in result.runs)
        return result

    monkeypatch.setattr(collect_module, "audit", counting)
    lines, problems = await _collect_all(live, period, cache)
    assert not [p for p in problems if any(i in p for i in live.ids.values())]

    def facts(found: dict[str, Any]) -> dict[str, Any]:
        """What a completed incident's result cannot know: deliveries and file names (the fast path)."""
        return {
            k: {**v, "files": [], "warnings": [{**w, "delivery": "unknown"} for w in v["warnings"]],
                "escalations": [{**e, "delivery": "unknown"} for e in v["escalations"]]}
            for k, v in found.items()
        }  # fmt: skip

    assert facts(_mine(live, lines)) == facts({k: v.model_dump(mode="json") for k, v in expected.items()})
    # a completed incident is read from its workflow's result (no replay) and cached
    assert done not in replayed and (cache / live.env.client.namespace / f"{done}.json").is_file()
    cached = read_cached(cache, live.env.client.namespace, done)
    assert cached is not None and facts({"x": cached.model_dump(mode="json")}) == facts(
        {"x": expected[live.ids["a-met"]].model_dump(mode="json")}
    )

    replayed.clear()
    again, _ = await _collect_all(live, period, cache)
    assert done not in replayed  # read from the cache, not replayed
    assert _mine(live, again) == _mine(live, lines)
    assert assess(again, period, now=live.t0).model_dump(mode="json")["findings"] == assess(
        exported, period, now=live.t0
    ).model_dump(mode="json")["findings"]


async def test_collect_keeps_only_incidents_discovered_in_the_window(live: Live, tmp_path: Path) -> None:
    """P5.a: the day before the discovery, with a one-day window, holds none of them (the start-time
    filter lets them through; the discovery time decides)."""
    before = live.day - timedelta(days=1)
    lines, _ = await collect(live.env.client, Period(from_=before, to=before), 1, cache_dir=tmp_path)
    assert not {line.incident_id for line in lines} & set(live.ids.values())


# ------------------------------------------------------------------ the rules on synthetic lines (pure)

DIRECTORY = load_directory()
T = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)  # 2026-11-10 10:00 in Shanghai
NOVEMBER = Period(from_=date(2026, 11, 1), to=date(2026, 11, 30))
LATE_RESPONSE = ((ObligationKind.RESPONSE, ObligationStatus.LATE, 30),)


def synthetic(
    incident_id: str,
    *,
    unit: str = ZB_CITY,
    level: OpinionLevel = OpinionLevel.MAJOR,
    peak: OpinionLevel | None = None,
    discovered: datetime = T,
    obligations: Sequence[tuple[ObligationKind, ObligationStatus, int | None]] = LATE_RESPONSE,
    evaluation: tuple[ResponseVerdict, DispositionVerdict] | None = None,
) -> IncidentLedger:
    """A closed incident's ledger line: each obligation (kind, status, minutes late) due 48 h after discovery."""
    chain = escalation_chain(DIRECTORY, unit)
    due, closed = discovered + 48 * H, discovered + 72 * H
    records, lines = [], []
    for n, (k, status, late) in enumerate(obligations, start=1):
        met_at = due + late * M if status == ObligationStatus.LATE and late is not None else None
        met_at = due - H if status == ObligationStatus.MET else met_at
        seconds = late * 60 if late is not None and status in (ObligationStatus.LATE, ObligationStatus.OVERDUE) else None
        records.append(Obligation(
            id=f"{k.value}#{n}", kind=k, rule="A3.3", clock_start=discovered, due_at=due, status=status, met_at=met_at,
            warn_at=due - 9 * H, escalation_interval=6 * H,
        ))  # fmt: skip
        lines.append(ObligationLine(
            obligation_id=f"{k.value}#{n}", kind=k, rule="A3.3", clock_start=discovered, due_at=due, met_at=met_at,
            met_by=None, status=status, lateness_seconds=seconds, still_late=False, warned_at=None, escalations=0,
            waived_reason=None,
        ))  # fmt: skip
    evaluations = (
        [Evaluation(seq=9, by=OFFICE, at=closed, response=evaluation[0], disposition=evaluation[1], reason="理由",
                    reason_sha256="0" * 64)]
        if evaluation else []
    )  # fmt: skip
    record = IncidentStatus(
        incident_id=incident_id, state=IncidentState.CLOSED, opinion_level=level, event=None, responsible_unit=unit,
        discovered_at=discovered, obligations=records, escalations=[], reports=[], rejected=[], title="合成事件",
        responsible_unit_name=chain[0].name, leader=chain[0].leader, section=chain[0].section, chain=chain,
        opened_at=discovered, closed_at=closed, policy_name="test", peak_opinion_level=peak, evaluations=evaluations,
    )  # fmt: skip
    return IncidentLedger(
        incident_id=incident_id, title="合成事件", responsible_unit=unit, responsible_unit_name=chain[0].name,
        opinion_level=level, event=None, state=IncidentState.CLOSED, discovered_at=discovered, opened_at=discovered,
        closed_at=closed, close_reason="办结", as_of=closed, runs=1, run_ids=[f"run-{incident_id}"], files=[],
        obligations=lines, warnings=[], escalations=[], rejected=[], record=record,
    )  # fmt: skip


def found(result: Assessment) -> dict[str, tuple[str, list[str]]]:
    return {f.unit: (f.finding, f.incidents) for f in result.findings}


def test_a5_3_opinion_level_threshold_is_major_at_any_time() -> None:
    """A5.3: 重大 and 特别重大 are found; 较大 and 一般 only listed; the peak counts, not the level at the end."""
    lines = [
        synthetic("YQ-major", unit="370300-jyj", level=OpinionLevel.MAJOR),
        synthetic("YQ-particularly", unit="370300-gaj", level=OpinionLevel.PARTICULARLY_MAJOR),
        synthetic("YQ-relatively", unit="370300-wjw", level=OpinionLevel.RELATIVELY_MAJOR),
        synthetic("YQ-general", unit="370300-yjj", level=OpinionLevel.GENERAL),
        synthetic("YQ-was-major", unit="370200-jyj", level=OpinionLevel.RELATIVELY_MAJOR, peak=OpinionLevel.MAJOR),
        synthetic("YQ-never", unit="370200-gaj", level=OpinionLevel.RELATIVELY_MAJOR, peak=OpinionLevel.RELATIVELY_MAJOR),
    ]
    result = assess(lines, NOVEMBER, now=T)
    assert found(result) == {
        "370200-jyj": ("通报批评", ["YQ-was-major"]),
        "370300-gaj": ("通报批评", ["YQ-particularly"]),
        "370300-jyj": ("通报批评", ["YQ-major"]),
    }
    assert [(x.unit, x.incident, x.opinion_level) for x in result.listed] == [
        ("370200-gaj", "YQ-never", OpinionLevel.RELATIVELY_MAJOR),
        ("370300-wjw", "YQ-relatively", OpinionLevel.RELATIVELY_MAJOR),
        ("370300-yjj", "YQ-general", OpinionLevel.GENERAL),
    ]
    assert result.findings[0].facts == [
        f"YQ-was-major《合成事件》（重大）：予以回应（A3.3）应于 {clock(T + 48 * H)} 前完成，逾期 30 分钟完成"
    ]


def test_a5_3_one_incident_is_criticism_two_are_a_summons() -> None:
    """A5.3: one incident in the window → 通报批评; a second, in the period or earlier in the window → 约谈整改."""
    one = assess([synthetic("YQ-1")], NOVEMBER, now=T)
    assert found(one) == {ZB_CITY: ("通报批评", ["YQ-1"])}
    two = assess([synthetic("YQ-2", discovered=T + H), synthetic("YQ-1")], NOVEMBER, now=T)
    assert found(two) == {ZB_CITY: ("约谈整改", ["YQ-1", "YQ-2"])}
    earlier = synthetic("YQ-0", discovered=T - timedelta(days=200))
    assert found(assess([synthetic("YQ-1"), earlier], NOVEMBER, now=T)) == {ZB_CITY: ("约谈整改", ["YQ-0", "YQ-1"])}
    other_unit = synthetic("YQ-x", unit="370300-gaj", discovered=T - timedelta(days=200))
    assert found(assess([synthetic("YQ-1"), other_unit], NOVEMBER, now=T)) == {ZB_CITY: ("通报批评", ["YQ-1"])}


def test_p5_a_the_window_edge() -> None:
    """P5.a: 365 Asia/Shanghai days ending with the period's last day: 2025-12-01 00:00 (Shanghai) is inside,
    2025-11-30 23:59:59 outside; a shorter window likewise."""
    assert window_start(NOVEMBER, 365) == date(2025, 12, 1)
    inside = synthetic("YQ-0", discovered=datetime(2025, 12, 1, 0, 0, tzinfo=SHANGHAI))
    outside = synthetic("YQ-0", discovered=datetime(2025, 11, 30, 23, 59, 59, tzinfo=SHANGHAI))
    assert found(assess([synthetic("YQ-1"), inside], NOVEMBER, now=T)) == {ZB_CITY: ("约谈整改", ["YQ-0", "YQ-1"])}
    assert found(assess([synthetic("YQ-1"), outside], NOVEMBER, now=T)) == {ZB_CITY: ("通报批评", ["YQ-1"])}
    assert window_start(NOVEMBER, 40) == date(2026, 10, 22)
    edge = datetime(2026, 10, 22, 0, 0, tzinfo=SHANGHAI)
    assert found(assess([synthetic("YQ-1"), synthetic("YQ-0", discovered=edge)], NOVEMBER, look_back_days=40, now=T)) == {
        ZB_CITY: ("约谈整改", ["YQ-0", "YQ-1"])
    }
    assert found(assess([synthetic("YQ-1"), synthetic("YQ-0", discovered=edge - S)], NOVEMBER, look_back_days=40, now=T)) == {
        ZB_CITY: ("通报批评", ["YQ-1"])
    }
    after = synthetic("YQ-2", discovered=datetime(2026, 12, 1, 0, 0, tzinfo=SHANGHAI))  # after the period: not counted
    assert found(assess([synthetic("YQ-1"), after], NOVEMBER, now=T)) == {ZB_CITY: ("通报批评", ["YQ-1"])}


def test_p5_a_the_window_covers_the_period_and_never_finds_on_the_past_alone() -> None:
    """P5.a (ours): a unit is found only for an incident of the period; a window shorter than the period
    still covers it; a negative window is refused."""
    past = [synthetic("YQ-a", discovered=T - timedelta(days=30)), synthetic("YQ-b", discovered=T - timedelta(days=20))]
    assert assess(past, NOVEMBER, now=T).findings == []
    assert window_start(NOVEMBER, 0) == window_start(NOVEMBER, 10) == NOVEMBER.from_
    early = synthetic("YQ-0", discovered=datetime(2026, 11, 1, 0, 0, tzinfo=SHANGHAI))
    assert found(assess([early, synthetic("YQ-1")], NOVEMBER, look_back_days=1, now=T)) == {
        ZB_CITY: ("约谈整改", ["YQ-0", "YQ-1"])
    }
    with pytest.raises(ValueError):
        window_start(NOVEMBER, -1)


@pytest.mark.parametrize(
    ("obligations", "evaluation", "counts"),
    [
        (LATE_RESPONSE, None, True),
        (((ObligationKind.ACCEPTANCE, ObligationStatus.OVERDUE, 5),), None, True),
        (((ObligationKind.ANALYSIS, ObligationStatus.LATE, 1),), None, True),
        (((ObligationKind.AUTHORITATIVE_INFO, ObligationStatus.LATE, 0),), None, True),  # late by seconds is late
        (((ObligationKind.PRESS_CONFERENCE, ObligationStatus.OVERDUE, 60),), None, True),
        (((ObligationKind.CONTINUED_RELEASE, ObligationStatus.LATE, 30),), None, False),  # not a report of A5.3
        (((ObligationKind.RESPONSE, ObligationStatus.MET, None),), (ResponseVerdict.IMPROPER, DispositionVerdict.EFFECTIVE), True),
        (((ObligationKind.RESPONSE, ObligationStatus.MET, None),), (ResponseVerdict.PROPER, DispositionVerdict.INEFFECTIVE), True),
        (((ObligationKind.RESPONSE, ObligationStatus.MET, None),), (ResponseVerdict.PROPER, DispositionVerdict.EFFECTIVE), False),
        (((ObligationKind.RESPONSE, ObligationStatus.WAIVED, None),), None, False),
    ],
)  # fmt: skip
def test_a5_3_what_counts_against_a_unit(
    obligations: tuple[tuple[ObligationKind, ObligationStatus, int | None], ...],
    evaluation: tuple[ResponseVerdict, DispositionVerdict] | None,
    counts: bool,
) -> None:
    """A5.3: a 5 h, 24 h, 48 h, acceptance or analysis obligation late or overdue, or an evaluation at fault."""
    major = assess([synthetic("YQ-1", obligations=obligations, evaluation=evaluation)], NOVEMBER, now=T)
    minor = assess([synthetic("YQ-1", obligations=obligations, evaluation=evaluation, level=OpinionLevel.GENERAL)], NOVEMBER, now=T)
    assert found(major) == ({ZB_CITY: ("通报批评", ["YQ-1"])} if counts else {})
    assert [x.incident for x in minor.listed] == (["YQ-1"] if counts else [])
    assert minor.findings == [] and major.listed == []


def test_a5_2_rates_and_lateness() -> None:
    """A5.2: on-time rate met ÷ (met + late + overdue), rounded to 4 places, null when none; lateness over
    late and overdue obligations of every kind; waived and pending count as due only."""
    line = synthetic("YQ-1", obligations=[
        (ObligationKind.RESPONSE, ObligationStatus.LATE, 10), (ObligationKind.ACCEPTANCE, ObligationStatus.OVERDUE, 40),
        (ObligationKind.ANALYSIS, ObligationStatus.MET, None), (ObligationKind.CONTINUED_RELEASE, ObligationStatus.LATE, 25),
        (ObligationKind.PRESS_CONFERENCE, ObligationStatus.WAIVED, None), (ObligationKind.AUTHORITATIVE_INFO, ObligationStatus.PENDING, None),
    ])  # fmt: skip
    [row_] = assess([line], NOVEMBER, now=T).units
    assert (row_.on_time_rate, row_.median_lateness_minutes, row_.worst_lateness_minutes) == (0.25, 25.0, 40.0)
    assert {k.value: (c.due, c.pending, c.waived) for k, c in row_.obligations.items() if c.due} == {
        "authoritative_info": (1, 1, 0), "press_conference": (1, 0, 1), "response": (1, 0, 0),
        "continued_release": (1, 0, 0), "acceptance": (1, 0, 0), "analysis": (1, 0, 0),
    }  # fmt: skip
    thirds = synthetic("YQ-2", obligations=[(ObligationKind.RESPONSE, ObligationStatus.MET, None)] + [
        (ObligationKind.ANALYSIS, ObligationStatus.LATE, 1)] * 2)  # fmt: skip
    [row_] = assess([thirds], NOVEMBER, now=T).units
    assert row_.on_time_rate == 0.3333 and row_.median_lateness_minutes == 1.0
    nothing = synthetic("YQ-3", obligations=[(ObligationKind.RESPONSE, ObligationStatus.WAIVED, None)])
    [row_] = assess([nothing], NOVEMBER, now=T).units
    assert (row_.on_time_rate, row_.median_lateness_minutes, row_.worst_lateness_minutes) == (None, None, None)


def test_a5_2_periods_are_shanghai_calendar_days_both_ends_included() -> None:
    """A5.2: 2026-11-01 00:00 and 2026-11-30 23:59:59 in Shanghai are in November; an instant either side is not."""
    times = {
        "YQ-first": datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc),
        "YQ-last": datetime(2026, 11, 30, 15, 59, 59, tzinfo=timezone.utc),
        "YQ-before": datetime(2026, 10, 31, 15, 59, 59, tzinfo=timezone.utc),
        "YQ-after": datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc),
    }
    lines = [synthetic(i, unit="370200-jyj", level=OpinionLevel.GENERAL, discovered=t) for i, t in times.items()]
    result = assess(lines, NOVEMBER, now=T)
    assert result.totals.incidents == 2 and [x.incident for x in result.listed] == ["YQ-first", "YQ-last"]
    assert [(r.code, r.incidents) for r in result.cities] == [("370200", 2)]


def test_outcome_peak_falls_back_to_the_level_and_city_of_the_chain() -> None:
    """A5.3: without ``peak_opinion_level`` (a record of an earlier release) the current level counts;
    the city is the city government of the chain (None for a provincial department)."""
    assert outcome(synthetic("YQ-1", level=OpinionLevel.RELATIVELY_MAJOR)).peak_level == OpinionLevel.RELATIVELY_MAJOR
    assert outcome(synthetic("YQ-1", level=OpinionLevel.MAJOR, peak=OpinionLevel.GENERAL)).peak_level == OpinionLevel.MAJOR
    assert (outcome(synthetic("YQ-1", unit=JN_COUNTY)).city, outcome(synthetic("YQ-1", unit=JN_COUNTY)).city_name) == (
        JINAN, "济南市人民政府"
    )  # fmt: skip
    assert outcome(synthetic("YQ-1", unit=PROVINCE)).city is None
    assert outcome(synthetic("YQ-1", unit=JINAN)).city == JINAN  # a city government answering itself


def test_assessment_json_contract_and_order() -> None:
    """The JSON's keys (``from``, levels as strings) and its order whatever the input order."""
    lines = [synthetic(f"YQ-{n}", unit=u, discovered=T + n * H) for n, u in enumerate([PROVINCE, ZB_CITY, JN_COUNTY, JN_CITY, QD_COUNTY])]
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    result = assess(lines, NOVEMBER, now=T)
    assert assess(shuffled, NOVEMBER, now=T) == result
    data = result.model_dump(mode="json")
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert [r["code"] for r in data["units"]] == sorted([PROVINCE, ZB_CITY, JN_COUNTY, JN_CITY, QD_COUNTY])
    assert [r["code"] for r in data["cities"]] == [JINAN, QINGDAO, ZIBO, PROVINCE]
    assert [f["unit"] for f in data["findings"]] == sorted(f["unit"] for f in data["findings"])
    assert data["generated_at"] == "2026-11-10T10:00:00+08:00"
    assert Assessment.model_validate(data) == result


def test_cache_round_trip_and_unusable_entries(tmp_path: Path) -> None:
    """A cached line reads back equal; a torn, foreign or mismatched file is a miss, never an error."""
    line = synthetic("YQ-1")
    write_cached(tmp_path, "default", line)
    assert read_cached(tmp_path, "default", "run-YQ-1") == line
    assert read_cached(tmp_path, "other", "run-YQ-1") is None
    path = tmp_path / "default" / "run-YQ-1.json"
    path.write_text(path.read_text(encoding="utf-8")[:50], encoding="utf-8")
    assert read_cached(tmp_path, "default", "run-YQ-1") is None
    path.write_text('{"format": "something-else/1", "run_id": "run-YQ-1", "ledger": {}}', encoding="utf-8")
    assert read_cached(tmp_path, "default", "run-YQ-1") is None
    write_cached(tmp_path, "default", line)
    (tmp_path / "default" / "run-YQ-1.json").rename(tmp_path / "default" / "run-YQ-2.json")
    assert read_cached(tmp_path, "default", "run-YQ-2") is None  # the line's last run is not the one asked for


def test_a5_3_facts_of_a_running_incident_and_an_explanation_from_an_earlier_run() -> None:
    """A5.3, P4.g: an overdue obligation of a running incident is told up to the ledger's end; an explanation
    the latest record no longer holds (an earlier run's obligation) is told as the ledger shows it."""
    line = synthetic("YQ-1", obligations=[(ObligationKind.RESPONSE, ObligationStatus.OVERDUE, 2 * 24 * 60 + 3 * 60 + 5)])
    running = line.model_copy(update={
        "state": IncidentState.OPEN, "closed_at": None, "as_of": T + 48 * H + 51 * H + 5 * M,
        "obligations": [line.obligations[0].model_copy(update={"explanation": "#7 370300-jyj 2026-11-12 12:00:00+08:00：系统故障"})],
        "record": line.record.model_copy(update={"obligations": []}),
    })  # fmt: skip
    assert outcome(running).found
    assert [f.facts for f in assess([running], NOVEMBER, now=T).findings] == [[
        f"YQ-1《合成事件》（重大）：予以回应（A3.3）应于 {clock(T + 48 * H)} 前完成，截至 {clock(T + 99 * H + 5 * M)} 仍未完成，"
        "已逾期 2 天 3 小时 5 分钟；超时说明：#7 370300-jyj 2026-11-12 12:00:00+08:00：系统故障"
    ]]  # fmt: skip
