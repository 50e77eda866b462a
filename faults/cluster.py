"""The campaign's own Temporal: a dev server on a SQLite file and worker processes, killed and restarted.

The server is the project's (``yuqing.config.binary("temporal")``, the flags and ``SERVER_LIMITS`` of
``yuqing.devserver``, WAL) on a free loopback port, headless; a restart reuses the same port and the same
file. Workers are ``python worker.py`` processes configured only by the environment, as deployed. Every
process is started in its own session, dies with the campaign (``PR_SET_PDEATHSIG``) and is stopped by it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from yuqing import config
from yuqing.devserver import SERVER_LIMITS, _die_with_parent

log = structlog.get_logger("faults.cluster")

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    starts: int = 0
    unplanned_exits: list[int] = field(default_factory=list)
    """Exit codes of exits the campaign did not cause (a worker that could not reach a restarting server)."""


class Cluster:
    """One dev server and ``workers`` worker processes under ``workdir``."""

    def __init__(self, workdir: Path, *, workers: int = 2, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.db = workdir / "temporal.db"
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.server_starts = 0
        self.workers = [Worker(i) for i in range(workers)]
        self.worker_env = {**os.environ, **(env or {}), "TEMPORAL_ADDRESS": self.address}
        for name in ("TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE"):
            self.worker_env.pop(name, None)
        self.worker_env.setdefault("YUQING_LOG_LEVEL", "WARNING")
        self.worker_env.setdefault("YUQING_LOG_FORMAT", "json")
        self.logs = workdir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ server

    def start_server(self, timeout: float = 60.0) -> None:
        command = [
            str(config.binary("temporal")), "server", "start-dev", "--headless",
            "--ip", "127.0.0.1", "--port", str(self.port),
            "--db-filename", str(self.db), "--sqlite-pragma", "journal_mode=wal",
            "--log-level", "error", *SERVER_LIMITS,
        ]  # fmt: skip
        self.server_starts += 1
        out = open(self.logs / "server.log", "ab")  # noqa: SIM115 (the child holds it)
        self.server = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent
        )
        out.close()
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.server.poll() is not None:
                raise RuntimeError(f"Temporal 开发服务器退出 the dev server exited with code {self.server.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Temporal 开发服务器未就绪 the dev server did not open {self.address}")
            time.sleep(0.1)

    def stop_server(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 30.0) -> None:
        server = self.server
        if server is None or server.poll() is not None:
            return
        server.send_signal(sig)
        try:
            server.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        while port_open(self.port):  # the listener goes with the process; wait until it has
            time.sleep(0.05)

    # ----------------------------------------------------------------- workers

    def start_worker(self, worker: Worker) -> None:
        out = open(self.logs / f"worker-{worker.index}.log", "ab")  # noqa: SIM115
        worker.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=self.worker_env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        out.close()
        worker.started = time.monotonic()
        worker.starts += 1

    def kill_worker(self, worker: Worker) -> None:
        """SIGKILL: no shutdown, no goodbye to the server; its tasks time out and move elsewhere."""
        process = worker.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
        worker.process = None

    def alive(self) -> list[Worker]:
        return [w for w in self.workers if w.process is not None and w.process.poll() is None]

    def revive(self) -> None:
        """Restart every worker that is not running; note those that exited on their own."""
        for worker in self.workers:
            if worker.process is not None and worker.process.poll() is not None:
                worker.unplanned_exits.append(worker.process.returncode)
                log.warning("worker exited", index=worker.index, code=worker.process.returncode)
                worker.process = None
            if worker.process is None:
                self.start_worker(worker)

    def stop(self) -> None:
        for worker in self.workers:
            process = worker.process
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            process = worker.process
            if process is not None:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.stop_server(signal.SIGTERM)
