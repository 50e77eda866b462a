"""What arrives is decoded without ever raising (rules.intake), and what is kept stays bounded (rules.bounds)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

from tests.conftest import OFFICE, UNIT, make
from workflows.rules import bounds, intake
from workflows.rules.article3_timeliness import new_obligation, opening_obligations
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config
from yuqing.directory import Directory
from yuqing.models import (
    AnalysisReport,
    DeliveryFailure,
    Escalation,
    EscalationAction,
    EventCategory,
    EventGrade,
    Explanation,
    Incident,
    IncidentFacts,
    IncidentInput,
    IncidentRecord,
    IncidentState,
    IncidentStatus,
    Limits,
    Notification,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    Rejection,
    ReportRef,
    ReportType,
    RunJournal,
    SuddenEvent,
    WarningRecord,
    clip,
    owed,
    receipt,
)
from yuqing.policy import load_policy

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
CONVERTER = config.DATA_CONVERTER.payload_converter
POLICY = load_policy()
MAJOR = SuddenEvent(grade=EventGrade.MAJOR, category=EventCategory.ACCIDENT)


def raw(value: Any) -> RawValue:
    return RawValue(CONVERTER.to_payload(value))


def raw_bytes(data: bytes, encoding: bytes = b"json/plain") -> RawValue:
    return RawValue(Payload(metadata={"encoding": encoding}, data=data))


def good() -> dict[str, Any]:
    return make(AnalysisReport).model_dump(mode="json")  # type: ignore[no-any-return]


# ------------------------------------------------------------------ messages


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ([], "no report was sent"),  # `temporal workflow signal --name report` with no input (the Web UI allows it)
        ([raw(good()), raw(good())], "one report per message, 2 inputs"),
        ([raw(None)], "not null"),  # an update whose payload is null
        ([raw([good()])], "not list"),
        ([raw({"text": "x"})], "no 'type'"),
        ([raw({**good(), "type": "gossip"})], "unknown report type 'gossip'"),
        ([raw({**good(), "type": [1]})], "unknown report type"),  # the finding: an unhashable type failed the task
        ([raw({**good(), "type": {"a": 1}})], "unknown report type"),
        ([raw({**good(), "as": "Not A Code"})], "as"),
        ([raw({**good(), "report_id": "x"})], "report_id"),
        ([raw({**good(), "type": "response"})], "way"),
        ([raw_bytes(b"{not json")], "undecodable"),
        ([raw_bytes(b"x", encoding=b"weird/encoding")], "undecodable"),
        ([raw({**good(), "text": "长" * 30_000})], "bytes, at most"),
        # the finding: a time no offset can convert broke `yuqing status` and every notification
        ([raw({**good(), "published_at": "0001-01-01T00:00:00+23:59"})], "2000-2199"),
        ([raw({**good(), "filed_at": "9999-12-31T23:59:59-23:59"})], "2000-2199"),
        ([raw({**good(), "filed_at": "1999-12-31T23:59:59+08:00"})], "2000-2199"),
    ],
)
def test_d3_a_bad_message_is_refused_with_a_reason_never_raised(args: list[RawValue], reason: str) -> None:
    refused = intake.message("report", args, CONVERTER)
    assert isinstance(refused, intake.Refused), refused
    assert reason in refused.reason
    assert refused.value is None or len(refused.value) <= intake.CLIP_CHARS


def test_d3_a_1_5_mb_type_is_refused_and_clipped() -> None:
    """The finding: a rejected signal whose ``type`` is 1.5 MB was stored twice, whole. Now it is refused
    before decoding and only a clipped excerpt is kept."""
    refused = intake.message("report", [raw({"type": "x" * 1_500_000, "text": "?"})], CONVERTER)
    assert isinstance(refused, intake.Refused)
    assert refused.value is not None and len(refused.value.encode()) <= intake.CLIP_BYTES + 3
    assert refused.type is None or len(refused.type) <= 64


def test_d3_unknown_message_name_is_refused() -> None:
    refused = intake.message("gossip", [raw(good())], CONVERTER)
    assert isinstance(refused, intake.Refused) and "unknown message" in refused.reason


def test_d3_a_good_message_decodes() -> None:
    report = intake.message("report", [raw(good())], CONVERTER)
    assert isinstance(report, AnalysisReport) and report.as_ == UNIT


def nested(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    reports = st.fixed_dictionaries({"type": children}, optional={"text": children, "as": children, "report_id": children})
    return st.lists(children) | st.dictionaries(st.text(), children) | reports


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(), nested, max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_d3_no_json_value_makes_intake_raise(value: Any) -> None:
    """Any JSON value at all, as one message: a report or a refusal, never an exception."""
    found = intake.message("report", [raw(value)], CONVERTER)
    assert isinstance(found, intake.Refused) or found.type in set(ReportType)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from([b"json/plain", b"binary/plain", b"binary/null", b"", b"json/protobuf"]))
def test_d3_no_bytes_make_intake_raise(data: bytes, encoding: bytes) -> None:
    found = intake.message("report", [raw_bytes(data, encoding)], CONVERTER)
    assert isinstance(found, intake.Refused)


# ------------------------------------------------------------------ start input


@pytest.fixture
def start(directory: Directory) -> dict[str, Any]:
    incident = Incident(id="YQ-start", title="测试", opinion_level=OpinionLevel.GENERAL, responsible_unit=UNIT)
    chain = escalation_chain(directory, UNIT)
    return IncidentInput(incident=incident, policy=POLICY, chain=chain, opened_by=UNIT).model_dump(mode="json")  # type: ignore[no-any-return]


def started(args: list[RawValue], workflow_id: str = "YQ-start", workflow_type: str = "IncidentWorkflow") -> Any:
    return intake.start_input(
        args, CONVERTER, workflow_id=workflow_id, workflow_type=workflow_type, expected_type="IncidentWorkflow", now=T0
    )


def test_a_valid_start_input_decodes(start: dict[str, Any]) -> None:
    assert isinstance(started([raw(start)]), IncidentInput)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: {}, "incident"),
        (lambda s: {**s, "chain": []}, "chain"),
        (lambda s: {**s, "policy": {**s["policy"], "obligations": {**s["policy"]["obligations"], "response": {**s["policy"]["obligations"]["response"], "window_hours": 1e12}}}}, "obligations.response.window_hours"),
        (lambda s: {**s, "policy": {**s["policy"], "obligations": {**s["policy"]["obligations"], "response": {**s["policy"]["obligations"]["response"], "escalation_interval_hours": 1e-12}}}}, "escalation_interval_hours"),
        (lambda s: {**s, "incident": {**s["incident"], "id": "YQ-other"}}, "differs from the workflow id"),
        (lambda s: {**s, "chain": s["chain"][:1]}, "provincial office"),
        (lambda s: {**s, "incident": {**s["incident"], "transfer": {"at": T0.isoformat(), "by": OFFICE}}}, "S3"),
        (lambda s: {**s, "limits": {"history_bytes": 1}}, "limits.history_bytes"),
        # the finding: a discovery in year 9999 overflowed in the opening rules: a task failing forever
        (lambda s: {**s, "incident": {**s["incident"], "discovered_at": "9999-12-31T23:59:59-23:59"}}, "incident.discovered_at"),
        (lambda s: {**s, "incident": {**s["incident"], "discovered_at": "0001-01-01T00:00:00+23:59"}}, "2000-2199"),
    ],
)
def test_a_start_input_that_does_not_validate_names_the_field(start: dict[str, Any], change: Any, field: str) -> None:
    """A start input that does not validate (or a policy out of bounds: every window and interval between
    1 minute and 30 days) gives a reason naming the field: the workflow fails at once with it."""
    reason = started([raw(change(start))])
    assert isinstance(reason, str) and field in reason, reason


def test_a_first_run_may_not_carry_a_record(start: dict[str, Any]) -> None:
    """The finding: a start input carrying a made-up record was trusted (an interval of zero divided by
    zero at the next escalation; a forged history looked verified). Only a continued run carries one."""
    record = {"incident_id": "YQ-start", "opinion_level": "general", "event": None, "responsible_unit": UNIT,
              "discovered_at": T0.isoformat(), "opened_at": T0.isoformat(), "opened_by": UNIT}  # fmt: skip
    reason = started([raw({**start, "carried": record})])
    assert isinstance(reason, str) and "carried" in reason
    assert isinstance(
        intake.start_input([raw({**start, "carried": record})], CONVERTER, workflow_id="YQ-start",
                           workflow_type="IncidentWorkflow", expected_type="IncidentWorkflow", now=T0, continued=True),
        IncidentInput,
    )  # fmt: skip
    bad = {**record, "obligations": [{**new_obligation(ObligationKind.RESPONSE, T0, POLICY, []).model_dump(mode="json"),
                                      "escalation_interval": "PT0S"}]}  # fmt: skip
    reason = intake.start_input([raw({**start, "carried": bad})], CONVERTER, workflow_id="YQ-start",
                                workflow_type="IncidentWorkflow", expected_type="IncidentWorkflow", now=T0, continued=True)  # fmt: skip
    assert isinstance(reason, str) and "escalation_interval" in reason


def test_a_start_with_no_input_two_inputs_or_another_type_is_refused(start: dict[str, Any]) -> None:
    assert "0 inputs" in started([])
    assert "2 inputs" in started([raw(start), raw(start)])
    assert "unknown workflow type" in started([raw(start)], workflow_type="Other")
    assert "Invalid JSON" in started([raw_bytes(b"{no")])
    assert "undecodable" in started([raw_bytes(b"x", encoding=b"weird")])


# ------------------------------------------------------------------ bounds


def test_compaction_keeps_open_and_required_obligations_and_counts_what_it_lets_go() -> None:
    obligations = opening_obligations(MAJOR, T0, POLICY)
    obligations[0] = obligations[0].model_copy(update={"status": ObligationStatus.LATE})
    for n in range(1, 31):
        cr = new_obligation(ObligationKind.CONTINUED_RELEASE, T0 + n * H, POLICY, obligations)
        obligations.append(cr.model_copy(update={"status": ObligationStatus.MET}))
    obligations.append(new_obligation(ObligationKind.CONTINUED_RELEASE, T0 + 40 * H, POLICY, obligations))
    kept, dropped, issued = bounds.compact_obligations(obligations, {})
    assert [o.id for o in dropped] == [f"continued_release#{n}" for n in range(1, 31 - bounds.KEEP_CLOSED)]
    assert [o.id for o in kept][:2] == ["authoritative_info#1", "press_conference#1"]  # never let go of
    assert kept[-1].id == "continued_release#31" and kept[-1].open
    assert len([o for o in kept if bounds.lettable(o)]) == bounds.KEEP_CLOSED
    assert issued == {ObligationKind.CONTINUED_RELEASE: 30 - bounds.KEEP_CLOSED}
    assert new_obligation(ObligationKind.CONTINUED_RELEASE, T0, POLICY, kept, issued=issued).id == "continued_release#32"


@pytest.mark.parametrize(
    ("size", "journal", "reason"),
    [
        (bounds.RunSize(True, 0, 0), RunJournal(), "suggests"),
        (bounds.RunSize(False, 4 * 1024 * 1024, 0), RunJournal(), "bytes"),
        (bounds.RunSize(False, 0, 8_000), RunJournal(), "events"),
        (bounds.RunSize(False, 0, 0), RunJournal(signals=2_000), "signals"),
        (bounds.RunSize(False, 0, 0), RunJournal(updates=1_000), "updates"),
    ],
)
def test_continue_as_new_on_each_measure(size: bounds.RunSize, journal: RunJournal, reason: str) -> None:
    """Considered on every wake: Temporal's suggestion, history size and length, signals and updates."""
    assert reason in (bounds.handover(size, journal, Limits()) or "")
    below = bounds.RunSize(False, size.history_bytes - 1 if size.history_bytes else 0, max(size.history_events - 1, 0))
    smaller = journal.model_copy(update={"signals": max(journal.signals - 1, 0), "updates": max(journal.updates - 1, 0)})
    assert bounds.handover(below, smaller, Limits()) is None


def worst_record(directory: Directory, char: str = "长") -> tuple[IncidentInput, IncidentRecord, RunJournal]:
    """A record with every kept list full of the longest texts a client or the workflow can put there,
    written in ``char`` (3 bytes in UTF-8 for Chinese; 4 for the rarest characters)."""
    chain = escalation_chain(directory, UNIT)
    incident = Incident(id="YQ-worst", title="标" * 200, summary="摘" * 4000, source="源" * 200,
                        opinion_level=OpinionLevel.MAJOR, event=MAJOR, responsible_unit=UNIT)  # fmt: skip
    input = IncidentInput(incident=incident, policy=POLICY, chain=chain, opened_by=UNIT)
    long = char * 4000

    def ref(seq: int) -> ReportRef:
        return ReportRef(seq=seq, report_id=f"{seq:064d}", type=ReportType.RESPONSE, by=UNIT, at=T0, arrived_at=T0,
                         filed_at=T0, published_at=T0, text=bounds.excerpt(long), text_length=4000,
                         text_sha256="f" * 64, met=["response#1", "authoritative_info#1"],
                         changes={"opinion_level": {"from": "major", "to": "general"}})  # fmt: skip

    obligations = opening_obligations(MAJOR, T0, POLICY)
    obligations.append(new_obligation(ObligationKind.RESPONSE, T0, POLICY, obligations))
    obligations.append(new_obligation(ObligationKind.ACCEPTANCE, T0, POLICY, obligations))
    for n in range(bounds.KEEP_CLOSED + 3):  # continued releases, all but the last met late and explained
        cr = new_obligation(ObligationKind.CONTINUED_RELEASE, T0 + n * H, POLICY, obligations)
        obligations.append(cr.model_copy(update={"status": ObligationStatus.LATE, "met_at": T0, "met_by": n}))
    obligations[-1] = obligations[-1].model_copy(update={"status": ObligationStatus.PENDING, "met_at": None, "met_by": None})
    explanation = Explanation(seq=1, by=UNIT, at=T0, text=bounds.excerpt(long), text_sha256="e" * 64)
    obligations = [  # the main kinds late and explained, like the continued releases
        o.model_copy(update={"explanation": explanation, "status": ObligationStatus.LATE, "met_at": T0, "met_by": 1})
        if o.status != ObligationStatus.LATE and o.kind != ObligationKind.CONTINUED_RELEASE
        else o.model_copy(update={"explanation": explanation} if o.status == ObligationStatus.LATE else {})
        for o in obligations
    ]
    obligations, _, _ = bounds.compact_obligations(obligations, {})
    escalation = Escalation(obligation=ObligationKind.RESPONSE, obligation_id="response#1", level=4, round=999,
                            target=OFFICE, target_name="山东省人民政府办公厅", action=EscalationAction.OVERSEE, at=T0,
                            due_at=T0, skipped_steps=99)  # fmt: skip
    facts = IncidentFacts(title=incident.title, responsible_unit=UNIT, responsible_unit_name="名" * 200,
                          state=IncidentState.OPEN, opinion_level=OpinionLevel.MAJOR, event=MAJOR, owed=owed(obligations))  # fmt: skip
    pending = Notification(key="k" * 100, incident_id=incident.id, kind="major_situation", at=T0, target=chain[-1],
                           incident=facts, report_seq=1, report_text=long * 10, report_by=UNIT)  # fmt: skip
    record = IncidentRecord(
        incident_id=incident.id, opinion_level=OpinionLevel.MAJOR, event=MAJOR, responsible_unit=UNIT,
        discovered_at=T0, opened_at=T0, opened_by=UNIT, obligations=obligations,
        escalations=[escalation] * 40, warnings=[WarningRecord(obligation=ObligationKind.RESPONSE, obligation_id="response#1", target=UNIT, at=T0)] * 40,
        reports=[ref(n) for n in range(40)], seen={bounds.report_key("jn-bgt", f"{n:064d}"): n for n in range(400)},
        rejected=[Rejection(at=T0, reason=bounds.reason(long), type="t" * 64, by=UNIT,
                            value=clip(long, intake.CLIP_CHARS, intake.CLIP_BYTES))] * 40,
        delivery_failures=[DeliveryFailure(key="k" * 100, at=T0, error=clip(long, 200, 300))] * 40,
        final_disposition=ref(99), first_response=ref(1), close_reason=bounds.reason(long),
    )  # fmt: skip
    journal = RunJournal(reports=[ref(n) for n in range(Limits().run_reports)])
    handed, _ = bounds.carried(record, [pending] * 20)
    return input, handed, journal


def test_the_carried_record_stays_under_64_kib_at_its_worst(directory: Directory) -> None:
    """The workflow state carried over continue-as-new stays under 64 KiB, whatever was sent: with
    Chinese texts at every limit nothing is let go of beyond the kept counts …"""
    input, handed, _ = worst_record(directory)
    assert bounds.size_of(handed) <= bounds.RECORD_BUDGET
    assert len(handed.pending) == bounds.KEEP_PENDING
    assert (len(handed.rejected), len(handed.escalations), len(handed.reports)) == (
        bounds.KEEP_REJECTED, bounds.KEEP_ESCALATIONS, bounds.KEEP_REPORTS,
    )  # fmt: skip
    # the whole continue-as-new input too (the incident's own texts come on top, bounded by their fields)
    carried_input = input.model_copy(update={"carried": handed})
    assert len(carried_input.model_dump_json().encode()) <= bounds.RECORD_BUDGET + 32 * 1024


def test_the_carried_record_stays_under_64_kib_with_four_byte_characters(directory: Directory) -> None:
    """… and with the widest characters the last guard (``bounds.fit``) still keeps the budget."""
    _, handed, _ = worst_record(directory, char="𠀀")
    assert bounds.size_of(handed) <= bounds.RECORD_BUDGET
    assert handed.rejected_total == 0 or handed.rejected  # the latest entries are what is kept


def test_the_view_and_the_receipt_stay_within_their_budgets(directory: Directory) -> None:
    """The ``status`` view (every report of a run at its largest) under 256 KiB; a receipt under 4 KiB."""
    input, handed, journal = worst_record(directory)
    view = IncidentStatus.of(input, handed, journal)
    assert len(view.model_dump_json().encode()) <= bounds.VIEW_BUDGET
    assert len(view.reports) >= len(journal.reports)
    answer = receipt(handed, handed.reports[-1], note="说" * 300)
    assert len(answer.model_dump_json().encode()) <= bounds.RECEIPT_BUDGET
