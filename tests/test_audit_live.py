"""Export → replay → ledger against a real server, on every path of the workflow (D5).

Every scenario of ``tests/golden/scenarios.py`` runs live (continue-as-new on a server that suggests
it after 40 events); its histories are exported, replayed and turned into the ledger, which must
equal what the live ``status`` query says. The command line is driven as a subprocess, as an auditor
runs it.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from audit.export import export
from audit.histories import MANIFEST_NAME
from audit.ledger import IncidentLedger, build_ledger
from audit.replay import audit
from starter import service
from tests.cli_support import Cli, failed, free_port, ok
from tests.conftest import TASK_QUEUE, serving, start_env
from tests.golden.record import SMALL_HISTORY
from tests.golden.scenarios import SCENARIOS, Ctx, DeadChannel
from worker import build_worker
from yuqing import config
from yuqing.models import IncidentStatus


@dataclass
class Live:
    prefix: str
    ids: dict[str, str]
    """Scenario name → incident id."""
    envs: dict[str, WorkflowEnvironment]
    """Scenario name → the server it ran on."""
    small: WorkflowEnvironment

    async def status(self, name: str) -> IncidentStatus:
        status, _, _ = await service.read_incident(self.envs[name].client, self.ids[name])
        assert status is not None
        return status

    @property
    def incidents(self) -> dict[str, str]:
        """The paths that opened an incident (all but the refused start)."""
        return {name: i for name, i in self.ids.items() if name != "refused-start"}


@pytest_asyncio.fixture(scope="module")
async def live(env: WorkflowEnvironment, worker: Worker) -> AsyncIterator[Live]:
    """Every path, run once, live; the workers stay up so the incidents can be queried."""
    small = await start_env(SMALL_HISTORY)
    prefix = f"au{uuid.uuid4().hex[:6]}"
    dead = f"dead-{prefix}"
    try:
        async with serving(build_worker(env.client, [DeadChannel()], task_queue=dead)), serving(build_worker(
            small.client, [], task_queue=TASK_QUEUE
        )), serving(build_worker(small.client, [DeadChannel()], task_queue=dead)), AsyncExitStack() as workers:
            contexts = {
                "default": Ctx(env, TASK_QUEUE, dead, workers),
                "small_history": Ctx(small, TASK_QUEUE, dead, workers),
            }
            ids = {name: f"{prefix}-{name}" for name in SCENARIOS}
            await asyncio.gather(*(s.run(contexts[s.server], ids[s.name]) for s in SCENARIOS.values()))
            envs = {name: contexts[s.server].env for name, s in SCENARIOS.items()}
            yield Live(prefix, ids, envs, small)
    finally:
        await small.shutdown()


def assert_ledger_equals_status(line: IncidentLedger, status: IncidentStatus, name: str) -> None:
    """The ledger's columns and its whole record against the live status query (D5)."""
    assert line.record.model_dump(mode="json") == status.model_dump(mode="json"), name
    assert [(o.obligation_id, o.kind, o.rule, o.clock_start, o.due_at, o.met_at, o.status) for o in line.obligations] == [
        (o.id, o.kind, o.rule, o.clock_start, o.due_at, o.met_at, o.status) for o in status.obligations
    ], name
    assert [(e.obligation_id, e.level, e.round, e.target, e.at, e.action) for e in line.escalations] == [
        (e.obligation_id, e.level, e.round, e.target, e.at, e.action) for e in status.escalations
    ], name
    assert [(w.obligation_id, w.target, w.at) for w in line.warnings] == [
        (w.obligation_id, w.target, w.at) for w in status.warnings
    ], name
    assert [(r.at, r.via, r.type, r.reason) for r in line.rejected] == [
        (r.at, r.via, r.type, r.reason) for r in status.rejected
    ], name
    for o in line.obligations:
        if o.status.value == "late":
            assert o.met_at is not None and o.lateness_seconds == int((o.met_at - o.due_at).total_seconds()), name


async def test_ledger_equals_live_status_on_every_path(live: Live, tmp_path: Path) -> None:
    """D5: on every path the ledger derived from exported histories alone equals the live status query."""
    for name, incident_id in live.ids.items():
        manifest, problems = await export(live.envs[name].client, tmp_path / name, ids=[incident_id])
        assert problems == [] and manifest["files"], name
    ledger = build_ledger(await audit([tmp_path]))
    assert ledger.problems == []
    assert [p.subject for p in ledger.refused] == [live.ids["refused-start"]]
    by_id = {line.incident_id: line for line in ledger.incidents}
    assert set(by_id) == set(live.incidents.values())
    for name, incident_id in live.incidents.items():
        assert_ledger_equals_status(by_id[incident_id], await live.status(name), name)
    credited = by_id[live.ids["credited-report"]].credited
    assert [(c.seq, c.type.value) for c in credited] == [(1, "response")] and credited[0].filed_at < credited[0].arrived_at
    assert by_id[live.ids["continue-as-new"]].runs >= 2
    assert by_id[live.ids["delivery-failure"]].warnings[0].delivery == "failed"
    assert {e.delivery for e in by_id[live.ids["major-sudden-late"]].escalations} == {"delivered"}


async def test_cli_export_replay_ledger_end_to_end(live: Live, cli: Cli, tmp_path: Path) -> None:
    """D5: `yuqing audit export --query` (open and closed), `replay`, `ledger --json --csv`, as an auditor runs them."""
    out = tmp_path / "export"
    query = f"WorkflowId STARTS_WITH '{live.prefix}-'"
    result = ok(await cli("audit", "export", "--query", query, "--out", str(out), "--json"))
    document = result.json()
    manifest = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))
    on_session_server = {n for n, e in live.envs.items() if e is not live.small}
    assert {f["workflow_id"] for f in manifest["files"]} == {live.ids[n] for n in on_session_server}
    assert document["manifest"]["files"] == manifest["files"]
    assert "+08:00" in manifest["exported_at"]
    assert {f["execution"] for f in manifest["files"]} >= {"running", "completed"}  # open and closed
    for entry in manifest["files"]:
        assert (out / entry["file"]).name == f"{entry['workflow_id']}__{entry['run_id']}.json"

    replayed = ok(await cli("audit", "replay", str(out), "--json")).json()
    assert replayed["summary"]["replayed"] == replayed["summary"]["identical"] == len(manifest["files"])

    sheet = tmp_path / "台账.csv"
    ledger = ok(await cli("audit", "ledger", str(out), "--json", "--csv", str(sheet))).json()
    assert ledger["problems"] == []
    for line in ledger["incidents"]:
        name = line["incident_id"].removeprefix(f"{live.prefix}-")
        assert IncidentStatus.model_validate(line["record"]) == await live.status(name), name
        assert line["as_of"].endswith("+08:00")
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    late = next(r for r in rows if r["事件 incident"] == live.ids["major-sudden-late"] and r["记录 record"] == "义务 obligation"
                and r["义务 obligation"] == "authoritative_info#1")  # fmt: skip
    assert late["状态 status"] == "逾期完成 late" and late["逾期 lateness"] == "4小时30分"  # released at 9 h 30 min
    assert 4 * 3600 + 30 * 60 <= int(late["逾期秒数 lateness seconds"]) < 4 * 3600 + 31 * 60
    levels = [(r["级别 level"], r["轮次 round"]) for r in rows
              if r["事件 incident"] == live.ids["major-sudden-late"] and r["记录 record"] == "督办 escalation"]  # fmt: skip
    assert levels == [("1", "1"), ("2", "1"), ("3", "1"), ("4", "1"), ("4", "2")]  # P4.d: unit, county, city, office
    assert any(r["记录 record"] == "拒收 rejection" for r in rows)

    table = ok(await cli("audit", "ledger", str(out)))
    assert "时限台账" in table.out and live.ids["major-sudden-late"] in table.out and "逾期完成" in table.out


async def test_cli_exports_every_run_of_a_continued_chain(live: Live, cli: Cli, tmp_path: Path) -> None:
    """D1 + D5: one file per run of the continue-as-new chain, first to last, linked in the manifest."""
    out = tmp_path / "chain"
    address = live.small.client.service_client.config.target_host
    incident_id = live.ids["continue-as-new"]
    ok(await cli("audit", "export", incident_id, "--out", str(out), "--address", address))
    files = json.loads((out / MANIFEST_NAME).read_text(encoding="utf-8"))["files"]
    status = await live.status("continue-as-new")
    assert len(files) == status.runs >= 2
    assert files[0]["continued_from"] is None and files[-1]["continued_to"] is None
    for before, after in zip(files, files[1:], strict=False):
        assert before["continued_to"] == after["run_id"] and after["continued_from"] == before["run_id"]
        assert before["execution"] == "continued_as_new"
    ledger = ok(await cli("audit", "ledger", str(out), "--json")).json()
    [line] = ledger["incidents"]
    assert line["runs"] == len(files) and IncidentStatus.model_validate(line["record"]) == status


async def test_temporal_workflow_show_output_is_accepted(live: Live, cli: Cli, tmp_path: Path) -> None:
    """D5: a history saved with `temporal workflow show --output json` replays and gives the same ledger."""
    name = "reclassify-down"
    path = tmp_path / "shown.json"
    proc = await asyncio.create_subprocess_exec(
        str(config.binary("temporal")), "workflow", "show", "--workflow-id", live.ids[name], "--output", "json",
        "--address", live.envs[name].client.service_client.config.target_host,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err
    path.write_bytes(out)
    replayed = ok(await cli("audit", "replay", str(path), "--json")).json()
    assert replayed["files"][0]["workflow_id"] == live.ids[name] and replayed["files"][0]["outcome"] == "identical"
    [line] = ok(await cli("audit", "ledger", str(path), "--json")).json()["incidents"]
    assert IncidentStatus.model_validate(line["record"]) == await live.status(name)


async def test_cli_reports_an_altered_history_and_leaves_it_out(live: Live, cli: Cli, tmp_path: Path) -> None:
    """D5: an exported file edited afterwards fails replay (exit 1, the reason per file) and stays out of the ledger."""
    out = tmp_path / "export"
    names = ["response-48h-late", "major-situation"]
    ok(await cli("audit", "export", *(live.ids[n] for n in names), "--out", str(out)))
    victim = next(out.glob(f"{live.ids['response-48h-late']}__*.json"))
    history = json.loads(victim.read_text(encoding="utf-8"))
    timer = next(e for e in history["events"] if e["eventType"] == "EVENT_TYPE_TIMER_STARTED")
    timer["timerStartedEventAttributes"]["startToFireTimeout"] = "7200s"
    victim.write_text(json.dumps(history, indent=2), encoding="utf-8")

    result = await cli("audit", "replay", str(out))
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1, result
    assert "1/2" in result.err and "altered" in result.err
    assert "文件已被改动" in result.out and "一致 identical" in result.out

    result = await cli("audit", "ledger", str(out), "--json")
    assert result.code == 1 and live.ids["response-48h-late"] in result.err, result
    ledger = json.loads(result.out)
    assert [line["incident_id"] for line in ledger["incidents"]] == [live.ids["major-situation"]]
    assert ledger["problems"][0]["subject"] == live.ids["response-48h-late"]


async def test_cli_audit_usage_and_server_errors(live: Live, cli: Cli, tmp_path: Path) -> None:
    """Exit codes of the CLI: 2 usage, 1 refused, 3 server unreachable; one bilingual line each."""
    failed(await cli("audit", "export", "--out", str(tmp_path / "a")), 2, "--query")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    failed(await cli("audit", "export", "--all", "--out", str(tmp_path / "full")), 2, "empty")
    failed(await cli("audit", "replay", str(tmp_path / "nowhere")), 2, "no such file")
    failed(await cli("audit", "ledger", str(tmp_path / "full")), 2, "no history files")
    failed(await cli("audit", "export", "--query", "WorkflowId ==== 'x'", "--out", str(tmp_path / "q")), 2, "query")
    result = await cli("audit", "export", "no-such-incident", "--out", str(tmp_path / "b"))
    assert result.code == 1 and "no-such-incident" in result.err, result
    unreachable = f"127.0.0.1:{free_port()}"
    failed(await cli("audit", "export", "--all", "--out", str(tmp_path / "c"), "--address", unreachable), 3)


async def test_a_completed_incidents_result_gives_the_same_ledger_line_as_its_replayed_history(
    live: Live, tmp_path: Path
) -> None:
    """A5.2 'outcomes from histories … or, for speed, from the completed workflow's result': on every path
    that completed in one run with nothing let go of, the line built from the result equals the line the
    auditors replay, but for what only the history knows (deliveries, file names)."""
    from audit.ledger import ledger_from_result

    compared = 0
    for name, incident_id in live.incidents.items():
        client = live.envs[name].client
        handle = client.get_workflow_handle(incident_id, result_type=IncidentStatus)
        description = await handle.describe()
        if description.status is None or description.status.name != "COMPLETED":
            continue
        from_result = ledger_from_result(await handle.result(), description.run_id)
        manifest, problems = await export(client, tmp_path / name, ids=[incident_id])
        assert problems == []
        [replayed] = build_ledger(await audit([tmp_path / name])).incidents
        if replayed.runs > 1:
            assert from_result is None, name  # a continued chain is replayed, never read from a result
            continue
        assert from_result is not None, name
        unknown = {"delivery": "unknown"}
        expected = replayed.model_copy(update={
            "files": [],
            "warnings": [w.model_copy(update=unknown) for w in replayed.warnings],
            "escalations": [e.model_copy(update=unknown) for e in replayed.escalations],
        })  # fmt: skip
        assert from_result.model_dump(mode="json") == expected.model_dump(mode="json"), name
        compared += 1
    assert compared >= 3
