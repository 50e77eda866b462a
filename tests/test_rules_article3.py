"""Article 三 as pure functions: exact boundaries and the P3.b/P3.c tables (A3.1-A3.4, P3.a-P3.e)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows.rules import article3_timeliness as a3
from yuqing.models import (
    EventCategory,
    EventGrade,
    ObligationKind,
    ObligationStatus,
    ReportRecord,
    ResponseWay,
    SuddenEvent,
)
from yuqing.policy import load_policy

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
POLICY = load_policy()


def event(grade: EventGrade) -> SuddenEvent:
    return SuddenEvent(grade=grade, category=EventCategory.ACCIDENT)


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
def test_windows_and_inclusive_boundaries(kind: ObligationKind, hours: int, rule: str) -> None:
    """A report at exactly the due time meets it; one microsecond later is late."""
    ob = a3.new_obligation(kind, T0, POLICY, [])
    assert (ob.due_at, ob.rule) == (T0 + hours * H, rule)
    assert a3.fulfil(ob, T0 + hours * H, 1).status == ObligationStatus.MET
    assert a3.fulfil(ob, T0 + hours * H + timedelta(microseconds=1), 1).status == ObligationStatus.LATE
    assert not a3.becomes_overdue(ob, T0 + hours * H - timedelta(microseconds=1))
    assert a3.becomes_overdue(ob, T0 + hours * H)


def test_p3_a_discovery_in_the_future_is_refused() -> None:
    assert a3.check_discovery(T0, T0) is None
    assert a3.check_discovery(T0 - H, T0) is None
    assert "P3.a" in (a3.check_discovery(T0 + timedelta(seconds=1), T0) or "")


# P3.b: (way, obligation kind) -> meets?
P3B = {
    ResponseWay.AUTHORITATIVE_RELEASE: {"authoritative_info", "response", "continued_release"},
    ResponseWay.PRESS_CONFERENCE: {"authoritative_info", "press_conference", "response", "continued_release"},
    ResponseWay.BRIEFING: {"authoritative_info", "response", "continued_release"},
    ResponseWay.MEDIA_INTERVIEW: {"response", "continued_release"},
    ResponseWay.ONLINE_POST: {"response", "continued_release"},
}


@pytest.mark.parametrize("way", list(ResponseWay))
def test_p3_b_what_each_way_meets(way: ResponseWay) -> None:
    """P3.b: 5 h — release, conference or briefing; 24 h — a press conference only; 48 h and continued — any way."""
    obligations = [
        a3.new_obligation(k, T0, POLICY, [])
        for k in (ObligationKind.AUTHORITATIVE_INFO, ObligationKind.PRESS_CONFERENCE, ObligationKind.RESPONSE, ObligationKind.CONTINUED_RELEASE)
    ]
    _, met = a3.apply_release(obligations, way, T0 + H, 7, POLICY)
    assert {m.split("#")[0] for m in met} == P3B[way]


def test_a3_4_p3_d_each_release_starts_the_next_continued_release() -> None:
    obligations = a3.opening_obligations(None, T0, POLICY)
    obligations, met = a3.apply_release(obligations, ResponseWay.ONLINE_POST, T0 + 3 * H, 1, POLICY)
    assert met == ["response#1"]
    cr1 = obligations[-1]
    assert (cr1.id, cr1.clock_start, cr1.due_at) == ("continued_release#1", T0 + 3 * H, T0 + 27 * H)
    obligations, met = a3.apply_release(obligations, ResponseWay.BRIEFING, T0 + 30 * H, 2, POLICY)
    assert met == ["continued_release#1"]
    assert obligations[-2].status == ObligationStatus.LATE
    assert (obligations[-1].id, obligations[-1].due_at) == ("continued_release#2", T0 + 54 * H)


def test_p3_e_warning_share_and_once_only() -> None:
    ob = a3.new_obligation(ObligationKind.RESPONSE, T0, POLICY, [])
    assert ob.warn_at == T0 + timedelta(hours=38, minutes=24)
    assert not a3.warning_due(ob, ob.warn_at - timedelta(seconds=1))
    assert a3.warning_due(ob, ob.warn_at)
    assert not a3.warning_due(ob, ob.due_at)  # too late to warn: the deadline has passed
    assert not a3.warning_due(ob.model_copy(update={"warned_at": ob.warn_at}), ob.warn_at)
    assert a3.next_clock(ob) == ob.warn_at
    assert a3.next_clock(ob.model_copy(update={"warned_at": ob.warn_at})) == ob.due_at


def _response(seq: int, at: datetime) -> ReportRecord:
    return ReportRecord(seq=seq, type="response", at=at, text="回应", way=ResponseWay.ONLINE_POST)


def test_p3_c_up_adds_5h_and_24h_from_reclassification_keeps_48h() -> None:
    before = a3.opening_obligations(event(EventGrade.GENERAL), T0, POLICY)
    after = a3.reclassify(before, event(EventGrade.GENERAL), event(EventGrade.MAJOR), T0 + 10 * H, T0, [], "升级", POLICY)
    assert [(o.id, o.due_at) for o in after] == [
        ("response#1", T0 + 48 * H),
        ("authoritative_info#1", T0 + 15 * H),
        ("press_conference#1", T0 + 34 * H),
    ]


def test_p3_c_between_major_grades_changes_no_clock() -> None:
    before = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    after = a3.reclassify(before, event(EventGrade.MAJOR), event(EventGrade.PARTICULARLY_MAJOR), T0 + H, T0, [], "升级", POLICY)
    assert after == before


def test_p3_c_down_waives_open_major_clocks_keeps_met_ones_and_applies_48h() -> None:
    before = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    before[0] = a3.fulfil(before[0], T0 + 2 * H, 1)  # authoritative info met
    after = a3.reclassify(
        before, event(EventGrade.MAJOR), None, T0 + 3 * H, T0, [_response(1, T0 + 2 * H)], "核实为非突发事件", POLICY
    )
    assert [(o.id, o.status) for o in after] == [
        ("authoritative_info#1", ObligationStatus.MET),
        ("press_conference#1", ObligationStatus.WAIVED),
        ("response#1", ObligationStatus.MET),
    ]
    assert "核实为非突发事件" in (after[1].waived_reason or "")
    assert (after[2].due_at, after[2].met_at, after[2].met_by) == (T0 + 48 * H, T0 + 2 * H, 1)


def test_p3_c_down_with_a_late_first_response_is_late() -> None:
    before = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    after = a3.reclassify(before, event(EventGrade.MAJOR), event(EventGrade.GENERAL), T0 + 60 * H, T0, [_response(3, T0 + 50 * H)], "降级", POLICY)
    assert after[-1].status == ObligationStatus.LATE


def test_close_waives_pending_but_keeps_overdue() -> None:
    obs = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    obs[0] = obs[0].model_copy(update={"status": ObligationStatus.OVERDUE})
    closed = a3.waive_on_close(obs, "办结")
    assert [o.status for o in closed] == [ObligationStatus.OVERDUE, ObligationStatus.WAIVED]


def test_p3_c_down_judges_48h_by_the_first_response() -> None:
    """P3.c down: the 48 h response is met by the first response made, even when a later one came after 48 h."""
    before = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    reports = [_response(1, T0 + 2 * H), _response(2, T0 + 50 * H)]
    after = a3.reclassify(before, event(EventGrade.MAJOR), None, T0 + 60 * H, T0, reports, "降级", POLICY)
    response = after[-1]
    assert (response.id, response.status, response.met_at, response.met_by) == (
        "response#1",
        ObligationStatus.MET,
        T0 + 2 * H,
        1,
    )


def test_p3_c_up_then_down_keeps_the_one_pending_48h_response() -> None:
    """P3.c: up keeps the pending 48 h response; down again waives the new clocks and adds no second response."""
    general, major = event(EventGrade.GENERAL), event(EventGrade.MAJOR)
    opened = a3.opening_obligations(general, T0, POLICY)
    up = a3.reclassify(opened, general, major, T0 + 10 * H, T0, [], "升级", POLICY)
    down = a3.reclassify(up, major, general, T0 + 12 * H, T0, [], "降级", POLICY)
    assert [(o.id, o.status, o.due_at) for o in down] == [
        ("response#1", ObligationStatus.PENDING, T0 + 48 * H),
        ("authoritative_info#1", ObligationStatus.WAIVED, T0 + 15 * H),
        ("press_conference#1", ObligationStatus.WAIVED, T0 + 34 * H),
    ]


def test_p3_c_down_keeps_an_escalated_obligation_overdue() -> None:
    """P3.c: "nothing already met or escalated is rewritten": only *pending* 5 h/24 h obligations are waived."""
    before = a3.opening_obligations(event(EventGrade.MAJOR), T0, POLICY)
    before[0] = before[0].model_copy(update={"status": ObligationStatus.OVERDUE, "next_step": 2})
    after = a3.reclassify(before, event(EventGrade.MAJOR), None, T0 + 7 * H, T0, [], "降级", POLICY)
    assert [(o.id, o.status) for o in after[:2]] == [
        ("authoritative_info#1", ObligationStatus.OVERDUE),
        ("press_conference#1", ObligationStatus.WAIVED),
    ]
    assert after[0] == before[0]
    # histories recorded before patch p3c-keep-overdue replay with the old behaviour
    old = a3.reclassify(before, event(EventGrade.MAJOR), None, T0 + 7 * H, T0, [], "降级", POLICY, waive_overdue=True)
    assert old[0].status == ObligationStatus.WAIVED
