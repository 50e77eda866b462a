"""The domain shared by the workflow, the activities, the command line and the audit (pydantic v2).

Split by concept, re-exported here:

- ``_enums``          the notice's vocabularies (levels, grades, ways, channels, obligations …)
- ``_base``           field types (times, texts, codes) and the two base classes
- ``_incident``       an incident as opened, its units, its transfer
- ``_reports``        the messages units send to it (``Report``)
- ``_policy``         the deadline policy as a value
- ``_notifications``  notifications as facts (the wording lives in ``activities.messages``)
- ``_record``         what the workflow keeps (bounded) and what one run decided (the journal)
- ``_input``          the workflow's start input and its continue-as-new limits
- ``_view``           what it answers: the ``status`` view and the receipt of a report

Rule ids refer to ``shared/seed/requirements.md``.
"""

from yuqing.models._base import (
    INCIDENT_ID_PATTERN,
    REPORT_ID_PATTERN,
    TEXT_MAX,
    UNIT_CODE_PATTERN,
    AwareDatetime,
    Model,
    Record,
    Timestamp,
    clip,
    sha256_text,
)
from yuqing.models._circular import WRITE_CIRCULAR, CircularInput, CircularRequest, CircularResult
from yuqing.models._enums import (
    DispositionVerdict,
    EscalationAction,
    EventCategory,
    EventGrade,
    IncidentState,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReleaseChannel,
    ReportType,
    ResponseVerdict,
    ResponseWay,
    Role,
    Speaker,
    TransferSource,
    UnitKind,
    ZhEnum,
)
from yuqing.models._incident import Incident, Responsibility, Scope, SuddenEvent, Transfer, Unit
from yuqing.models._input import IncidentInput, Limits
from yuqing.models._notifications import CircularFacts, IncidentFacts, Notification, NotificationKind, ObligationBrief
from yuqing.models._policy import MAX_HOURS, MIN_HOURS, ObligationPolicy, Policy
from yuqing.models._record import (
    DeliveryFailure,
    DeliveryState,
    Escalation,
    Evaluation,
    Explanation,
    IncidentRecord,
    NoticeRecord,
    Obligation,
    Rejection,
    ReportRef,
    RunJournal,
    WarningRecord,
)
from yuqing.models._reports import (
    REPORT_ADAPTER,
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EvaluationReport,
    ExplanationReport,
    LeadDesignation,
    MajorSituationReport,
    ReclassificationReport,
    Report,
    ResponseReport,
    TransferOrder,
)
from yuqing.models._view import IncidentStatus, Receipt, brief, owed, receipt


def parse_incident_id(value: str) -> str:
    """Check an incident id, raising ``ValueError`` with the pattern it must follow."""
    import re

    if not re.match(INCIDENT_ID_PATTERN, value):
        raise ValueError(f"事件编号不合法 invalid incident id {value!r}: 3-64 letters, digits, '.', '_' or '-'")
    return value


__all__ = [
    "CircularResult",
    "CircularRequest",
    "CircularInput",
    "WRITE_CIRCULAR",
    "CircularFacts",
    "EvaluationReport",
    "Evaluation",
    "ResponseVerdict",
    "DispositionVerdict",
    "NoticeRecord",
    "Scope",
    "Responsibility",
    "TransferSource",
    "Role",
    "TransferOrder",
    "LeadDesignation",
    "INCIDENT_ID_PATTERN",
    "MAX_HOURS",
    "MIN_HOURS",
    "REPORT_ADAPTER",
    "REPORT_ID_PATTERN",
    "TEXT_MAX",
    "UNIT_CODE_PATTERN",
    "AcceptanceReport",
    "AnalysisReport",
    "AwareDatetime",
    "CloseRequest",
    "DeliveryFailure",
    "DeliveryState",
    "DispositionReport",
    "Escalation",
    "EscalationAction",
    "EventCategory",
    "EventGrade",
    "Explanation",
    "ExplanationReport",
    "Incident",
    "IncidentFacts",
    "IncidentInput",
    "IncidentRecord",
    "IncidentState",
    "IncidentStatus",
    "Limits",
    "MajorSituationReport",
    "Model",
    "Notification",
    "NotificationKind",
    "Obligation",
    "ObligationBrief",
    "ObligationKind",
    "ObligationPolicy",
    "ObligationStatus",
    "OpinionLevel",
    "Policy",
    "Receipt",
    "ReclassificationReport",
    "Record",
    "Rejection",
    "ReleaseChannel",
    "Report",
    "ReportRef",
    "ReportType",
    "ResponseReport",
    "ResponseWay",
    "RunJournal",
    "Speaker",
    "SuddenEvent",
    "Timestamp",
    "Transfer",
    "Unit",
    "UnitKind",
    "WarningRecord",
    "ZhEnum",
    "brief",
    "clip",
    "owed",
    "parse_incident_id",
    "receipt",
    "sha256_text",
]
