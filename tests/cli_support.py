"""Running the real ``yuqing`` console script as a subprocess against the session's dev server.

Subprocesses run under asyncio, so the session loop (and the in-process worker on
``yuqing-tests``) keeps running while a command waits for an update.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import TASK_QUEUE
from yuqing.models import IncidentStatus

YUQING = Path(sys.executable).parent / "yuqing"
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"[A-Za-z]{3,}")


@dataclass
class Result:
    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"yuqing {' '.join(self.args)} -> {self.code}\nstdout: {self.out[:2000]}\nstderr: {self.err[:2000]}"


def ok(result: Result) -> Result:
    """Exit 0, nothing on stderr."""
    assert result.code == 0, str(result)
    assert result.err == "", str(result)
    return result


def failed(result: Result, code: int, *fragments: str) -> Result:
    """Exit ``code`` with one line on stderr, in Chinese and English, no traceback, nothing on stdout."""
    assert result.code == code, str(result)
    assert "Traceback" not in result.err, str(result)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, str(result)
    assert CJK.search(lines[0]) and ENGLISH.search(lines[0]), str(result)
    assert result.out == "", str(result)
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return result


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


Cli = Callable[..., Awaitable[Result]]


@pytest.fixture(scope="session")
def cli_env(env: WorkflowEnvironment, outbox: SqliteOutbox, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of every CLI run: the test server, the test worker's queue and outbox."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "YUQING_", "COLUMNS"))}
    base.update(
        TEMPORAL_ADDRESS=env.client.service_client.config.target_host,
        TEMPORAL_NAMESPACE=env.client.namespace,
        YUQING_TASK_QUEUE=TASK_QUEUE,
        YUQING_OUTBOX=str(outbox.path),
        YUQING_VAR=str(tmp_path_factory.mktemp("cli-var")),
        YUQING_UNIT="370102-jyj",
        COLUMNS="200",
    )
    return base


@pytest_asyncio.fixture
async def cli(cli_env: dict[str, str], worker: Worker, tmp_path: Path) -> Cli:
    """``await cli("status", id, env={...}, module=False)``: one run of the console script."""

    async def run(*args: str, env: dict[str, str | None] | None = None, module: bool = False) -> Result:
        variables = dict(cli_env)
        for key, value in (env or {}).items():
            if value is None:
                variables.pop(key, None)
            else:
                variables[key] = value
        command = [sys.executable, "-m", "starter", *args] if module else [str(YUQING), *args]
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=variables,
            cwd=tmp_path,  # nothing depends on the current directory
        )
        out, err = await asyncio.wait_for(proc.communicate(), 90)
        assert proc.returncode is not None
        return Result(tuple(args), proc.returncode, out.decode(), err.decode())

    return run


async def record(env: WorkflowEnvironment, incident_id: str) -> dict[str, Any]:
    """The incident's record as the workflow keeps it (read in-process, not through the CLI)."""
    status, _, _ = await service.read_incident(env.client, incident_id)
    assert status is not None
    return status.model_dump(mode="json")


def parse_status(document: Any) -> IncidentStatus:
    """A ``--json`` status document back into the contract model (times compare as instants)."""
    return IncidentStatus.model_validate(document)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    """Visibility is eventually consistent: poll ``check`` until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.3)
