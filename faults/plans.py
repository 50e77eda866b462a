"""What the campaign drives: a short policy, the lifecycles of its incidents, and what each must produce.

**The policy.** The shipped policy with every hour read as a minute (``SECONDS_PER_HOUR``: one policy
hour is 60 real seconds), the smallest scale the policy model allows: an escalation interval of 1 h
becomes one minute, and no window or interval may be shorter (``yuqing.models._policy.MIN_HOURS``).
Discovery times are backdated (P3.a: clocks run from discovery) so that a 48 h deadline falls due a
few minutes after opening. Two entries differ on purpose: the notification retry window is 10 policy
minutes (so that a 30-minute channel outage outlasts it and the "pending, retried until delivered" path
of P4.b is taken) and the evaluation window is 0 (an incident's workflow completes at 办结).

**The lifecycles** (``SCENARIOS``): times in policy hours from the moment the clerk opens the incident.
Every report time lies half an interval away from any escalation step, so a report delayed by a fault
(it counts at its filing time within the filing grace, P4.h, else at its arrival) does not change which
steps fall due unless the delay exceeds half an interval.

**What is due** (``expect``) is computed from the driven timeline and the policy with the pure rule
functions of ``workflows.rules`` — never read back from the workflow — and compared with what the
workflow recorded and what the channels received.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from workflows.rules import article2_coordination as article2
from workflows.rules import article3_timeliness as article3
from workflows.rules import article4_supervision as article4
from workflows.rules.article1_responsibility import coordination_units
from yuqing.directory import Directory
from yuqing.models import (
    EventCategory,
    EventGrade,
    Obligation,
    ObligationKind,
    OpinionLevel,
    Policy,
    ReleaseChannel,
    ResponseWay,
    SuddenEvent,
    Unit,
)
from yuqing.policy import load_policy

SECONDS_PER_HOUR = 60.0
"""Real seconds per policy hour: the shipped policy's hours become minutes."""
OFFICE = "sz-bgt"
UNIT_A = "370102-jyj"
"""济南市历下区教育和体育局: a county department, four levels of escalation (P4.d)."""
UNIT_B = "370112-jyj"
"""济南市历城区教育和体育局: where the transfer scenario sends its incident (A4.1)."""
UNIT_C = "370100-yjj"
"""济南市应急管理局: a city department, three levels."""


def campaign_policy() -> Policy:
    """The shipped policy, hours read as minutes; retry window 10 policy minutes; no evaluation window."""
    shipped = load_policy()
    data = shipped.model_dump(mode="json")
    scale = SECONDS_PER_HOUR / 3600
    for entry in data["obligations"].values():
        entry["window_hours"] *= scale
        entry["escalation_interval_hours"] *= scale
    data["name"] = f"{shipped.name}（故障演练 fault campaign: 1 h → {SECONDS_PER_HOUR:g} s）"
    data["notification_retry_hours"] = 10 / 60 * scale
    data["filing_grace_minutes"] = shipped.filing_grace_minutes * scale
    data["evaluation_window_days"] = 0.0
    return Policy.model_validate(data)


def hours(h: float) -> timedelta:
    """``h`` policy hours in real time."""
    return timedelta(seconds=h * SECONDS_PER_HOUR)


# ------------------------------------------------------------------ lifecycles


@dataclass(frozen=True)
class Action:
    at: float
    """Policy hours after opening."""
    kind: str
    """``respond``, ``major``, ``dispose``, ``final``, ``close``, ``transfer``, ``accept``, ``analysis``."""
    way: ResponseWay | None = None
    channel: ReleaseChannel | None = None
    to: str | None = None


@dataclass(frozen=True)
class Scenario:
    name: str
    what: str
    unit: str
    level: OpinionLevel
    grade: EventGrade | None
    discovered_ago: float
    """Policy hours before opening (P3.a)."""
    actions: tuple[Action, ...]

    @property
    def length(self) -> float:
        return max(a.at for a in self.actions)


def _release(at: float, channel: ReleaseChannel = ReleaseChannel.WEIBO) -> Action:
    return Action(at, "respond", ResponseWay.AUTHORITATIVE_RELEASE, channel)


def _conference(at: float) -> Action:
    return Action(at, "respond", ResponseWay.PRESS_CONFERENCE, ReleaseChannel.ON_SITE)


G, RM, M, PM = OpinionLevel.GENERAL, OpinionLevel.RELATIVELY_MAJOR, OpinionLevel.MAJOR, OpinionLevel.PARTICULARLY_MAJOR

FULL: tuple[Scenario, ...] = (
    Scenario("ordinary-on-time", "较大，48 h 内回应 answered on time (A3.3)", UNIT_A, RM, None, 46.0,
             (_release(0.8, ReleaseChannel.GOVERNMENT_WEBSITE), Action(1.2, "final"))),
    Scenario("ordinary-late", "一般，逾期回应 answered late: one 催办 (A3.3, P4.a)", UNIT_A, G, None, 47.5,
             (_release(3.5), Action(3.8, "final"))),
    Scenario("ordinary-late-long", "较大，逾期两级 answered after the second level (P4.a, 6 h interval)", UNIT_C, RM, None, 47.5,
             (_release(9.5), Action(9.8, "final"))),
    Scenario("office-close-overdue", "较大，未回应由省政府办公厅办结 closed by the office while overdue (S3)", UNIT_A, RM, None, 47.5,
             (Action(3.5, "close"),)),
    Scenario("major-sudden-late", "重大突发事件：5 h 逾期、24 h 按时、持续发布、重大情况 (A3.1, A3.2, P3.d, A4.4)", UNIT_A, M, EventGrade.MAJOR, 4.5,
             (Action(0.3, "major"), _release(2.0), _release(2.5, ReleaseChannel.GOVERNMENT_WEBSITE), _conference(3.0), Action(3.3, "final"))),
    Scenario("particularly-major", "特别重大：领导与协调通知、按时发布 on time, leaders and coordination told (A2.2, A2.3)", UNIT_A, PM, EventGrade.PARTICULARLY_MAJOR, 4.8,
             (_release(0.1), Action(0.4, "major"), _conference(0.6), _release(0.8, ReleaseChannel.WECHAT), Action(1.0, "final"))),
    Scenario("up-the-chain", "重大突发事件 5 h 逾期 3.5 h：督办链四级 all four levels of the chain (P4.a, P4.d)", UNIT_A, RM, EventGrade.MAJOR, 4.8,
             (_release(3.7), _conference(4.0), Action(4.3, "final"))),
    Scenario("transfer", "转办、逾期接收、研判、处置 transferred, accepted late, analysed, disposed (A4.1, A4.2, P4.c, P4.f)", UNIT_A, RM, None, 46.0,
             (Action(0.3, "transfer", to=UNIT_B), _release(1.0), Action(3.8, "accept"), Action(4.0, "analysis"),
              Action(4.2, "dispose"), Action(4.4, "final"))),
)  # fmt: skip
"""The full run's lifecycles (each one to ten policy hours long)."""

QUICK: tuple[Scenario, ...] = (
    Scenario("ordinary-on-time", "较大，按时回应 on time", UNIT_A, RM, None, 47.6, (_release(0.1), Action(0.2, "final"))),
    Scenario("ordinary-late", "一般，逾期回应 late: one 催办", UNIT_A, G, None, 47.9, (_release(0.5), Action(0.6, "final"))),
    Scenario("major-sudden-late", "重大突发事件 5 h 逾期、重大情况 late, major situation", UNIT_A, M, EventGrade.MAJOR, 4.9,
             (Action(0.2, "major"), _release(0.5), _conference(0.6), Action(0.7, "final"))),
    Scenario("transfer", "转办 transferred", UNIT_A, RM, None, 47.4,
             (Action(0.05, "transfer", to=UNIT_B), Action(0.2, "accept"), _release(0.3), Action(0.35, "analysis"),
              Action(0.4, "dispose"), Action(0.5, "final"))),
    Scenario("office-close-overdue", "未回应办结 closed while overdue", UNIT_C, RM, None, 47.9, (Action(0.4, "close"),)),
)  # fmt: skip
"""The quick run's lifecycles: under a minute each (the test suite's small campaign)."""


# -------------------------------------------------------------- expectations


@dataclass
class Filed:
    """One report of the driven timeline, as the clerk saw it."""

    action: Action
    seq: int
    by: str
    report_id: str
    filed_at: datetime
    at: datetime | None = None
    """The time that counts (P4.h), from the clerk's receipt."""
    arrived_at: datetime | None = None


@dataclass
class Step:
    obligation: str
    index: int
    level: int
    round: int
    due_at: datetime
    key: str


@dataclass
class Expected:
    """What the rules say the timeline must produce."""

    obligations: list[Obligation]
    steps: list[Step] = field(default_factory=list)
    """Every escalation step that fell due (D.esc, P4.a), with the key it notifies under (P4.b)."""
    notifications: dict[str, str] = field(default_factory=dict)
    """Key → kind of every notification the timeline requires besides escalations (opened, warnings,
    major situations, transfer, leadership, coordination)."""
    warning_windows: dict[str, tuple[datetime, datetime]] = field(default_factory=dict)
    """Key → the span in which each warning could be sent: from its point (P3.e) to the deadline or the
    report that met the obligation, whichever came first. A workflow that ran at no moment of it could not
    warn (after the deadline the 催办 goes instead), which the engine's history shows."""
    closed_at: datetime | None = None
    problems: list[str] = field(default_factory=list)


def expect(
    workflow_id: str,
    scenario: Scenario,
    discovered_at: datetime,
    opened_at: datetime,
    filed: Sequence[Filed],
    policy: Policy,
    directory: Directory,
) -> Expected:
    """Replay the driven timeline through the pure rules (never the workflow's record)."""
    event = SuddenEvent(grade=scenario.grade, category=EventCategory.NATURAL_DISASTER) if scenario.grade else None
    obligations = article3.opening_obligations(event, discovered_at, policy)
    created = {o.id: opened_at for o in obligations}
    unit = scenario.unit
    chains: list[tuple[datetime, list[Unit]]] = [(opened_at, article4.escalation_chain(directory, unit))]
    out = Expected(obligations=[])

    def key(about: str, level: int = 0) -> str:
        return article4.idempotency_key(workflow_id, about, level, 1)

    out.notifications[key("opened")] = "opened"
    if article2.tells_leadership(None, scenario.level):  # A2.2
        for level, u in enumerate(chains[0][1], start=1):
            if u.kind in article2.LEADING_GOVERNMENTS:
                out.notifications[key("leadership#0", level)] = "leadership"
    if article2.tells_coordination(None, scenario.level):  # A2.3
        for level, _ in enumerate(coordination_units(directory, unit), start=1):
            out.notifications[key("coordination#0", level)] = "coordination"
    on_file: set[str] = set()
    for report in filed:
        a, at, now = report.action, report.at, report.arrived_at
        if at is None or now is None:
            out.problems.append(f"{workflow_id}: report #{report.seq} ({a.kind}) has no time that counts")
            continue
        if a.kind == "respond":
            assert a.way is not None
            obligations, _ = article3.apply_release(obligations, a.way, at, report.seq, policy, event)
            on_file.add("response")
        elif a.kind == "major":  # A4.4, A2.3
            out.notifications[key(f"major_situation#{report.seq}")] = "major_situation"
            for level, _ in enumerate(coordination_units(directory, unit), start=1):
                out.notifications[key(f"coordination#{report.seq}", level)] = "coordination"
        elif a.kind == "transfer":  # A4.1, P4.c: the hour runs from the order's arrival
            assert a.to is not None
            obligations = article4.retransfer(obligations, now, a.to)
            obligations.append(article3.new_obligation(ObligationKind.ACCEPTANCE, now, policy, obligations))
            unit = a.to
            chains.append((now, article4.escalation_chain(directory, unit)))
            out.notifications[key(f"transfer#{report.seq}")] = "transfer"
            on_file = set()
        elif a.kind == "accept":  # A4.2, P4.f
            obligations = [
                article3.fulfil(o, at, report.seq) if o.kind == ObligationKind.ACCEPTANCE and o.open else o
                for o in obligations
            ]
            analysis = article3.new_obligation(ObligationKind.ANALYSIS, at, policy, obligations)
            if "analysis" in on_file:
                analysis = article3.fulfil(analysis, at, report.seq)
            obligations.append(analysis)
        elif a.kind == "analysis":
            obligations, _ = article4.meet_analysis(obligations, at, report.seq)
            on_file.add("analysis")
        elif a.kind in ("final", "close"):  # 办结: a final disposition at its arrival, a close as it counts
            out.closed_at = now
            obligations = article3.waive_on_close(obligations, a.kind, now if a.kind == "final" else at)
        for o in obligations:
            created.setdefault(o.id, now)
    out.obligations = obligations
    end = out.closed_at
    for o in obligations:
        stop = o.met_at if o.met_at is not None else end
        start = max(o.warn_at, created[o.id])
        if start <= o.due_at and (stop is None or stop > start):  # pending when its warning fell due
            out.notifications[key(o.id)] = "warning"  # P3.e
            out.warning_windows[key(o.id)] = (start, o.due_at if stop is None else min(o.due_at, stop))
        if stop is None or stop <= o.due_at or not article3.escalates(o, event):
            continue
        index = 0
        while article4.step_at(o, index) < stop:
            when = article4.step_at(o, index)
            chain = [c for t, c in chains if t <= when][-1]
            s = article4.step(o, index, chain)
            out.steps.append(
                Step(o.id, index, s.level, s.round, when, article4.idempotency_key(workflow_id, o.id, s.level, s.round))
            )
            index += 1
    return out
