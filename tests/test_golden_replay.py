"""Golden histories: every path of the workflow, recorded from real runs, must replay on today's code (D5).

They live in ``tests/golden/histories/<path>/`` (exported by ``audit.export``, with a manifest) and the
live ``status`` of each at recording time in ``tests/golden/index.json``. A change to workflow logic
that is not behind ``workflow.patched`` makes this file fail: that is its job (README). The second core
release re-recorded them once (README, changelog); from then on they are never re-recorded to pass.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from audit.ledger import build_ledger
from audit.replay import audit, replay_files, tolerant_diff
from tests.golden.changes import PatchedChange, UnpatchedChange
from tests.golden.record import HISTORIES, INDEX, golden_id
from tests.golden.scenarios import SCENARIOS
from workflows.rules import article4_supervision
from yuqing.models import IncidentStatus

INDEXED = json.loads(INDEX.read_text(encoding="utf-8"))["paths"]
REQUIRED = {
    "major-sudden-met", "major-sudden-late", "response-48h-met", "response-48h-late", "reclassify-up",
    "reclassify-down", "major-situation", "continue-as-new", "rejected-reports",
    # the second core release's new paths
    "reclassify-up-down-up", "final-disposition-deferred", "credited-report", "refused-start",
}  # fmt: skip
"""The paths the issues name; every other scenario is a path the workflow gained besides."""


def golden_files() -> list[Path]:
    return sorted(p for p in HISTORIES.rglob("*.json") if p.name != "manifest.json")


def test_every_path_has_a_golden_history() -> None:
    """Each scenario (each path of the workflow) was recorded, the issue's list first."""
    assert REQUIRED <= set(SCENARIOS)
    assert set(INDEXED) == set(SCENARIOS), "record the missing paths: python -m tests.golden.record NAME"
    for name, entry in INDEXED.items():
        files = sorted((HISTORIES / name).glob(f"{golden_id(name)}__*.json"))
        assert len(files) == len(entry["runs"]) >= 1, name
    assert len(INDEXED["continue-as-new"]["runs"]) >= 2  # every run of the chain


async def test_golden_histories_replay_identically_on_all_cores() -> None:
    """D5: every golden history replays against the current code with the production converter, on all cores."""
    result = await audit([HISTORIES], workers=os.cpu_count())
    assert len(result.runs) == len(golden_files())
    assert {r.outcome for r in result.runs} == {"identical"}, [(r.file, r.outcome, r.reasons) for r in result.failures]


async def test_ledger_from_golden_histories_equals_the_recorded_live_status() -> None:
    """D5: the ledger derived from the histories alone equals what the status query said, on every path."""
    ledger = build_ledger(await audit([HISTORIES], workers=1))
    assert ledger.problems == []
    assert [p.subject for p in ledger.refused] == [golden_id("refused-start")]
    assert "window_hours" in ledger.refused[0].reasons[0]
    by_id = {i.incident_id: i for i in ledger.incidents}
    for name, entry in INDEXED.items():
        if entry["status"] is None:
            continue
        live = IncidentStatus.model_validate(entry["status"])
        derived = by_id[golden_id(name)]
        # the status contract only grows: keys added since recording (Articles 一/二) are not in ``entry``
        assert tolerant_diff(entry["status"], derived.record.model_dump(mode="json")) is None, name
        assert [(o.obligation_id, o.status, o.due_at, o.met_at) for o in derived.obligations] == [
            (o.id, o.status, o.due_at, o.met_at) for o in live.obligations
        ], name
        assert [(e.obligation_id, e.level, e.round, e.target, e.at) for e in derived.escalations] == [
            (e.obligation_id, e.level, e.round, e.target, e.at) for e in live.escalations
        ], name
        assert [(w.obligation_id, w.target, w.at) for w in derived.warnings] == [
            (w.obligation_id, w.target, w.at) for w in live.warnings
        ], name
        assert [(r.at, r.reason) for r in derived.rejected] == [(r.at, r.reason) for r in live.rejected], name
        assert derived.runs == live.runs, name


async def test_workflow_change_without_patch_fails_golden_replay() -> None:
    """A new behaviour shipped bare (an extra notification on each warning) breaks every history with a warning."""
    files = golden_files()
    reports = await replay_files(files, workflows=[UnpatchedChange])
    failed = {Path(r.file).parent.name for r in reports if r.outcome == "nondeterministic"}
    warned = {name for name, e in INDEXED.items() if e["status"] and e["status"]["warnings"]}
    assert warned and warned <= failed, (warned, failed)
    nondeterministic = next(r for r in reports if r.outcome == "nondeterministic")
    assert "Nondeterminism" in nondeterministic.reasons[0]


async def test_the_same_change_behind_workflow_patched_replays_identically() -> None:
    """README: behind ``workflow.patched`` old histories replay as they ran."""
    reports = await replay_files(golden_files(), workflows=[PatchedChange])
    assert {r.outcome for r in reports} == {"identical"}, [(r.file, r.reasons) for r in reports if not r.ok]


async def test_rule_change_the_core_cannot_see_is_still_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """D.esc/P4.d changed without a patch (level 1 goes to the top of the chain): the commands stay the same,
    so Temporal's replay passes, but the escalation record no longer matches the notifications in the history."""
    original = article4_supervision.step

    def to_the_top(obligation, index, chain):  # type: ignore[no-untyped-def]
        return original(obligation, index, chain[-1:])

    monkeypatch.setattr(article4_supervision, "step", to_the_top)
    reports = await replay_files(golden_files())
    escalated = {name for name, e in INDEXED.items() if e["status"] and e["status"]["escalations"]}
    caught = {Path(r.file).parent.name for r in reports if r.outcome == "inconsistent"}
    assert escalated and escalated <= caught, (escalated, caught)
    reason = next(r for r in reports if Path(r.file).parent.name == "response-48h-late").reasons
    assert any("对象不符" in line for line in reason), reason
