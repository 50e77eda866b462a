"""Encrypted payloads on a real ``make run`` (issue 11): one key variable turns it all on.

``python -m yuqing.devserver`` with ``YUQING_ENCRYPTION_KEYS``: the worker encrypts, the codec server
runs beside the dev server and the Web UI is pointed at it. An incident run with the key leaves no
title or report text in clear in Temporal; an export read without the key gives one clear error; with
the key it replays and the ledger is built.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import uuid
from pathlib import Path

import aiohttp
import pytest
from temporalio.client import Client, WorkflowHistory

from audit.export import export
from audit.histories import payloads_of
from audit.ledger import build_ledger
from audit.replay import audit
from starter import service
from tests.cli_support import YUQING, Result, failed
from tests.conftest import UNIT, Clock, make, make_incident
from tests.test_devserver import free_port, start_devserver, stop
from yuqing import codec, config
from yuqing.codec import KEYS_ENV, UnknownKeyError
from yuqing.models import AnalysisReport

SECRET_TITLE = f"某化工厂爆炸事故舆情-{uuid.uuid4().hex[:6]}"
SECRET_TEXT = "伤者三人已送省立医院救治，涉事企业负责人已被控制"


async def run(*args: str, env: dict[str, str]) -> Result:
    proc = await asyncio.create_subprocess_exec(
        *args, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return Result(tuple(args[1:]), proc.returncode or 0, out.decode(), err.decode())


def leaks(text: str) -> list[str]:
    """Which of the secrets appear in ``text``, raw or JSON-escaped."""
    found = []
    for secret in (SECRET_TITLE, SECRET_TEXT, "伤者", "爆炸"):
        if secret in text or json.dumps(secret)[1:-1] in text:
            found.append(secret)
    return found


async def test_make_run_with_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text(codec.new_key_line("2026-k1") + "\n")
    port, ui_port, codec_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "YUQING_VAR": str(tmp_path / "var"),
        "YUQING_DEV_PORT": str(port),
        "YUQING_UI_PORT": str(ui_port), "YUQING_HTTP_PORT": str(free_port()),
        "YUQING_CODEC_PORT": str(codec_port),
        "YUQING_TASK_QUEUE": "encryption-test",
        KEYS_ENV: str(keys),
    }
    env.pop("TEMPORAL_ADDRESS", None)
    address = f"127.0.0.1:{port}"
    monkeypatch.setenv(KEYS_ENV, str(keys))
    proc = await start_devserver(env)
    try:
        client = await Client.connect(address, data_converter=config.data_converter())
        incident = make_incident(title=SECRET_TITLE, summary=SECRET_TEXT)
        handle = await service.open_incident(client, incident, opened_by=UNIT, task_queue="encryption-test")
        await service.file_report(client, handle.id, make(AnalysisReport, text=SECRET_TEXT))
        await Clock.settle(handle)
        status = await service.get_status(client, handle.id)  # staff with the key read it all
        assert status.title == SECRET_TITLE and [r.text for r in status.reports] == [SECRET_TEXT]

        # -- Temporal itself holds no title, summary or report text in clear
        plain = await Client.connect(address, data_converter=config.DATA_CONVERTER)
        history = await plain.get_workflow_handle(handle.id).fetch_history()
        assert leaks(history.to_json()) == []
        notified = [e.activity_task_scheduled_event_attributes.input.payloads[0] for e in history.events
                    if e.HasField("activity_task_scheduled_event_attributes")]  # fmt: skip
        assert notified and all(codec.key_id_of(p) == "2026-k1" for p in notified)  # the notifications (立案 …)
        payloads = list(payloads_of(history.events))
        encrypted = [p for p in payloads if codec.key_id_of(p) == "2026-k1"]
        assert len(encrypted) >= 5  # start input, memo, update, its answer, the notifications …
        for p in payloads:
            assert SECRET_TITLE.encode() not in p.data and "伤者".encode() not in p.data
        description = await plain.get_workflow_handle(handle.id).describe()
        memo = description.raw_description.workflow_execution_info.memo.fields
        assert "title" in memo and all(codec.key_id_of(p) == "2026-k1" for p in memo.values())  # memo: encrypted
        attributes = description.raw_description.workflow_execution_info.search_attributes.indexed_fields
        assert "YuqingUnit" in attributes
        for name, sa in attributes.items():
            assert codec.key_id_of(sa) is None, name  # search attributes stay in clear …
            assert leaks(sa.data.decode("utf-8", "replace")) == [], name  # … and carry no free text
        shown = await run(str(config.binary("temporal")), "workflow", "show", "-w", handle.id, "--address", address,
                          "-o", "json", env=env)  # fmt: skip
        assert shown.code == 0, str(shown)
        assert leaks(shown.out) == []

        # -- the Web UI is pointed at our codec server, which decodes what the UI sends it
        codec_url = f"http://127.0.0.1:{codec_port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{ui_port}/api/v1/settings") as settings:
                assert (await settings.json())["Codec"]["Endpoint"] == codec_url
            start_input = history.events[0].workflow_execution_started_event_attributes.input.payloads[0]
            body = {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in start_input.metadata.items()},
                                  "data": base64.b64encode(start_input.data).decode()}]}  # fmt: skip
            origin = f"http://localhost:{ui_port}"
            async with http.post(f"{codec_url}/decode", json=body, headers={"Origin": origin, "X-Namespace": "default"}) as decoded:
                assert decoded.status == 200 and decoded.headers["Access-Control-Allow-Origin"] == origin
                data = base64.b64decode((await decoded.json())["payloads"][0]["data"])
                assert SECRET_TITLE in data.decode()
        with_codec = await run(str(config.binary("temporal")), "workflow", "show", "-w", handle.id, "--address",
                               address, "-o", "json", "--codec-endpoint", codec_url, env=env)  # fmt: skip
        decoded_history = WorkflowHistory.from_json(handle.id, with_codec.out)
        clear = [p.data.decode() for p in payloads_of(decoded_history.events) if codec.key_id_of(p) is None]
        assert any(SECRET_TEXT in text for text in clear) and any(SECRET_TITLE in text for text in clear)

        # -- an export made without the key: the files stay encrypted and cannot be read without it
        monkeypatch.delenv(KEYS_ENV)
        out = tmp_path / "export"
        manifest, problems = await export(plain, out, ids=[handle.id])
        assert problems == [] and [f["key_ids"] for f in manifest["files"]] == [["2026-k1"]]
        assert all(leaks(p.read_text(encoding="utf-8")) == [] for p in out.glob("*.json"))
        with pytest.raises(UnknownKeyError) as caught:
            await audit([out])
        assert "2026-k1" in str(caught.value) and KEYS_ENV in str(caught.value)
        no_key = {**env, KEYS_ENV: ""}
        for command in ("replay", "ledger"):
            result = await run(str(YUQING), "audit", command, str(out), env=no_key)
            failed(result, 1, "2026-k1", KEYS_ENV)
        wrong = tmp_path / "other-keys.txt"
        wrong.write_text(codec.new_key_line("2026-k0") + "\n")
        failed(await run(str(YUQING), "audit", "replay", str(out), env={**env, KEYS_ENV: str(wrong)}), 1,
               "2026-k1", "未知密钥")  # fmt: skip

        # -- with the key: it replays identically and the ledger is built
        monkeypatch.setenv(KEYS_ENV, str(keys))
        result = await audit([out])
        assert [r.outcome for r in result.runs] == ["identical"], [r.reasons for r in result.runs]
        ledger = build_ledger(result)
        assert ledger.problems == [] and [line.incident_id for line in ledger.incidents] == [handle.id]
        replayed = await run(str(YUQING), "audit", "replay", str(out), "--json", env=env)
        assert replayed.code == 0, str(replayed)
    except BaseException:
        proc.kill()
        raise
    err = await stop(proc)
    assert b"Traceback" not in err


async def test_a_broken_key_file_is_one_clear_line(tmp_path: Path) -> None:
    """The command line, the worker and ``make run`` refuse a bad key file with its line and reason."""
    keys = tmp_path / "keys.txt"
    keys.write_text("# keys\n2026-k1: c2hvcnQ=\n")
    env = {**os.environ, KEYS_ENV: str(keys), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    status = await run(str(YUQING), "status", "YQ-20261125-1432-7f3a", env=env)
    failed(status, 1, "line 2", "5 bytes")
    env.update(YUQING_VAR=str(tmp_path / "var"), YUQING_DEV_PORT=str(free_port()), YUQING_UI_PORT=str(free_port()), YUQING_HTTP_PORT=str(free_port()))
    for module in ("worker", "yuqing.devserver"):
        started = await run(sys.executable, "-m", module, env=env)
        assert started.code == 1 and "Traceback" not in started.err, str(started)
        assert "line 2" in started.err, str(started)
