"""The embedded default channel: a SQLite outbox that records each notification exactly once.

The primary key is the notification's idempotency key (incident, obligation, level, round; P4.b):
a retried activity finds its row and only counts the attempt, so a unit is never told twice.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from activities.messages import Letter

SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    key           TEXT PRIMARY KEY,
    incident_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    obligation_id TEXT,
    level         INTEGER NOT NULL,
    round         INTEGER NOT NULL,
    target        TEXT NOT NULL,
    target_name   TEXT NOT NULL,
    action        TEXT,
    at            TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    payload       TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 1,
    role          TEXT,
    section       TEXT
);
CREATE INDEX IF NOT EXISTS notifications_incident ON notifications (incident_id, at);
"""
ADDED_COLUMNS = {"role": "TEXT", "section": "TEXT"}
"""Columns added after the first release (A1.3: whom in the unit a notification addresses): an outbox
made by an earlier release gains them on first use, its rows kept."""


LOCK_TIMEOUT = 5.0
"""Seconds to wait for the file's write lock (another process writing): well under the activity's
30 s attempt, so an attempt that gives up never writes afterwards (the record never contradicts
the outbox); the next attempt tries again."""


class OutboxBusy(Exception):
    """The outbox stayed locked for the whole lock timeout: this attempt wrote nothing."""


class SqliteOutbox:
    name = "outbox"

    def __init__(self, path: Path, lock_timeout: float = LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.attempt_seconds = lock_timeout + 1.0
        """The longest one delivery may take (``activities.notify``)."""
        self._ready = False
        self._local = threading.local()

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:  # once per process: the file, WAL mode and the schema
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(self.path, timeout=self.lock_timeout) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(SCHEMA)
                have = {row[1] for row in conn.execute("PRAGMA table_info(notifications)")}
                for column, kind in ADDED_COLUMNS.items():
                    if column not in have:
                        conn.execute(f"ALTER TABLE notifications ADD COLUMN {column} {kind}")
            self._ready = True
        return sqlite3.connect(self.path, timeout=self.lock_timeout)

    def _kept(self) -> sqlite3.Connection:
        """This thread's connection, opened once and kept (deliveries run on a few pool threads)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def record(self, letter: Letter) -> bool:
        """Store ``letter`` once; return whether this call was the first (``False`` on a retry).

        Raises ``OutboxBusy`` when the write lock is not had within ``lock_timeout``: then nothing
        was written, and nothing will be by this call."""
        n = letter.notification
        row = (
            n.key, n.incident_id, n.kind, n.about, n.level, n.round, n.target.code,
            n.target.name, n.action.value if n.action else None, n.at.isoformat(), letter.subject,
            letter.body, n.model_dump_json(), datetime.now(timezone.utc).isoformat(), n.role.value,
            n.target.section,
        )  # fmt: skip
        try:
            with self._kept() as conn:  # one transaction: committed, or rolled back on an error
                inserted = conn.execute(
                    """INSERT INTO notifications (key, incident_id, kind, obligation_id, level, round, target,
                           target_name, action, at, subject, body, payload, recorded_at, role, section)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (key) DO NOTHING""",
                    row,
                ).rowcount
                if not inserted:
                    conn.execute("UPDATE notifications SET attempts = attempts + 1 WHERE key = ?", (n.key,))
        except sqlite3.OperationalError as err:
            if "locked" in str(err) or "busy" in str(err):
                raise OutboxBusy(
                    f"通知库被占用 the outbox {self.path} stayed locked for {self.lock_timeout:g}s; nothing written"
                ) from None
            raise
        return bool(inserted)

    async def deliver(self, letter: Letter) -> None:
        await asyncio.to_thread(self.record, letter)

    def rows(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        """What was recorded, oldest first (for ``yuqing notices`` and the tests)."""
        if not self.path.exists():
            return []
        self._ready = False  # another process may have made the file: make sure the table is there
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            query = "SELECT * FROM notifications"
            args: tuple[str, ...] = ()
            if incident_id is not None:
                query += " WHERE incident_id = ?"
                args = (incident_id,)
            return [dict(r) for r in conn.execute(query + " ORDER BY at, key", args)]
