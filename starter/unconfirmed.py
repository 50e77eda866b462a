"""Reports sent but not confirmed (a timeout): remembered, so the same command sends the same report.

When ``yuqing respond …`` times out, the report may still be filed once a worker picks it up. The
command remembers its report id and filing time under a fingerprint of what was asked; running the
same command again reuses both, so the workflow recognises it (idempotent filing) and a clerk who
re-sends after a timeout never files twice. A confirmed or refused report is forgotten; entries
expire after a day. The file lives in ``$YUQING_VAR`` (``var/`` beside the code by default).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from yuqing import config

EXPIRY = timedelta(days=1)


def fingerprint(*parts: Any) -> str:
    """A digest of what a command asked for (server, incident, acting unit, the report's fields)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Unconfirmed:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config.var_dir() / "unconfirmed-reports.json"

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and _when(v) is not None}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One read-modify-write at a time (two clerks' commands may time out together)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock = open(self.path.with_suffix(".lock"), "a")  # noqa: SIM115 (held for the block)
        except OSError:
            yield
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".unconfirmed-")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, self.path)
        except OSError:
            pass  # a read-only place: the printed report id still lets the clerk retry with --report-id

    def recall(self, key: str, now: datetime | None = None) -> tuple[str, datetime] | None:
        """The report id and filing time of an unconfirmed attempt of the same command, if recent."""
        entry = self._load().get(key)
        filed_at = _when(entry) if entry else None
        report_id = entry.get("report_id") if entry else None
        if filed_at is None or not isinstance(report_id, str):
            return None
        if (now or datetime.now(timezone.utc)) - filed_at > EXPIRY:
            return None
        return report_id, filed_at

    def remember(self, key: str, report_id: str, filed_at: datetime) -> None:
        now = datetime.now(timezone.utc)
        with self._locked():
            data = {k: v for k, v in self._load().items() if now - (_when(v) or now) <= EXPIRY}
            data[key] = {"report_id": report_id, "filed_at": filed_at.isoformat()}
            self._save(data)

    def forget(self, key: str) -> None:
        with self._locked():
            data = self._load()
            if data.pop(key, None) is not None:
                self._save(data)


def _when(entry: dict[str, str]) -> datetime | None:
    """The filing time of an entry, or ``None`` for one that is not readable (a hand-edited file)."""
    try:
        value = datetime.fromisoformat(entry["filed_at"])
    except (KeyError, TypeError, ValueError):
        return None
    return value if value.tzinfo is not None else None
