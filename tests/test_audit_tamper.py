"""A history whose content was altered is reported, never passed (D5).

Real edits of exported JSON files (copies of the golden histories, which ``audit.export`` wrote):
with the manifest left as it was, and with the manifest's hash rewritten to match, as a forger
would, so only the replay and the audit's checks stand between the edit and the ledger.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from audit.histories import MANIFEST_NAME, sha256
from audit.ledger import build_ledger
from audit.replay import AuditResult, RunReport, audit, tolerant_diff
from tests.golden.record import HISTORIES

Events = list[dict[str, Any]]


def copy_golden(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(HISTORIES / name, target)
    return target


def history_file(directory: Path, index: int = 0) -> Path:
    return sorted(p for p in directory.glob("*__*.json"))[index]


def edit(path: Path, change: Callable[[Events], Events], *, rehash: bool) -> None:
    """Apply ``change`` to the events; with ``rehash`` the manifest is updated to the new content."""
    data = json.loads(path.read_text(encoding="utf-8"))
    data["events"] = change(data["events"])
    raw = json.dumps(data, indent=2).encode()
    path.write_bytes(raw)
    if rehash:
        manifest_path = path.parent / MANIFEST_NAME
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            if entry["file"] == path.name:
                entry["sha256"] = sha256(raw)
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")


def renumbered(events: Events, drop: set[str]) -> Events:
    """Remove events and renumber the rest consistently (ids and every reference to them)."""
    kept = [e for e in events if e["eventId"] not in drop]
    new_ids = {e["eventId"]: str(i) for i, e in enumerate(kept, start=1)}

    def fix(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("EventId") and isinstance(value, str) and value in new_ids:
                    node[key] = new_ids[value]
                else:
                    fix(value)
        elif isinstance(node, list):
            for value in node:
                fix(value)

    for e in kept:
        e["eventId"] = new_ids[e["eventId"]]
        fix(e)
    return kept


def of_type(events: Events, kind: str) -> list[dict[str, Any]]:
    return [e for e in events if e["eventType"] == f"EVENT_TYPE_{kind}"]


def payload(attrs: dict[str, Any], path: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    node: Any = attrs
    for key in path:
        node = node[key]
    slot = node["payloads"][0]
    return slot, json.loads(base64.b64decode(slot["data"]))


def put(slot: dict[str, Any], value: Any) -> None:
    slot["data"] = base64.b64encode(json.dumps(value, ensure_ascii=False).encode()).decode()


def only(result: AuditResult) -> RunReport:
    [run] = result.runs
    return run


async def test_pristine_copy_passes(tmp_path: Path) -> None:
    directory = copy_golden("major-sudden-met", tmp_path)
    assert only(await audit([directory], workers=1)).outcome == "identical"


async def test_any_edit_is_caught_by_the_manifest_hash(tmp_path: Path) -> None:
    """Even an edit the replay cannot notice (a task id) no longer matches the manifest's SHA-256."""
    directory = copy_golden("major-sudden-met", tmp_path)

    def touch(events: Events) -> Events:
        events[5]["taskId"] = str(int(events[5]["taskId"]) + 1)
        return events

    edit(history_file(directory), touch, rehash=False)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "altered" and "sha256" in run.reasons[0]


async def test_removed_report_is_nondeterministic(tmp_path: Path) -> None:
    """D3: a report's update events removed and the history renumbered consistently: the replay fails."""
    directory = copy_golden("major-sudden-met", tmp_path)

    def drop_first_report(events: Events) -> Events:
        accepted = of_type(events, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED")[0]
        update_id = accepted["workflowExecutionUpdateAcceptedEventAttributes"]["protocolInstanceId"]
        completed = next(
            e for e in of_type(events, "WORKFLOW_EXECUTION_UPDATE_COMPLETED")
            if e["workflowExecutionUpdateCompletedEventAttributes"]["meta"]["updateId"] == update_id
        )  # fmt: skip
        return renumbered(events, {accepted["eventId"], completed["eventId"]})

    edit(history_file(directory), drop_first_report, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "nondeterministic"
    assert "Nondeterminism" in run.reasons[0]


@pytest.mark.parametrize(
    ("duration", "why"),
    [
        ("7200s", "不对应任何时限"),  # 2 h: no rule names that moment
        ("18000s", "提前触发"),  # 5 h: the 5 h deadline itself, but the timer fired at 4 h (the warning)
    ],
)
async def test_changed_timer_is_reported(tmp_path: Path, duration: str, why: str) -> None:
    """D2: a timer's duration changed; Temporal's replay does not compare durations, the audit does."""
    directory = copy_golden("major-sudden-met", tmp_path)

    def change_first_timer(events: Events) -> Events:
        of_type(events, "TIMER_STARTED")[0]["timerStartedEventAttributes"]["startToFireTimeout"] = duration
        return events

    edit(history_file(directory), change_first_timer, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "inconsistent"
    assert any(why in r and duration in r for r in run.reasons), run.reasons


async def test_backdated_report_is_reported(tmp_path: Path) -> None:
    """P4.e: moving the arrival of a late release to before its deadline changes what the code computes;
    the answer recorded in the history no longer matches."""
    directory = copy_golden("major-sudden-late", tmp_path)

    def backdate(events: Events) -> Events:
        accepted = of_type(events, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED")[-1]
        task_completed = next(e for e in events if e["eventId"] == str(int(accepted["eventId"]) - 1))
        started_id = task_completed["workflowTaskCompletedEventAttributes"]["startedEventId"]
        started = next(e for e in events if e["eventId"] == started_id)
        at = datetime.fromisoformat(started["eventTime"].replace("Z", "+00:00")[:26] + "+00:00")
        started["eventTime"] = (at - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return events

    edit(history_file(directory), backdate, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome in ("inconsistent", "nondeterministic"), run
    assert run.outcome == "nondeterministic" or any("应答" in r for r in run.reasons), run.reasons


async def test_changed_report_text_is_reported(tmp_path: Path) -> None:
    directory = copy_golden("reclassify-up", tmp_path)

    def rewrite(events: Events) -> Events:
        accepted = of_type(events, "WORKFLOW_EXECUTION_UPDATE_ACCEPTED")[0]
        slot, report = payload(accepted["workflowExecutionUpdateAcceptedEventAttributes"], ("acceptedRequest", "input", "args"))
        put(slot, {**report, "text": "伤亡人数未变"})
        return events

    edit(history_file(directory), rewrite, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "inconsistent" and any("应答" in r for r in run.reasons), run.reasons


async def test_escalation_sent_elsewhere_than_recorded_is_reported(tmp_path: Path) -> None:
    """D.esc, P4.b: the record and the notification activity must agree on whom an escalation reached."""
    directory = copy_golden("response-48h-late", tmp_path)

    def redirect(events: Events) -> Events:
        for e in of_type(events, "ACTIVITY_TASK_SCHEDULED"):
            slot, notification = payload(e["activityTaskScheduledEventAttributes"], ("input",))
            if notification["kind"] == "escalation":
                notification["target"]["code"] = "sz-bgt"
                put(slot, notification)
                break
        return events

    edit(history_file(directory), redirect, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "inconsistent" and any("对象不符" in r for r in run.reasons), run.reasons


async def test_removed_escalation_notification_is_reported(tmp_path: Path) -> None:
    """D.esc: an escalation's activity removed from the history is caught (here by the replay itself)."""
    directory = copy_golden("response-48h-late", tmp_path)

    def drop(events: Events) -> Events:
        scheduled = next(
            e for e in of_type(events, "ACTIVITY_TASK_SCHEDULED")
            if payload(e["activityTaskScheduledEventAttributes"], ("input",))[1]["kind"] == "escalation"
        )  # fmt: skip
        related = {
            e["eventId"] for e in events
            for attrs in [next((v for k, v in e.items() if k.endswith("EventAttributes")), {})]
            if attrs.get("scheduledEventId") == scheduled["eventId"]
        }  # fmt: skip
        return renumbered(events, {scheduled["eventId"], *related})

    edit(history_file(directory), drop, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome in ("nondeterministic", "inconsistent"), run
    assert run.reasons


async def test_missing_and_unlisted_files_are_reported(tmp_path: Path) -> None:
    directory = copy_golden("continue-as-new", tmp_path)
    middle = history_file(directory, 1)
    shutil.move(middle, tmp_path / middle.name)
    (directory / "extra.json").write_bytes(history_file(copy_golden("major-situation", tmp_path)).read_bytes())
    result = await audit([directory], workers=1)
    outcomes = {Path(r.file).name: r.outcome for r in result.runs}
    assert outcomes[middle.name] == "missing"
    assert outcomes["extra.json"] == "altered"
    ledger = build_ledger(result)
    subjects = {p.subject for p in ledger.problems}
    assert "golden-continue-as-new" in subjects  # the chain is broken: left out of the ledger
    assert ledger.incidents == []


async def test_continue_as_new_chain_without_its_first_runs_is_not_in_the_ledger(tmp_path: Path) -> None:
    directory = copy_golden("continue-as-new", tmp_path)
    (directory / MANIFEST_NAME).unlink()  # as a hand-assembled set of `temporal workflow show` files
    runs = sorted(directory.glob("*__*.json"))
    result = await audit([directory], workers=1)
    last = next(r for r in result.runs if r.continued_to is None)
    for path in runs:
        if Path(last.file).name != path.name:
            path.unlink()
    ledger = build_ledger(await audit([directory], workers=1))
    assert ledger.incidents == []
    assert any("缺少更早的运行" in reason for p in ledger.problems for reason in p.reasons)


@pytest.mark.parametrize("garbage", [b"not json", b'{"events": []}', b'{"events": [{"eventId": "1"}]}', b"[]"])
async def test_unreadable_files_are_reported(tmp_path: Path, garbage: bytes) -> None:
    path = tmp_path / "odd.json"
    path.write_bytes(garbage)
    run = only(await audit([path], workers=1))
    assert run.outcome == "unreadable" and run.reasons


async def test_rewritten_record_carried_over_continue_as_new_is_reported(tmp_path: Path) -> None:
    """D1: the record a continued run starts with must be the one the previous run handed on."""
    directory = copy_golden("continue-as-new", tmp_path)
    result = await audit([directory], workers=1)
    second = next(r for r in result.runs if r.continued_from is not None)

    def rewrite(events: Events) -> Events:
        slot, run_input = payload(events[0]["workflowExecutionStartedEventAttributes"], ("input",))
        run_input["carried"]["discovered_at"] = "2026-01-01T00:00:00+00:00"  # the clocks' origin (P3.a)
        put(slot, run_input)
        return events

    edit(Path(second.file), rewrite, rehash=True)
    result = await audit([directory], workers=1)
    assert next(r for r in result.runs if r.run_id == second.run_id).outcome != "identical"
    ledger = build_ledger(result)
    assert ledger.incidents == []
    [problem] = ledger.problems
    assert any("起始记录与上一运行交出的不同" in reason for reason in problem.reasons), problem.reasons


# ------------------------------------------------------------------ tolerance of later fields


def test_tolerant_diff_ignores_fields_added_later_and_nothing_else() -> None:
    """The audit compares what a history recorded with what today's code answers: a key the code added
    since is ignored; a recorded key that is missing or different is a difference."""
    recorded = {"seq": 1, "met": [{"id": "response#1", "status": "met"}]}
    assert tolerant_diff(recorded, {**recorded, "text_sha256": "ab"}) is None
    assert tolerant_diff(recorded, {"seq": 1, "met": [{"id": "response#1", "status": "met", "rule": "A3.3"}]}) is None
    assert "seq" in (tolerant_diff(recorded, {**recorded, "seq": 2}) or "")
    assert "missing" in (tolerant_diff(recorded, {"met": recorded["met"]}) or "")
    assert "entries" in (tolerant_diff(recorded, {**recorded, "met": []}) or "")


async def test_a_history_recorded_before_a_field_existed_still_replays(tmp_path: Path) -> None:
    """The finding: one optional field added to the status broke the replay of every golden history. Here a
    history is made to look recorded before the receipt had ``text_sha256``: it replays identically."""
    directory = copy_golden("response-48h-met", tmp_path)

    def older(events: Events) -> Events:
        for e in of_type(events, "WORKFLOW_EXECUTION_UPDATE_COMPLETED"):
            slot, receipt = payload(e["workflowExecutionUpdateCompletedEventAttributes"], ("outcome", "success"))
            assert "text_sha256" in receipt
            put(slot, {k: v for k, v in receipt.items() if k != "text_sha256"})
        return events

    edit(history_file(directory), older, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome == "identical", run.reasons


def test_the_audit_reads_histories_without_the_command_line() -> None:
    """The audit's library (export, histories, replay, ledger) imports neither the staff command line nor
    its service layer."""
    import subprocess
    import sys

    code = (
        "import sys, audit.export, audit.histories, audit.replay, audit.ledger; "
        "print(sorted(m for m in sys.modules if m == 'starter' or m.startswith('starter.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


async def test_a_first_run_made_to_carry_a_record_is_reported(tmp_path: Path) -> None:
    """A forged history whose first run starts with a record of its own (every obligation met, nothing
    escalated) is never verified: today's code refuses such a start, so the replay disagrees."""
    directory = copy_golden("response-48h-late", tmp_path)
    live = json.loads((Path(__file__).parent / "golden" / "index.json").read_text(encoding="utf-8"))

    def forge(events: Events) -> Events:
        slot, run_input = payload(events[0]["workflowExecutionStartedEventAttributes"], ("input",))
        record = {k: v for k, v in live["paths"]["response-48h-late"]["status"].items() if k in (
            "incident_id", "opinion_level", "event", "responsible_unit", "discovered_at", "opened_at", "opened_by")}
        put(slot, {**run_input, "carried": record})
        return events

    edit(history_file(directory), forge, rehash=True)
    run = only(await audit([directory], workers=1))
    assert run.outcome != "identical", run.reasons



async def test_a_later_execution_with_the_same_id_never_hides_the_incident(clock, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The finding: export followed only the latest execution of a workflow id, so a start reusing a closed
    incident's id (even one refused at once) hid the incident from the audit. Every execution is exported,
    and each chain is its own line of the ledger."""
    from audit.export import export
    from starter import service
    from tests.conftest import OFFICE, TASK_QUEUE, make_incident
    from workflows.incident import WORKFLOW_NAME

    handle = await clock.open(make_incident())
    await service.close_incident(clock.client, handle.id, "办结", by=OFFICE)
    await handle.result()
    impostor = await clock.client.start_workflow(WORKFLOW_NAME, {}, id=handle.id, task_queue=TASK_QUEUE)
    try:
        await impostor.result()
    except Exception:
        pass
    manifest, problems = await export(clock.client, tmp_path / "x", ids=[handle.id])
    assert problems == [] and len(manifest["files"]) == 2
    ledger = build_ledger(await audit([tmp_path / "x"], workers=1))
    assert [i.incident_id for i in ledger.incidents] == [handle.id] and ledger.problems == []
    assert [p.subject for p in ledger.refused] == [handle.id]
