"""What arrives at an incident, decoded and checked without ever raising.

Signals, updates and the start input reach the workflow as raw payloads (its handlers are dynamic),
so no input of any shape, count or size can fail a workflow task: what cannot be taken is turned
into a ``Refused`` (a message) or a reason (a start input) that names the field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from temporalio.common import RawValue
from temporalio.converter import PayloadConverter

from yuqing.models import REPORT_ADAPTER, IncidentInput, Report, ReportType, UnitKind, clip

REPORT_NAME = "report"
"""The name of the update and of the signal that file a report."""
MAX_MESSAGE_BYTES = 64 * 1024
"""A report is at most 4,000 characters of text: anything bigger is refused before decoding.
An accepted update's payload is echoed into the history; one over the server's blob limit would
make the server terminate the workflow, so nothing near it is ever accepted."""
CLIP_CHARS = 300
CLIP_BYTES = 400
"""Of what a client sent, kept beside a rejection: 300 characters, and never more than 400 bytes."""


@dataclass(frozen=True)
class Refused:
    """A message that is not a report this incident can take, with why (never raised)."""

    reason: str
    type: str | None = None
    by: str | None = None
    value: str | None = None


def _excerpt(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return clip(text, CLIP_CHARS, CLIP_BYTES)


def _field(value: Any, name: str) -> str | None:
    found = value.get(name) if isinstance(value, dict) else None
    return clip(found, 64) if isinstance(found, str) else None


def first_error(err: ValidationError) -> str:
    """The first problem pydantic found, naming the field: ``way: Input should be …``."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top)"
    return f"{where}: {first['msg']}"


ARTICLES_1_2_TYPES = (ReportType.TRANSFER, ReportType.LEAD)
ARTICLE_5_TYPES = (ReportType.EVALUATION,)
"""The message types added by Articles 一/二 (transfer at any time, lead department) and 五 (evaluation)."""


def types_for(*, articles_1_2: bool, article_5: bool) -> tuple[ReportType, ...]:
    """The message types an incident takes, by the releases it runs (its ``workflow.patched`` flags)."""
    left_out = (() if articles_1_2 else ARTICLES_1_2_TYPES) + (() if article_5 else ARTICLE_5_TYPES)
    return tuple(t for t in ReportType if t not in left_out)


def message(
    name: str, args: Sequence[RawValue], converter: PayloadConverter, types: Sequence[ReportType] = tuple(ReportType)
) -> Report | Refused:
    """The report carried by a signal or update called ``name``, or why it is refused.

    ``types`` are the message types the incident takes: an incident opened before the third release
    takes the earlier ones only (``types_for``), and its refusals name those, as they did.
    """
    if name != REPORT_NAME:
        return Refused(f"未知消息 unknown message {clip(name, 64)!r}: send {REPORT_NAME!r}", value=None)
    if not args:
        return Refused("报告为空 no report was sent (a message with no input)")
    if len(args) > 1:
        return Refused(f"一次只能报送一份报告 one report per message, {len(args)} inputs were sent")
    payload = args[0].payload
    size = payload.ByteSize()
    if size > MAX_MESSAGE_BYTES:
        return Refused(
            f"报告过大 the message is {size} bytes, at most {MAX_MESSAGE_BYTES} (a report is at most 4000 characters)",
            value=clip(payload.data[:CLIP_BYTES].decode("utf-8", errors="replace"), CLIP_CHARS, CLIP_BYTES),
        )
    try:
        value = converter.from_payload(payload)
    except Exception as err:  # any encoding or JSON problem: recorded, never raised
        encoding = payload.metadata.get("encoding", b"").decode("utf-8", errors="replace")
        return Refused(
            f"无法解码 undecodable payload (encoding {clip(encoding, 40)!r}): {type(err).__name__}",
            value=clip(payload.data[:CLIP_BYTES].decode("utf-8", errors="replace"), CLIP_CHARS, CLIP_BYTES),
        )
    kind, by = _field(value, "type"), _field(value, "as")
    if not isinstance(value, dict):
        shown = "null" if value is None else type(value).__name__
        return Refused(f"报告须为 JSON 对象 a report must be a JSON object, not {shown}", value=_excerpt(value))
    if "type" not in value:
        return Refused("报告缺少类型 the report has no 'type'", by=by, value=_excerpt(value))
    if not isinstance(value["type"], str) or value["type"] not in {t.value for t in types}:
        return Refused(
            f"未知报告类型 unknown report type {clip(str(value['type']), 40)!r}; 可选 choose from: "
            f"{', '.join(t.value for t in types)}",
            type=kind,
            by=by,
            value=_excerpt(value),
        )
    try:
        report: Report = REPORT_ADAPTER.validate_python(value)
    except ValidationError as err:
        return Refused(f"报告格式有误 invalid report: {first_error(err)}", type=kind, by=by, value=_excerpt(value))
    return report


def start_input(
    args: Sequence[RawValue],
    converter: PayloadConverter,
    *,
    workflow_id: str,
    workflow_type: str,
    expected_type: str,
    now: datetime,
    continued: bool = False,
) -> IncidentInput | str:
    """The incident's start input, or why it cannot start (the workflow then fails at once).

    ``continued``: this run continued from another. Only then may the input carry a record: a client
    that starts a workflow with a made-up record of its own is refused (no forged history).
    """
    if workflow_type != expected_type:
        return f"未知工作流类型 unknown workflow type {clip(workflow_type, 64)!r}: only {expected_type!r} runs here"
    if len(args) != 1:
        return f"启动输入须为一个 the start input must be one IncidentInput, {len(args)} inputs were sent"
    try:
        input: IncidentInput = converter.from_payload(args[0].payload, IncidentInput)
    except ValidationError as err:
        return f"启动输入有误 invalid start input: {first_error(err)}"
    except Exception as err:
        return f"启动输入无法解码 undecodable start input: {type(err).__name__}"
    incident, chain = input.incident, input.chain
    if incident.id != workflow_id:
        return (
            f"事件编号与工作流编号不符 incident.id {incident.id!r} differs from the workflow id {workflow_id!r}: "
            "an incident's workflow id is its incident id"
        )
    if chain[0].code != incident.responsible_unit:
        return f"chain[0] {chain[0].code!r} is not the responsible unit {incident.responsible_unit!r} (P4.d)"
    if any(u.kind == UnitKind.COORDINATION for u in chain):  # A2.3: told, never responsible
        return "chain: 协调单位（宣传、网信、通信管理）不作为责任单位，不在督办链中 a coordination unit is never responsible nor in a chain (A2.3)"
    office = chain[-1]
    if office.kind != UnitKind.PROVINCIAL_OFFICE:
        return f"chain 须以省政府办公厅结束 the chain must end with the provincial office, not {office.code!r} (P4.d)"
    if incident.transfer is not None:
        if incident.transfer.by != office.code or input.opened_by != office.code:
            return f"只有省政府办公厅可以转办 incident.transfer: only the provincial office {office.code} transfers (A4.1, S3)"
        if incident.transfer.at > now:
            return "incident.transfer.at: 转办时间晚于当前时间 the transfer time is in the future (A4.1)"
    if input.carried is not None:
        if not continued:
            return "carried: 只有续新的运行才能带入记录 only a run that continued as new carries a record"
        if input.carried.incident_id != workflow_id:
            return f"carried.incident_id {input.carried.incident_id!r} differs from the workflow id {workflow_id!r}"
    return input
