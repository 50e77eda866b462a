"""``make run``: the embedded dev server on SQLite plus the worker; Ctrl-C stops both; a restart finds every incident."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from starter import service
from tests.conftest import UNIT, Clock, make, make_incident
from yuqing import config, search_attributes
from yuqing.models import AnalysisReport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_devserver(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "yuqing.devserver", env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL
    )
    assert proc.stderr is not None
    seen = b""
    while b"worker started" not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 90)
        assert line, seen.decode()
        seen += line
    return proc


async def stop(proc: asyncio.subprocess.Process) -> bytes:
    proc.send_signal(signal.SIGINT)  # what Ctrl-C sends
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    return err


async def test_make_run_persists_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "YUQING_VAR": str(tmp_path / "var"),
        "YUQING_DEV_PORT": str(port),
        "YUQING_UI_PORT": str(free_port()), "YUQING_HTTP_PORT": str(free_port()),
        "YUQING_TASK_QUEUE": "devserver-test",
    }
    env.pop("TEMPORAL_ADDRESS", None)
    proc = await start_devserver(env)
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=config.data_converter())
        handle = await service.open_incident(client, make_incident(), opened_by=UNIT, task_queue="devserver-test")
        await service.file_report(client, handle.id, make(AnalysisReport, text="研判"))
        await Clock.settle(handle)
    except BaseException:
        proc.kill()  # the server goes with it (PR_SET_PDEATHSIG): a failed test leaves nothing running
        raise
    err = await stop(proc)
    assert b"dev server stopped" in err and b"Traceback" not in err
    # make run's worker keeps the log channel (config.DEV_CHANNELS): staff see each notification go out
    assert any(b"notification" in line and handle.id.encode() in line for line in err.splitlines())
    assert (tmp_path / "var" / "temporal.db").exists() and (tmp_path / "var" / "outbox.db").exists()
    # nothing listens any more: the server went down with the worker
    try:
        await asyncio.wait_for(client.workflow_service.get_system_info(GetSystemInfoRequest()), 5)
    except (TimeoutError, RPCError) as down:
        assert not isinstance(down, RPCError) or down.status != RPCStatusCode.OK
    else:
        raise AssertionError("the dev server should be stopped")

    proc = await start_devserver(env)
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=config.data_converter())
        status = await service.get_status(client, handle.id)
        assert [r.text for r in status.reports] == ["研判"]
        assert await search_attributes.ensure(client) == []  # registered once, found again
    finally:
        if proc.returncode is None:
            await stop(proc)


async def test_a_killed_make_run_leaves_no_server_behind(tmp_path: Path) -> None:
    """``kill -9`` of ``make run`` (or a crash) took only the worker: the dev server lived on, holding the
    port and the SQLite file. It now goes down with its parent."""
    port = free_port()
    env = {**os.environ, "YUQING_VAR": str(tmp_path / "var"), "YUQING_DEV_PORT": str(port),
           "YUQING_UI_PORT": str(free_port()), "YUQING_HTTP_PORT": str(free_port()), "YUQING_TASK_QUEUE": "devserver-kill-test"}  # fmt: skip
    env.pop("TEMPORAL_ADDRESS", None)
    proc = await start_devserver(env)
    proc.kill()
    assert proc.stderr is not None
    await asyncio.wait_for(proc.stderr.read(), 20)  # an orphaned server would keep the pipe open
    deadline = asyncio.get_running_loop().time() + 20
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                break  # nobody listens: the server is gone
        assert asyncio.get_running_loop().time() < deadline, "the dev server outlived make run"
        await asyncio.sleep(0.2)


def _env(tmp_path: Path, queue: str) -> tuple[dict[str, str], int]:
    port = free_port()
    env = {**os.environ, "YUQING_VAR": str(tmp_path / "var"), "YUQING_DEV_PORT": str(port),
           "YUQING_UI_PORT": str(free_port()), "YUQING_HTTP_PORT": str(free_port()), "YUQING_TASK_QUEUE": queue}  # fmt: skip
    env.pop("TEMPORAL_ADDRESS", None)
    return env, port


async def _nobody_listens(port: int, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        assert asyncio.get_running_loop().time() < deadline, f"a server still listens on {port}: it outlived make run"
        await asyncio.sleep(0.2)


async def test_a_closed_terminal_sighup_stops_worker_and_server(tmp_path: Path) -> None:
    """Closing the terminal of ``make run`` sends SIGHUP: it left the server running; now both stop."""
    env, port = _env(tmp_path, "devserver-hup-test")
    proc = await start_devserver(env)
    proc.send_signal(signal.SIGHUP)
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert b"dev server stopped" in err and b"Traceback" not in err, err.decode()
    await _nobody_listens(port)


async def test_make_run_killed_with_sigkill_leaves_no_server(tmp_path: Path) -> None:
    """``kill -9`` of ``make`` itself (python is its child, the server python's): python gets SIGTERM from its
    parent-death signal and stops the worker, then the server."""
    env, port = _env(tmp_path, "devserver-make-kill-test")
    root = Path(__file__).resolve().parent.parent
    make = await asyncio.create_subprocess_exec(
        "make", "-s", "-C", str(root), "-o", ".venv/.installed", "run", f"BIN={Path(sys.executable).parent}",
        env=env, stderr=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert make.stderr is not None
    seen = b""
    try:
        while b"worker started" not in seen:
            line = await asyncio.wait_for(make.stderr.readline(), 90)
            assert line, seen.decode()
            seen += line
    finally:
        make.kill()
    seen += await asyncio.wait_for(make.stderr.read(), 30)  # python (which holds the pipe too) has ended
    assert b"dev server stopped" in seen and b"Traceback" not in seen, seen.decode()
    await _nobody_listens(port)


@pytest.mark.parametrize("which", ["YUQING_DEV_PORT", "YUQING_UI_PORT", "YUQING_HTTP_PORT"])
async def test_a_taken_port_is_refused_before_anything_starts(tmp_path: Path, which: str) -> None:
    """A port in use (another make run, a stranger's server) used to give "address already in use" and then a
    worker attached to the stranger; now a clear error naming the port, and nothing starts."""
    env, _ = _env(tmp_path, "devserver-taken-test")
    with socket.socket() as stranger:
        stranger.bind(("127.0.0.1", 0))
        stranger.listen()
        taken = stranger.getsockname()[1]
        env[which] = str(taken)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "yuqing.devserver", env=env, stderr=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    text = err.decode()
    assert proc.returncode == 1 and f"端口 {taken} 已被占用" in text and f"port {taken} is already in use" in text, text
    assert "worker started" not in text and "dev server starting" not in text and "Traceback" not in text


async def _never_ready() -> Any:
    raise RuntimeError('Failed client connect: status: Unavailable, message: "Frontend is not healthy yet"')


async def test_a_server_still_starting_is_asked_again_not_taken_for_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """make run's worker and the fault campaign connect as soon as the server's port is open; on a loaded
    machine its frontend then answers "not healthy yet" for a moment, and the campaign gave up on that at
    once (exit 3, seen with two suites side by side). Other errors still fail at once."""
    from yuqing.errors import Unreachable

    calls: list[float] = []

    async def starting_then_ready(*_: Any, **__: Any) -> Any:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 3:
            raise RuntimeError('Failed client connect: Server connection error: status: Unavailable, message: "Frontend is not healthy yet"')
        return "client"

    monkeypatch.setattr(Client, "connect", starting_then_ready)
    assert await config.connect("127.0.0.1:7233") == "client" and len(calls) == 3

    async def refused(*_: Any, **__: Any) -> Any:
        calls.append(0.0)
        raise RuntimeError('Failed client connect: Server connection error: tonic::transport::Error(Transport, ConnectError("tcp connect error", Os { code: 111, message: "Connection refused" }))')

    monkeypatch.setattr(config, "CONNECT_TIMEOUT", 0.6)
    monkeypatch.setattr(Client, "connect", lambda *_, **__: _never_ready())
    started = asyncio.get_running_loop().time()
    with pytest.raises(Unreachable, match="尚未就绪 .* still starting"):
        await config.connect("127.0.0.1:7233")
    assert asyncio.get_running_loop().time() - started < 1.5  # within its timeout, then said as it is

    calls.clear()
    monkeypatch.setattr(Client, "connect", refused)
    with pytest.raises(Unreachable, match="tcp connect error|Connection refused"):
        await config.connect("127.0.0.1:7233")
    assert len(calls) == 1
