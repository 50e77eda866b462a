"""The domain shared by the workflow, the activities and the starter (pydantic v2).

Enumerations carry an English id (what the status contract, the search attributes and
scripts use) and the Chinese term that staff read; both are accepted as input.
Rule ids refer to ``shared/seed/requirements.md``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    TypeAdapter,
    computed_field,
)

TEXT_MAX = 4000
"""Longest report text we accept: a report is a summary, documents go elsewhere."""

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"


class ZhEnum(StrEnum):
    """A string enum whose members also parse from their Chinese term and aliases."""

    zh: str
    aliases: tuple[str, ...]

    def __new__(cls, value: str, zh: str, *aliases: str) -> "ZhEnum":
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.zh = zh
        obj.aliases = aliases
        return obj

    @classmethod
    def _missing_(cls, value: object) -> "ZhEnum | None":
        if isinstance(value, str):
            key = value.strip()
            for member in cls:
                if key in (member.zh, *member.aliases) or key.lower() == member.value:
                    return member
        return None

    @classmethod
    def choices(cls) -> str:
        """'id (中文)' for every member, for help texts and error messages."""
        return ", ".join(f"{m.value}（{m.zh}）" for m in cls)


class OpinionLevel(ZhEnum):
    """舆情等级: the grading of the public opinion itself (A2.2, A5.3)."""

    PARTICULARLY_MAJOR = "particularly_major", "特别重大"
    MAJOR = "major", "重大"
    RELATIVELY_MAJOR = "relatively_major", "较大"
    GENERAL = "general", "一般"


class EventGrade(ZhEnum):
    """突发事件等级: the grade of the sudden event an incident concerns (A3.1, A3.2)."""

    PARTICULARLY_MAJOR = "particularly_major", "特别重大", "Ⅰ", "I"
    MAJOR = "major", "重大", "Ⅱ", "II"
    RELATIVELY_MAJOR = "relatively_major", "较大", "Ⅲ", "III"
    GENERAL = "general", "一般", "Ⅳ", "IV"

    @property
    def is_major(self) -> bool:
        """特别重大 or 重大: the grades that carry the 5 h and 24 h clocks (A3.1, A3.2)."""
        return self in (EventGrade.PARTICULARLY_MAJOR, EventGrade.MAJOR)


class EventCategory(ZhEnum):
    """突发事件类别."""

    NATURAL_DISASTER = "natural_disaster", "自然灾害"
    ACCIDENT = "accident", "事故灾难"
    PUBLIC_HEALTH = "public_health", "公共卫生事件"
    SOCIAL_SECURITY = "social_security", "社会安全事件"


class ResponseWay(ZhEnum):
    """回应方式 (P3.b, from 国办发〔2016〕61号)."""

    AUTHORITATIVE_RELEASE = "authoritative_release", "发布权威信息"
    PRESS_CONFERENCE = "press_conference", "新闻发布会"
    BRIEFING = "briefing", "吹风会"
    MEDIA_INTERVIEW = "media_interview", "接受采访"
    ONLINE_POST = "online_post", "政务网站、政务新媒体发布", "政务网站", "政务新媒体"


class UnitKind(ZhEnum):
    """The kinds of unit in the directory (A1.1, A1.2, P4.d)."""

    PROVINCIAL_OFFICE = "provincial_office", "省政府办公厅"
    PROVINCIAL_DEPARTMENT = "provincial_department", "省政府部门"
    CITY_GOVERNMENT = "city_government", "市人民政府"
    COUNTY_GOVERNMENT = "county_government", "县（市、区）人民政府"
    DEPARTMENT = "department", "市县部门"

    @property
    def is_government(self) -> bool:
        """A people's government (the provincial one stands for itself through its office)."""
        return self in (
            UnitKind.PROVINCIAL_OFFICE,
            UnitKind.CITY_GOVERNMENT,
            UnitKind.COUNTY_GOVERNMENT,
        )


class ObligationKind(ZhEnum):
    """What an incident owes, each with the rule it comes from."""

    AUTHORITATIVE_INFO = "authoritative_info", "发布权威信息"  # A3.1
    PRESS_CONFERENCE = "press_conference", "举行新闻发布会"  # A3.2
    RESPONSE = "response", "予以回应"  # A3.3
    CONTINUED_RELEASE = "continued_release", "持续发布"  # A3.4, P3.d
    ACCEPTANCE = "acceptance", "接收转办"  # A4.2, P4.c


class ObligationStatus(ZhEnum):
    PENDING = "pending", "未到期"
    MET = "met", "按时完成"
    LATE = "late", "逾期完成"
    OVERDUE = "overdue", "已逾期"
    WAIVED = "waived", "已免除"


class IncidentState(ZhEnum):
    OPEN = "open", "办理中"
    CLOSED = "closed", "已办结"


class EscalationAction(ZhEnum):
    """The name of an escalation by whom it reaches (D.esc)."""

    URGE = "urge", "催办"  # the responsible unit
    SUPERVISE = "supervise", "督促"  # its people's government
    OVERSEE = "oversee", "督办"  # the provincial general office


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must carry a UTC offset (时间须带时区)")
    return value


BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""UTC+8: China has kept it without daylight saving since 1991, so workflow code needs no tz database."""


def beijing(value: datetime) -> str:
    """A time for message texts staff read: ``2026-11-25 12:55（北京时间）``."""
    return f"{value.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


def _iso(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[datetime, PlainSerializer(_iso, when_used="json")]
"""A time that serializes as ISO 8601 with an explicit offset (``+00:00``, never ``Z``)."""
AwareDatetime = Annotated[datetime, AfterValidator(_aware), PlainSerializer(_iso, when_used="json")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{1,31}$")]
IncidentId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=INCIDENT_ID_PATTERN)]


class Model(BaseModel):
    """Values that cross the wire (workflow input, reports, notifications).

    Unknown fields are ignored, not refused: a worker one release behind its starters must still
    decode a newer incident's input, or that workflow's task would fail and retry forever.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


# ---------------------------------------------------------------- the incident


class SuddenEvent(Model):
    """The sudden event (突发事件) an incident concerns, if any."""

    grade: EventGrade
    category: EventCategory


class Unit(Model):
    """A unit of the directory: who answers (A1.1, A1.2) and who does the work (A1.3)."""

    code: UnitCode
    name: ShortText
    kind: UnitKind
    parent: UnitCode | None = None
    leader: ShortText
    """分管负责人 (A1.3)."""
    section: ShortText
    """承担工作的科（处、室） (A1.3)."""


class Transfer(Model):
    """A transfer (转交) by the provincial general office (A4.1)."""

    at: AwareDatetime
    by: UnitCode
    from_state_council: bool = False
    """国务院办公厅转我省办理: the State Council General Office handed it to the province."""
    note: str = ""


class Incident(Model):
    """One public-opinion incident as it is opened (D1)."""

    id: IncidentId
    title: ShortText
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)] = ""
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    opinion_level: OpinionLevel
    event: SuddenEvent | None = None
    discovered_at: AwareDatetime | None = None
    """发现时间 (P3.a); ``None`` means the opening time."""
    responsible_unit: UnitCode
    transfer: Transfer | None = None


# -------------------------------------------------------------------- reports


class _Report(Model):
    text: Text
    by: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""
    """Who files it (a person or a unit); informational."""
    published_at: AwareDatetime | None = None
    """A claimed time of publication: recorded beside the report, never used for a deadline (P4.e)."""


class AnalysisReport(_Report):
    """研判 (A4.3)."""

    type: Literal["analysis"] = "analysis"


class ResponseReport(_Report):
    """回应 in one of the P3.b ways (A4.3, A3.1-A3.4)."""

    type: Literal["response"] = "response"
    way: ResponseWay


class DispositionReport(_Report):
    """处置 (A4.3); a final one ends the incident."""

    type: Literal["disposition"] = "disposition"
    final: bool = False


class MajorSituationReport(_Report):
    """重大情况: goes to the provincial government at once (A4.4, D4)."""

    type: Literal["major_situation"] = "major_situation"


class AcceptanceReport(_Report):
    """接收: the receiving unit takes a transferred incident (A4.2)."""

    type: Literal["acceptance"] = "acceptance"


class ReclassificationReport(_Report):
    """A new grading (P3.c); ``text`` is the reason. Unset fields stay as they are."""

    type: Literal["reclassification"] = "reclassification"
    opinion_level: OpinionLevel | None = None
    event_grade: EventGrade | None = None
    event_category: EventCategory | None = None
    remove_event: bool = False
    """The incident turns out not to concern a sudden event."""


class CloseRequest(_Report):
    """办结 by the provincial general office, with its reason in ``text``."""

    type: Literal["close"] = "close"


Report = Annotated[
    Union[
        AnalysisReport,
        ResponseReport,
        DispositionReport,
        MajorSituationReport,
        AcceptanceReport,
        ReclassificationReport,
        CloseRequest,
    ],
    Field(discriminator="type"),
]
"""Every message the responsible unit or the office sends to an incident."""

REPORT_ADAPTER: TypeAdapter[Any] = TypeAdapter(Report)

REPORT_TYPES_ZH = {
    "analysis": "研判",
    "response": "回应",
    "disposition": "处置",
    "major_situation": "重大情况",
    "reclassification": "重新定级",
    "acceptance": "接收",
    "close": "办结",
}


# ---------------------------------------------------------- the status record


class Record(BaseModel):
    """Mutable records inside the workflow state."""

    model_config = ConfigDict(extra="ignore")


class Obligation(Record):
    """One deadline an incident owes (A3.1-A3.4, P4.c)."""

    id: str
    """``kind#n``: unique in the incident, used in idempotency keys (P4.b)."""
    kind: ObligationKind
    rule: str
    clock_start: Timestamp
    due_at: Timestamp
    status: ObligationStatus = ObligationStatus.PENDING
    met_at: Timestamp | None = None
    met_by: int | None = None
    """``seq`` of the report that met it."""
    waived_reason: str | None = None
    warn_at: Timestamp
    warned_at: Timestamp | None = None
    escalation_interval: timedelta
    next_step: int = 0
    """The next escalation step to fire (P4.a): step k is due at ``due_at + k * interval``."""

    @property
    def open(self) -> bool:
        return self.status in (ObligationStatus.PENDING, ObligationStatus.OVERDUE)


class WarningRecord(Record):
    """A warning (预警) sent before a deadline (P3.e)."""

    obligation: ObligationKind
    obligation_id: str
    target: str
    at: Timestamp


class Escalation(Record):
    """One escalation decision (D.esc, P4.a, P4.d)."""

    obligation: ObligationKind
    obligation_id: str
    level: int
    round: int
    target: str
    target_name: str
    action: EscalationAction
    at: Timestamp
    due_at: Timestamp
    """When this step was scheduled; ``at`` is later only where the workflow caught up."""
    skipped_steps: int = 0
    """Steps that fell due while nobody could act (a backdated discovery, an outage):
    collapsed into this one instead of sent in a burst."""


class ReportRecord(Record):
    """A report as received; ``at`` is its arrival, the time that counts (P4.e)."""

    seq: int
    type: str
    at: Timestamp
    text: str
    by: str = ""
    via: Literal["update", "signal"] = "update"
    published_at: Timestamp | None = None
    way: ResponseWay | None = None
    final: bool | None = None
    met: list[str] = Field(default_factory=list)
    """Obligation ids this report met."""
    changes: dict[str, Any] | None = None
    """For a reclassification: what changed, from and to."""


class Rejection(Record):
    """A message that was refused, with why (it never fails the workflow)."""

    at: Timestamp
    reason: str
    type: str | None = None
    via: Literal["update", "signal", "start"] = "signal"


class DeliveryFailure(Record):
    key: str
    at: Timestamp
    error: str


class IncidentStatus(Record):
    """The incident as the workflow keeps it: the ``status`` query's JSON contract.

    The contract keys (``incident_id`` … ``rejected``) never change; more keys may be added.
    It is also the state carried over continue-as-new.
    """

    incident_id: str
    state: IncidentState = IncidentState.OPEN
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    responsible_unit: str
    discovered_at: Timestamp
    obligations: list[Obligation] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    reports: list[ReportRecord] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    # -- more than the contract
    title: str
    summary: str = ""
    source: str = ""
    responsible_unit_name: str
    leader: str
    """分管负责人 of the responsible unit (A1.3)."""
    section: str
    """承担工作的科（处、室） (A1.3)."""
    chain: list[Unit]
    """The escalation chain (P4.d), fixed when the incident was opened."""
    opened_at: Timestamp
    transfer: Transfer | None = None
    accepted_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    close_reason: str | None = None
    warnings: list[WarningRecord] = Field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = Field(default_factory=list)
    policy_name: str
    runs: int = 1
    """How many workflow runs this record has lived through (continue-as-new)."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_deadline(self) -> Timestamp | None:
        """The earliest due time among pending obligations."""
        due = [o.due_at for o in self.obligations if o.status == ObligationStatus.PENDING]
        return min(due) if due else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return any(o.status == ObligationStatus.OVERDUE for o in self.obligations)

    def obligation(self, obligation_id: str) -> Obligation:
        return next(o for o in self.obligations if o.id == obligation_id)


def parse_incident_id(value: str) -> str:
    """Check an incident id, raising ``ValueError`` with the pattern it must follow."""
    if not re.match(INCIDENT_ID_PATTERN, value):
        raise ValueError(
            f"事件编号不合法 invalid incident id {value!r}: 3-64 letters, digits, '.', '_' or '-'"
        )
    return value


# -------------------------------------------------------------- notifications


class ObligationBrief(Model):
    kind: ObligationKind
    due_at: Timestamp
    status: ObligationStatus


class Notification(Model):
    """One message to a unit: a warning, an escalation, a major situation, an opening.

    ``key`` is its idempotency key (P4.b): incident, obligation, level and round. It carries the
    incident's state at the moment of the decision, so the receiver needs no other lookup.
    """

    key: str
    incident_id: str
    kind: Literal["opened", "warning", "escalation", "major_situation"]
    at: Timestamp
    target: Unit
    subject: str
    body: str
    obligation_id: str | None = None
    level: int = 0
    round: int = 1
    action: EscalationAction | None = None
    state: IncidentState
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    obligations: list[ObligationBrief]
