"""The messages units send to an incident (D3): reports, reclassification, close, explanation.

Every message says who acts (``as``, a unit code; S1-S7), carries a client-generated ``report_id``
(filing is idempotent) and the time it was filed at the client (``filed_at``, P4.h). They reach the
workflow as the update or the signal ``report`` and are told apart by ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union, cast

from pydantic import ConfigDict, Field, TypeAdapter, model_validator

from yuqing.models._base import AwareDatetime, Model, ReportId, Text, UnitCode
from yuqing.models._enums import (
    DispositionVerdict,
    EventCategory,
    EventGrade,
    OpinionLevel,
    ReleaseChannel,
    ReportType,
    ResponseVerdict,
    ResponseWay,
    Speaker,
    TransferSource,
)
from yuqing.models._incident import Unit


class _Message(Model):
    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    report_id: ReportId
    """Chosen by the client, once per report: a re-sent report is recognised, not filed twice."""
    as_: UnitCode = Field(alias="as")
    """The code of the unit that acts (S1-S7)."""
    text: Text
    filed_at: AwareDatetime | None = None
    """When the client filed it (P4.h): counts if it reaches the workflow at most 30 min later."""
    published_at: AwareDatetime | None = None
    """A claimed time of publication: recorded beside the report, never used for a deadline (P4.e)."""


class AnalysisReport(_Message):
    """研判 (A4.3)."""

    type: Literal[ReportType.ANALYSIS] = ReportType.ANALYSIS


class ResponseReport(_Message):
    """回应: a way on a channel (P3.b); a press conference or briefing names its speaker (N3.b)."""

    type: Literal[ReportType.RESPONSE] = ReportType.RESPONSE
    way: ResponseWay
    channel: ReleaseChannel
    speaker: Speaker | None = None

    @model_validator(mode="after")
    def _speaker_named(self) -> ResponseReport:
        if self.way.needs_speaker and self.speaker is None:
            raise ValueError(f"{self.way.zh}须注明发言人 a {self.way.value} names its speaker (N3.b): {Speaker.choices()}")
        if not self.way.needs_speaker and self.speaker is not None:
            raise ValueError(f"发言人只用于新闻发布会或吹风会 a speaker belongs to a press conference or briefing, not {self.way.zh}")
        return self


class DispositionReport(_Message):
    """处置 (A4.3); a final one ends the incident once nothing the notice requires is owed (S3)."""

    type: Literal[ReportType.DISPOSITION] = ReportType.DISPOSITION
    final: bool = False


class MajorSituationReport(_Message):
    """重大情况: goes to the provincial government at once (A4.4, D4)."""

    type: Literal[ReportType.MAJOR_SITUATION] = ReportType.MAJOR_SITUATION


class AcceptanceReport(_Message):
    """接收: the receiving unit takes a transferred incident (A4.2, S2)."""

    type: Literal[ReportType.ACCEPTANCE] = ReportType.ACCEPTANCE


class ReclassificationReport(_Message):
    """A new grading (P3.c, S4); ``text`` is the reason. Unset fields stay as they are."""

    type: Literal[ReportType.RECLASSIFICATION] = ReportType.RECLASSIFICATION
    opinion_level: OpinionLevel | None = None
    event_grade: EventGrade | None = None
    event_category: EventCategory | None = None
    remove_event: bool = False
    """The incident turns out not to concern a sudden event."""


class CloseRequest(_Message):
    """办结 by the provincial general office (S3), with its reason in ``text``."""

    type: Literal[ReportType.CLOSE] = ReportType.CLOSE


class ExplanationReport(_Message):
    """超时说明 for a missed obligation (P4.g): recorded beside it, changes no status."""

    type: Literal[ReportType.EXPLANATION] = ReportType.EXPLANATION
    obligation_id: Annotated[str, Field(min_length=1, max_length=64)]


class TransferOrder(_Message):
    """转办 by the provincial general office, at any time (A4.1, S3): the receiving unit with its chain
    (P4.d) and the coordination units of its level (A2.3), resolved from the directory by the client.
    ``text`` is the note."""

    type: Literal[ReportType.TRANSFER] = ReportType.TRANSFER
    source: TransferSource
    chain: list[Unit] = Field(min_length=2, max_length=8)
    """The receiving unit first, the provincial general office last."""
    coordination: list[Unit] = Field(default_factory=list, max_length=8)


class LeadDesignation(_Message):
    """牵头部门 designated by the government the incident belongs to, or the provincial office (A2.1, S5)."""

    type: Literal[ReportType.LEAD] = ReportType.LEAD
    unit: Unit


class EvaluationReport(_Message):
    """评价 by the provincial general office (A5.1, S6): ``text`` is the reason."""

    type: Literal[ReportType.EVALUATION] = ReportType.EVALUATION
    response: ResponseVerdict
    disposition: DispositionVerdict


Report = Annotated[
    Union[  # noqa: UP007 (TypeAdapter types a typing.Union; mypy refuses the ``|`` form there)
        AnalysisReport,
        ResponseReport,
        DispositionReport,
        MajorSituationReport,
        AcceptanceReport,
        ReclassificationReport,
        CloseRequest,
        ExplanationReport,
        TransferOrder,
        LeadDesignation,
        EvaluationReport,
    ],
    Field(discriminator="type"),
]
"""Every message a unit sends to an incident."""

REPORT_ADAPTER: TypeAdapter[Any] = TypeAdapter(cast("type[Any]", Report))
