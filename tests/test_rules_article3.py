"""Article 三 as pure functions: exact boundaries and the P3.b/P3.c/P3.d tables (A3.1-A3.4, P3.a-P3.f)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows.rules import article3_timeliness as a3
from yuqing.models import (
    EventCategory,
    EventGrade,
    ObligationKind,
    ObligationStatus,
    ReportRef,
    ReportType,
    ResponseWay,
    SuddenEvent,
)
from yuqing.policy import load_policy

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
US = timedelta(microseconds=1)
POLICY = load_policy()


def event(grade: EventGrade) -> SuddenEvent:
    return SuddenEvent(grade=grade, category=EventCategory.ACCIDENT)


MAJOR, GENERAL = event(EventGrade.MAJOR), event(EventGrade.GENERAL)


@pytest.mark.parametrize(
    ("ev", "kinds"),
    [
        (event(EventGrade.PARTICULARLY_MAJOR), ["authoritative_info", "press_conference"]),
        (event(EventGrade.MAJOR), ["authoritative_info", "press_conference"]),
        (event(EventGrade.RELATIVELY_MAJOR), ["response"]),
        (event(EventGrade.GENERAL), ["response"]),
        (None, ["response"]),
    ],
)
def test_a3_1_to_a3_3_which_clocks_an_incident_runs(ev: SuddenEvent | None, kinds: list[str]) -> None:
    """A3.1/A3.2 for 特别重大/重大 sudden events; A3.3 for every other incident, whatever its opinion level."""
    assert [o.kind.value for o in a3.opening_obligations(ev, T0, POLICY)] == kinds


@pytest.mark.parametrize(
    ("kind", "hours", "rule"),
    [
        (ObligationKind.AUTHORITATIVE_INFO, 5, "A3.1"),
        (ObligationKind.PRESS_CONFERENCE, 24, "A3.2"),
        (ObligationKind.RESPONSE, 48, "A3.3"),
        (ObligationKind.CONTINUED_RELEASE, 24, "P3.d"),
        (ObligationKind.ACCEPTANCE, 1, "P4.c"),
    ],
)
def test_p3_f_the_due_instant_belongs_to_the_unit(kind: ObligationKind, hours: int, rule: str) -> None:
    """P3.f: a report at exactly the due time is on time and the obligation is not yet overdue then;
    one microsecond later the report is late and the obligation overdue."""
    ob = a3.new_obligation(kind, T0, POLICY, [])
    due = T0 + hours * H
    assert (ob.due_at, ob.rule) == (due, rule)
    assert a3.fulfil(ob, due, 1).status == ObligationStatus.MET
    assert a3.fulfil(ob, due + US, 1).status == ObligationStatus.LATE
    assert not a3.becomes_overdue(ob, due)
    assert a3.becomes_overdue(ob, due + US)
    # the workflow wakes just after the due instant, never at it (where nothing would change)
    assert a3.next_clock(ob.model_copy(update={"warned_at": ob.warn_at})) == due + a3.AFTER_DUE


def test_p3_a_discovery_in_the_future_is_refused() -> None:
    assert a3.check_discovery(T0, T0) is None
    assert a3.check_discovery(T0 - H, T0) is None
    assert "P3.a" in (a3.check_discovery(T0 + timedelta(seconds=1), T0) or "")


# P3.b: (way, obligation kind) -> meets? Any channel; the 24 h one only by a press conference.
P3B = {
    ResponseWay.AUTHORITATIVE_RELEASE: {"authoritative_info", "response", "continued_release"},
    ResponseWay.PRESS_CONFERENCE: {"authoritative_info", "press_conference", "response", "continued_release"},
    ResponseWay.BRIEFING: {"authoritative_info", "response", "continued_release"},
    ResponseWay.MEDIA_INTERVIEW: {"response", "continued_release"},
}


@pytest.mark.parametrize("way", list(ResponseWay))
def test_p3_b_what_each_way_meets(way: ResponseWay) -> None:
    """P3.b: 5 h — an authoritative release, a conference or a briefing; 24 h — a press conference only;
    48 h and continued — any way."""
    obligations = [
        a3.new_obligation(k, T0, POLICY, [])
        for k in (ObligationKind.AUTHORITATIVE_INFO, ObligationKind.PRESS_CONFERENCE, ObligationKind.RESPONSE, ObligationKind.CONTINUED_RELEASE)
    ]
    _, met = a3.apply_release(obligations, way, T0 + H, 7, POLICY, MAJOR)
    assert {m.split("#")[0] for m in met} == P3B[way]
    assert set(P3B) == set(ResponseWay), "every way is in the table"


def test_p3_d_continued_release_clock_only_for_major_sudden_events() -> None:
    """A3.4 + P3.d: after each release of a 特别重大/重大 sudden event the next is due within 24 h."""
    obligations = a3.opening_obligations(MAJOR, T0, POLICY)
    obligations, met = a3.apply_release(obligations, ResponseWay.AUTHORITATIVE_RELEASE, T0 + 3 * H, 1, POLICY, MAJOR)
    assert met == ["authoritative_info#1"]
    cr1 = obligations[-1]
    assert (cr1.id, cr1.clock_start, cr1.due_at) == ("continued_release#1", T0 + 3 * H, T0 + 27 * H)
    obligations, met = a3.apply_release(obligations, ResponseWay.BRIEFING, T0 + 30 * H, 2, POLICY, MAJOR)
    assert met == ["continued_release#1"]
    assert obligations[-2].status == ObligationStatus.LATE
    assert (obligations[-1].id, obligations[-1].due_at) == ("continued_release#2", T0 + 54 * H)


@pytest.mark.parametrize("ev", [None, GENERAL, event(EventGrade.RELATIVELY_MAJOR)])
def test_p3_d_other_incidents_record_further_releases_with_no_clock(ev: SuddenEvent | None) -> None:
    """P3.d (revised): a 一般 or 较大 incident, or one with no sudden event, gets no continued-release clock."""
    obligations = a3.opening_obligations(ev, T0, POLICY)
    obligations, met = a3.apply_release(obligations, ResponseWay.AUTHORITATIVE_RELEASE, T0 + 3 * H, 1, POLICY, ev)
    obligations, again = a3.apply_release(obligations, ResponseWay.AUTHORITATIVE_RELEASE, T0 + 30 * H, 2, POLICY, ev)
    assert (met, again) == (["response#1"], [])
    assert [o.kind for o in obligations] == [ObligationKind.RESPONSE]


def test_new_obligation_ids_never_repeat_those_let_go_of() -> None:
    """P4.b: ids (and the idempotency keys built on them) follow what the record let go of (``issued``)."""
    ob = a3.new_obligation(ObligationKind.CONTINUED_RELEASE, T0, POLICY, [], issued={ObligationKind.CONTINUED_RELEASE: 41})
    assert ob.id == "continued_release#42"


def test_p3_e_warning_share_and_once_only() -> None:
    """P3.e: warned once at 80 % of the window; an obligation already past that point is warned at once."""
    ob = a3.new_obligation(ObligationKind.RESPONSE, T0, POLICY, [])
    assert ob.warn_at == T0 + timedelta(hours=38, minutes=24)
    assert not a3.warning_due(ob, ob.warn_at - US)
    assert a3.warning_due(ob, ob.warn_at)
    assert a3.warning_due(ob, ob.due_at)  # the due instant still belongs to the unit (P3.f)
    assert not a3.warning_due(ob, ob.due_at + US)  # too late to warn: the deadline has passed
    assert not a3.warning_due(ob.model_copy(update={"warned_at": ob.warn_at}), ob.warn_at)
    assert a3.next_clock(ob) == ob.warn_at


def _response(seq: int, at: datetime) -> ReportRef:
    return ReportRef(
        seq=seq, report_id=f"report-{seq:04d}", type=ReportType.RESPONSE, by="370102-jyj", at=at, arrived_at=at,
        text="回应", text_length=2, text_sha256="0" * 64, way=ResponseWay.AUTHORITATIVE_RELEASE,
    )  # fmt: skip


def reclassify(obs, old, new, at, first_response=None, first_due=None, issued=None):  # type: ignore[no-untyped-def]
    due = first_due if first_due is not None else {o.kind: o.due_at for o in obs}
    return a3.reclassify(obs, old, new, at, T0, first_response, "理由", POLICY, due, issued)


def test_p3_c_up_adds_5h_and_24h_from_reclassification_keeps_48h() -> None:
    before = a3.opening_obligations(GENERAL, T0, POLICY)
    after = reclassify(before, GENERAL, MAJOR, T0 + 10 * H)
    assert [(o.id, o.due_at) for o in after] == [
        ("response#1", T0 + 48 * H),
        ("authoritative_info#1", T0 + 15 * H),
        ("press_conference#1", T0 + 34 * H),
    ]


def test_p3_c_up_down_up_keeps_the_first_deadline() -> None:
    """P3.c (revised): up, down and up again never moves the 5 h and 24 h deadlines later than the first."""
    opened = a3.opening_obligations(GENERAL, T0, POLICY)
    up = reclassify(opened, GENERAL, MAJOR, T0 + 1 * H)
    first_due = {o.kind: o.due_at for o in up}
    down = reclassify(up, MAJOR, GENERAL, T0 + 2 * H, first_due=first_due)
    again = reclassify(down, GENERAL, MAJOR, T0 + 3 * H, first_due=first_due)
    info = [o for o in again if o.kind == ObligationKind.AUTHORITATIVE_INFO]
    assert [(o.id, o.status) for o in info] == [
        ("authoritative_info#1", ObligationStatus.WAIVED),
        ("authoritative_info#2", ObligationStatus.PENDING),
    ]
    assert info[1].due_at == T0 + 6 * H  # the first deadline, not 3 h + 5 h = 8 h
    assert info[1].clock_start == T0 + 1 * H
    press = [o for o in again if o.kind == ObligationKind.PRESS_CONFERENCE]
    assert press[-1].due_at == T0 + 25 * H


def test_p3_c_up_again_with_a_later_first_deadline_starts_now() -> None:
    """P3.c: "never later than" — a new clock that ends earlier than the first one keeps its own deadline."""
    opened = a3.opening_obligations(GENERAL, T0, POLICY)
    first_due = {ObligationKind.AUTHORITATIVE_INFO: T0 + 50 * H, ObligationKind.PRESS_CONFERENCE: T0 + 90 * H}
    up = reclassify(opened, GENERAL, MAJOR, T0 + 10 * H, first_due=first_due)
    assert [o.due_at for o in up if o.kind == ObligationKind.AUTHORITATIVE_INFO] == [T0 + 15 * H]


def test_p3_c_up_again_does_not_owe_a_met_or_open_kind_twice() -> None:
    """P3.c: a 5 h obligation met (or still overdue) before a downgrade is not owed again after an upgrade."""
    opened = a3.opening_obligations(MAJOR, T0, POLICY)
    opened[0] = a3.fulfil(opened[0], T0 + 2 * H, 1)
    opened[1] = opened[1].model_copy(update={"status": ObligationStatus.OVERDUE})
    down = reclassify(opened, MAJOR, GENERAL, T0 + 30 * H, first_response=_response(1, T0 + 2 * H))
    again = reclassify(down, GENERAL, MAJOR, T0 + 31 * H)
    assert [(o.id, o.status) for o in again] == [
        ("authoritative_info#1", ObligationStatus.MET),
        ("press_conference#1", ObligationStatus.OVERDUE),
        ("response#1", ObligationStatus.MET),
    ]


def test_p3_c_between_major_grades_changes_no_clock() -> None:
    before = a3.opening_obligations(MAJOR, T0, POLICY)
    after = reclassify(before, MAJOR, event(EventGrade.PARTICULARLY_MAJOR), T0 + H)
    assert after == before


def test_p3_c_down_waives_open_major_clocks_keeps_met_ones_and_applies_48h() -> None:
    before = a3.opening_obligations(MAJOR, T0, POLICY)
    before[0] = a3.fulfil(before[0], T0 + 2 * H, 1)  # authoritative info met
    before.append(a3.new_obligation(ObligationKind.CONTINUED_RELEASE, T0 + 2 * H, POLICY, before))
    after = reclassify(before, MAJOR, None, T0 + 3 * H, first_response=_response(1, T0 + 2 * H))
    assert [(o.id, o.status) for o in after] == [
        ("authoritative_info#1", ObligationStatus.MET),
        ("press_conference#1", ObligationStatus.WAIVED),
        ("continued_release#1", ObligationStatus.WAIVED),  # P3.d: no continued-release clock below 重大
        ("response#1", ObligationStatus.MET),
    ]
    assert "理由" in (after[1].waived_reason or "")
    assert (after[3].due_at, after[3].met_at, after[3].met_by) == (T0 + 48 * H, T0 + 2 * H, 1)


def test_p3_c_down_with_a_late_first_response_is_late() -> None:
    before = a3.opening_obligations(MAJOR, T0, POLICY)
    after = reclassify(before, MAJOR, GENERAL, T0 + 60 * H, first_response=_response(3, T0 + 50 * H))
    assert after[-1].status == ObligationStatus.LATE


def test_close_waives_pending_but_keeps_overdue() -> None:
    obs = a3.opening_obligations(MAJOR, T0, POLICY)
    obs[0] = obs[0].model_copy(update={"status": ObligationStatus.OVERDUE})
    closed = a3.waive_on_close(obs, "办结", T0 + H)
    assert [o.status for o in closed] == [ObligationStatus.OVERDUE, ObligationStatus.WAIVED]


@pytest.mark.parametrize(("after", "status"), [(timedelta(0), ObligationStatus.WAIVED), (US, ObligationStatus.OVERDUE)])
def test_a_close_or_downgrade_after_the_due_instant_never_waives_a_miss(after: timedelta, status: ObligationStatus) -> None:
    """P3.c, P3.f, 办结: an obligation whose due instant has passed when the close or downgrade counts is
    missed, even if no timer has marked it overdue yet (the message shared a workflow task with the
    deadline, or came after an outage). The finding: it was waived, and no 催办 was ever sent."""
    opened = a3.opening_obligations(MAJOR, T0, POLICY)
    at = T0 + 5 * H + after
    assert a3.waive_on_close(opened, "办结", at)[0].status == status
    assert reclassify(opened, MAJOR, GENERAL, at)[0].status == status


def test_p3_c_up_then_down_keeps_the_one_pending_48h_response() -> None:
    """P3.c: up keeps the pending 48 h response; down again waives the new clocks and adds no second response."""
    opened = a3.opening_obligations(GENERAL, T0, POLICY)
    up = reclassify(opened, GENERAL, MAJOR, T0 + 10 * H)
    down = reclassify(up, MAJOR, GENERAL, T0 + 12 * H)
    assert [(o.id, o.status, o.due_at) for o in down] == [
        ("response#1", ObligationStatus.PENDING, T0 + 48 * H),
        ("authoritative_info#1", ObligationStatus.WAIVED, T0 + 15 * H),
        ("press_conference#1", ObligationStatus.WAIVED, T0 + 34 * H),
    ]


def test_p3_c_down_keeps_an_escalated_obligation_overdue_and_stops_its_escalation() -> None:
    """P3.c (revised): an overdue 5 h obligation stays overdue on the record after a downgrade, and stops
    escalating while the event is not 特别重大/重大; upgraded again, it escalates again."""
    before = a3.opening_obligations(MAJOR, T0, POLICY)
    before[0] = before[0].model_copy(update={"status": ObligationStatus.OVERDUE, "next_step": 2})
    after = reclassify(before, MAJOR, None, T0 + 7 * H)
    assert [(o.id, o.status) for o in after[:2]] == [
        ("authoritative_info#1", ObligationStatus.OVERDUE),
        ("press_conference#1", ObligationStatus.WAIVED),
    ]
    assert after[0] == before[0]
    assert a3.escalates(after[0], MAJOR) and not a3.escalates(after[0], None) and not a3.escalates(after[0], GENERAL)
    response = a3.new_obligation(ObligationKind.RESPONSE, T0, POLICY, [])
    assert a3.escalates(response, None) and a3.escalates(response, MAJOR)
