"""The notice's clocks in a running workflow, crossed with time skipping (A3.1-A3.4, P3.e, P3.f, P4.a, D2).

Every boundary is tested from both sides: 4 h 59 min / 5 h 01 min, 23 h 59 min / 24 h 01 min,
47 h 59 min / 48 h 01 min, and the due instant itself (P3.f) to the microsecond in ``test_rules_article3``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import CITY, COUNTY, OFFICE, UNIT, Clock, escalations_of, make_incident, release
from yuqing.models import (
    EscalationAction,
    EventGrade,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReleaseChannel,
    ResponseWay,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


def by_kind(status, kind: ObligationKind):  # type: ignore[no-untyped-def]
    return next(o for o in status.obligations if o.kind == kind)


# ---------------------------------------------------------------- A3.1: 5 hours


async def test_a3_1_release_at_4h59_meets_the_5h_obligation(clock: Clock) -> None:
    """A3.1: authoritative information within 5 h — released at 4 h 59 min is on time, nothing escalates."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 4 * H + 59 * M)
    status = await clock.file(handle, release())
    info = by_kind(status, ObligationKind.AUTHORITATIVE_INFO)
    assert info.status == ObligationStatus.MET
    assert info.met_at is not None and info.met_at <= info.due_at
    status = await clock.to(handle, 8 * H)
    assert escalations_of(status, info.id) == []


async def test_a3_1_nothing_by_5h01_is_overdue_and_escalated_at_the_deadline(clock: Clock) -> None:
    """A3.1 + P4.a: at 5 h 01 min without a release the obligation is overdue, level 1 fired at 5 h."""
    handle = await clock.open(make_incident(grade=EventGrade.PARTICULARLY_MAJOR))
    status = await clock.to(handle, 4 * H + 59 * M)
    info = by_kind(status, ObligationKind.AUTHORITATIVE_INFO)
    assert info.status == ObligationStatus.PENDING and status.escalations == []
    status = await clock.to(handle, 5 * H + 1 * M)
    info = by_kind(status, ObligationKind.AUTHORITATIVE_INFO)
    assert info.status == ObligationStatus.OVERDUE
    assert info.due_at == status.discovered_at + 5 * H
    [esc] = status.escalations
    assert (esc.level, esc.round, esc.target, esc.action) == (1, 1, status.responsible_unit, EscalationAction.URGE)
    assert esc.due_at == info.due_at and timedelta(0) < esc.at - info.due_at < 2 * timedelta(seconds=1)  # P3.f: after
    # a release now is late, and stops the escalation (D.esc)
    receipt = await service.file_report(clock.client, handle.id, release())
    assert [(m.kind, m.status) for m in receipt.met] == [(ObligationKind.AUTHORITATIVE_INFO, ObligationStatus.LATE)]


async def test_p3_b_a_situation_report_on_weibo_meets_the_5h_rule(clock: Clock) -> None:
    """P3.b (revised): an authoritative release (情况通报) meets the 5 h obligation on any channel — the
    first release refused 政务微博 as a way that meets it."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 4 * H)
    receipt = await service.file_report(
        clock.client, handle.id, release(ResponseWay.AUTHORITATIVE_RELEASE, ReleaseChannel.WEIBO, text="情况通报")
    )
    assert [m.kind for m in receipt.met] == [ObligationKind.AUTHORITATIVE_INFO]
    status = await clock.to(handle, 5 * H + M)
    assert status.escalations == []


# ------------------------------------------------------------ A3.2: 24 hours


async def test_a3_2_press_conference_at_23h59_meets_24h(clock: Clock) -> None:
    """A3.2: a press conference within 24 h; 23 h 59 min is on time."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 1 * H)
    await service.file_report(clock.client, handle.id, release())
    await clock.to(handle, 23 * H + 59 * M)
    await service.file_report(clock.client, handle.id, release(ResponseWay.PRESS_CONFERENCE))
    status = await clock.status(handle)
    assert by_kind(status, ObligationKind.PRESS_CONFERENCE).status == ObligationStatus.MET
    assert status.reports[-1].speaker is not None  # N3.b: the record names who spoke
    status = await clock.to(handle, 30 * H)
    assert escalations_of(status, by_kind(status, ObligationKind.PRESS_CONFERENCE).id) == []


async def test_a3_2_no_press_conference_by_24h01_escalates(clock: Clock) -> None:
    """A3.2 + P3.b: releases that are not a press conference do not meet the 24 h obligation."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    await service.file_report(clock.client, handle.id, release(ResponseWay.BRIEFING))
    status = await clock.to(handle, 23 * H + 59 * M)
    press = by_kind(status, ObligationKind.PRESS_CONFERENCE)
    assert press.status == ObligationStatus.PENDING
    status = await clock.to(handle, 24 * H + 1 * M)
    press = by_kind(status, ObligationKind.PRESS_CONFERENCE)
    assert press.status == ObligationStatus.OVERDUE
    assert escalations_of(status, press.id) == [(1, 1, status.responsible_unit)]


# ------------------------------------------------------------ A3.3: 48 hours


async def test_a3_3_response_at_47h59_meets_48h(clock: Clock) -> None:
    """A3.3: every other incident responds within 48 h; 47 h 59 min is on time (any P3.b way)."""
    handle = await clock.open(make_incident(level=OpinionLevel.MAJOR, grade=EventGrade.RELATIVELY_MAJOR))
    status = await clock.status(handle)
    assert [o.kind for o in status.obligations] == [ObligationKind.RESPONSE]
    await clock.to(handle, 47 * H + 59 * M)
    await service.file_report(clock.client, handle.id, release(ResponseWay.MEDIA_INTERVIEW, ReleaseChannel.NEWS_MEDIA))
    status = await clock.status(handle)
    assert by_kind(status, ObligationKind.RESPONSE).status == ObligationStatus.MET
    assert status.escalations == []


async def test_a3_3_no_response_by_48h01_escalates_every_6h(clock: Clock) -> None:
    """A3.3 + P4.a: overdue at 48 h 01 min; level 2 one 6 h interval later."""
    handle = await clock.open(make_incident())
    status = await clock.to(handle, 47 * H + 59 * M)
    assert by_kind(status, ObligationKind.RESPONSE).status == ObligationStatus.PENDING
    status = await clock.to(handle, 48 * H + 1 * M)
    response = by_kind(status, ObligationKind.RESPONSE)
    assert response.status == ObligationStatus.OVERDUE
    assert escalations_of(status, response.id) == [(1, 1, UNIT)]
    status = await clock.to(handle, 53 * H + 59 * M)
    assert len(status.escalations) == 1
    status = await clock.to(handle, 54 * H + 1 * M)
    assert escalations_of(status, response.id) == [(1, 1, UNIT), (2, 1, COUNTY)]


# ------------------------------------------------------- A3.4 / P3.d: continued


async def test_a3_4_continued_release_due_24h_after_each_release(clock: Clock) -> None:
    """A3.4, P3.d: for a 重大 sudden event, after each release the next is due within 24 h while open."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 4 * H)
    await service.file_report(clock.client, handle.id, release())
    status = await clock.status(handle)
    first = by_kind(status, ObligationKind.CONTINUED_RELEASE)
    assert first.due_at == first.clock_start + 24 * H
    status = await clock.to(handle, 4 * H + 23 * H + 59 * M)
    assert by_kind(status, ObligationKind.CONTINUED_RELEASE).status == ObligationStatus.PENDING
    await service.file_report(clock.client, handle.id, release(ResponseWay.BRIEFING, ReleaseChannel.ON_SITE))
    status = await clock.status(handle)
    kinds = [(o.id, o.status) for o in status.obligations if o.kind == ObligationKind.CONTINUED_RELEASE]
    assert kinds == [("continued_release#1", ObligationStatus.MET), ("continued_release#2", ObligationStatus.PENDING)]
    status = await clock.to(handle, 4 * H + 23 * H + 59 * M + 24 * H + 2 * M)
    assert status.obligation("continued_release#2").status == ObligationStatus.OVERDUE
    assert escalations_of(status, "continued_release#2") == [(1, 1, UNIT)]


async def test_p3_d_a_general_incident_has_no_continued_release_clock(clock: Clock) -> None:
    """P3.d (revised): a 一般 incident's further releases are recorded with no clock, so nothing ever
    escalates to the provincial office for them (the first release did, every 24 h, forever)."""
    handle = await clock.open(make_incident(level=OpinionLevel.GENERAL))
    await clock.to(handle, 10 * H)
    await service.file_report(clock.client, handle.id, release())
    await service.file_report(clock.client, handle.id, release(text="第二次发布"))
    status = await clock.to(handle, 10 * 24 * H)
    assert [o.kind for o in status.obligations] == [ObligationKind.RESPONSE]
    assert status.escalations == [] and len(status.reports) == 2


# --------------------------------------------------------------- P3.e warnings


@pytest.mark.parametrize(
    ("grade", "kind", "warn_at"),
    [
        (EventGrade.MAJOR, ObligationKind.AUTHORITATIVE_INFO, 4 * H),
        (None, ObligationKind.RESPONSE, timedelta(hours=38, minutes=24)),
    ],
)
async def test_p3_e_warning_at_80_percent(
    clock: Clock, outbox: SqliteOutbox, grade: EventGrade | None, kind: ObligationKind, warn_at: timedelta
) -> None:
    """P3.e: the responsible unit is warned when 80% of the window has passed, not before."""
    handle = await clock.open(make_incident(grade=grade))
    status = await clock.to(handle, warn_at - M)
    assert status.warnings == []
    status = await clock.to(handle, warn_at + M)
    [warning] = status.warnings
    obligation = by_kind(status, kind)
    assert warning.obligation_id == obligation.id and warning.target == status.responsible_unit
    assert timedelta(0) <= warning.at - (status.discovered_at + warn_at) < timedelta(seconds=2)
    assert obligation.warned_at == warning.at
    warned = [r for r in outbox.rows(handle.id) if r["kind"] == "warning"]
    assert [(r["target"], r["obligation_id"]) for r in warned] == [(status.responsible_unit, obligation.id)]


async def test_p3_e_no_warning_once_met(clock: Clock) -> None:
    """P3.e: an obligation met before 80% of its window is never warned about."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 1 * H)
    await service.file_report(clock.client, handle.id, release(ResponseWay.PRESS_CONFERENCE))
    status = await clock.to(handle, 4 * H + 1 * M)
    assert [w.obligation for w in status.warnings] == []  # the new continued release warns at 20 h only


# ---------------------------------------------------------- P4.a escalation


async def test_p4_a_levels_1_to_4_then_repeats_and_none_after_met(clock: Clock, outbox: SqliteOutbox) -> None:
    """P4.a + P4.d: 催办 the unit at 5 h, 督促 its county at 6 h and its city at 7 h, 督办 the office at
    8 h and every hour after; nothing once met."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    info_id = "authoritative_info#1"
    ladder = [(1, 1, UNIT), (2, 1, COUNTY), (3, 1, CITY), (4, 1, OFFICE), (4, 2, OFFICE)]
    expected = [
        (5 * H + M, ladder[:1]),
        (6 * H - M, ladder[:1]),
        (6 * H + M, ladder[:2]),
        (7 * H + M, ladder[:3]),
        (8 * H + M, ladder[:4]),
        (9 * H + M, ladder[:5]),
    ]
    for at, steps in expected:
        status = await clock.to(handle, at)
        assert escalations_of(status, info_id) == steps, at
    actions = [e.action for e in status.escalations if e.obligation_id == info_id]
    assert actions == [EscalationAction.URGE, EscalationAction.SUPERVISE, EscalationAction.SUPERVISE] + [EscalationAction.OVERSEE] * 2
    for e in status.escalations:
        assert e.skipped_steps == 0
        assert timedelta(0) <= e.at - e.due_at < timedelta(seconds=2)
    info = status.obligation(info_id)
    assert (info.escalations, info.last_level) == (5, 4)
    await clock.to(handle, 9 * H + 30 * M)
    await service.file_report(clock.client, handle.id, release())
    status = await clock.to(handle, 14 * H)
    assert len(escalations_of(status, info_id)) == 5
    # every escalation reached the outbox exactly once, keyed by incident/obligation/level/round (P4.b)
    sent = sorted(
        (r["key"], r["target"], r["action"])
        for r in outbox.rows(handle.id)
        if r["kind"] == "escalation" and r["obligation_id"] == info_id
    )
    # ... and reached the unit the step names (P4.d), with its action (D.esc)
    assert sent == sorted(
        (f"{handle.id}/{info_id}/{lv}/{rd}", target, action.value)
        for (lv, rd, target), action in zip(ladder, actions, strict=True)
    )


async def test_p4_d_provincial_department_chain_collapses(clock: Clock) -> None:
    """P4.d: for a provincial department the government is the provincial office: two levels, top repeats."""
    handle = await clock.open(make_incident(unit="sz-jyt", grade=EventGrade.MAJOR))
    status = await clock.to(handle, 8 * H + M)
    assert escalations_of(status, "authoritative_info#1") == [
        (1, 1, "sz-jyt"),
        (2, 1, "sz-bgt"),
        (2, 2, "sz-bgt"),
        (2, 3, "sz-bgt"),
    ]


async def test_p4_a_backdated_discovery_escalates_one_round_with_the_units_urge(clock: Clock, outbox: SqliteOutbox) -> None:
    """P3.a + P4.a (revised): discovered 72 h ago, the 48 h deadline is 24 h past: one round fires — the
    current step (督办, the office) and the unit's own 催办, which it never had — never a burst."""
    now = datetime.now(timezone.utc)  # a new workflow's virtual clock starts at the real time
    incident = make_incident(discovered_at=now - 72 * H)
    handle = await clock.open(incident)
    status = await clock.status(handle)
    response = by_kind(status, ObligationKind.RESPONSE)
    assert status.discovered_at == incident.discovered_at
    assert response.status == ObligationStatus.OVERDUE
    assert [(e.level, e.round, e.target, e.skipped_steps) for e in status.escalations] == [
        (1, 1, UNIT, 0),  # the unit's 催办 (the first release never sent it)
        (4, 2, OFFICE, 3),  # the current step; steps 1-3 collapsed into it
    ]
    assert status.warnings == []  # the warning time passed with the deadline: no warning after the fact
    # the ladder goes on from there, on schedule: next step at 48 h + 5 x 6 h = 78 h
    status = await clock.to(handle, 77 * H + 59 * M)
    assert len(status.escalations) == 2
    status = await clock.to(handle, 78 * H + M)
    assert escalations_of(status, response.id) == [(1, 1, UNIT), (4, 2, OFFICE), (4, 3, OFFICE)]
    assert len([r for r in outbox.rows(handle.id) if r["kind"] == "escalation"]) == 3


async def test_p3_a_clock_runs_from_discovery_not_opening(clock: Clock) -> None:
    """P3.a: discovered 3 h before opening, the 5 h obligation falls due 2 h after opening."""
    now = datetime.now(timezone.utc)  # a new workflow's virtual clock starts at the real time
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR, discovered_at=now - 3 * H))
    status = await clock.status(handle)
    info = by_kind(status, ObligationKind.AUTHORITATIVE_INFO)
    assert info.due_at == status.discovered_at + 5 * H
    assert info.due_at - status.opened_at < 2 * H + M


async def test_notification_texts_read_in_beijing_time(clock: Clock, outbox: SqliteOutbox) -> None:
    """Staff read deadlines in 北京时间 (UTC+8), not UTC."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    status = await clock.to(handle, 4 * H + M)
    due = status.obligation("authoritative_info#1").due_at.astimezone(timezone(8 * H))
    [warning] = [r for r in outbox.rows(handle.id) if r["kind"] == "warning"]
    assert f"{due:%Y-%m-%d %H:%M}（北京时间）" in warning["subject"]
    assert "+00:00" not in warning["subject"]
