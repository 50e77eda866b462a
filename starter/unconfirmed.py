"""Reports sent but not confirmed (a timeout): remembered, so the same command sends the same report.

When ``yuqing respond …`` times out, the report may still be filed once a worker picks it up. The
command remembers its report id and filing time under a fingerprint of what was asked; running the
same command again reuses both, so the workflow recognises it (idempotent filing) and a clerk who
re-sends after a timeout never files twice. A confirmed or refused report is forgotten; entries
expire after a day. The file lives in ``$YUQING_VAR`` (``var/`` beside the code by default).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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
        return data if isinstance(data, dict) else {}

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
        if not entry:
            return None
        try:
            filed_at = datetime.fromisoformat(entry["filed_at"])
            report_id = entry["report_id"]
        except (KeyError, ValueError):
            return None
        if (now or datetime.now(timezone.utc)) - filed_at > EXPIRY:
            return None
        return report_id, filed_at

    def remember(self, key: str, report_id: str, filed_at: datetime) -> None:
        now = datetime.now(timezone.utc)
        data = {
            k: v for k, v in self._load().items() if now - datetime.fromisoformat(v.get("filed_at", now.isoformat())) <= EXPIRY
        }
        data[key] = {"report_id": report_id, "filed_at": filed_at.isoformat()}
        self._save(data)

    def forget(self, key: str) -> None:
        data = self._load()
        if data.pop(key, None) is not None:
            self._save(data)
