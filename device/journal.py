"""The device's scan journal: every scan is on disk before it is sent, until acknowledged.

Each entry also keeps what the worker was told if the device judged it alone
(offline), the pick list it was made for, and whether it is a scan or an
action (short pick, help, log out): both share one sequence so the server
gets them in the order the worker did them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from shared.ids import new_id

# Columns added after the first release: a journal from an older device gains them on open.
_ADDED_COLUMNS = {
    "kind": "TEXT NOT NULL DEFAULT 'scan'",
    "list_id": "INTEGER",
    "local_ok": "INTEGER",
    "local_code": "TEXT",
    "step_id": "INTEGER",
    "weight_g": "INTEGER",
    "move_id": "INTEGER",
}


@dataclass(frozen=True)
class Entry:
    seq: int
    msg_id: str
    barcode: str  # for an action: its name (short, help, logout)
    at: float
    kind: str = "scan"
    list_id: int | None = None
    local_code: str | None = None  # None: not judged on the device
    local_ok: bool | None = None  # None with a code: queued without a verdict
    step_id: int | None = None
    weight_g: int | None = None  # a label scan on a bench with a scale: the package's weight
    move_id: int | None = None  # judged offline on a move to a pick face: that move

    @property
    def judged(self) -> bool:
        """The worker already got the device's own answer for it."""
        return self.local_code is not None


class Journal:
    """An append-only list of scans with their acknowledgement; survives a crash."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        # A scan the worker heard beep must survive power loss.
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            """CREATE TABLE IF NOT EXISTS scans (
                 seq INTEGER PRIMARY KEY, msg_id TEXT NOT NULL UNIQUE, barcode TEXT NOT NULL,
                 at REAL NOT NULL, acked_at REAL, reply TEXT)"""
        )
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(scans)")}
        for name, decl in _ADDED_COLUMNS.items():
            if name not in have:
                self._conn.execute(f"ALTER TABLE scans ADD COLUMN {name} {decl}")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        # Print jobs: kept from the moment the server's event arrives until its result is acknowledged.
        self._conn.execute(
            """CREATE TABLE IF NOT EXISTS prints (
                 job_id INTEGER PRIMARY KEY, order_id TEXT NOT NULL, zpl TEXT NOT NULL,
                 ok INTEGER, error TEXT, reported INTEGER NOT NULL DEFAULT 0)"""
        )
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    def append(
        self,
        barcode: str,
        at: float | None = None,
        *,
        kind: str = "scan",
        list_id: int | None = None,
        step_id: int | None = None,
        weight_g: int | None = None,
    ) -> Entry:
        """Write a scan (or action) to disk; returns it with its sequence number and message id."""
        at = time.time() if at is None else at
        msg_id = new_id("s" if kind == "scan" else "a")
        with self._changed:
            cur = self._conn.execute(
                "INSERT INTO scans (msg_id, barcode, at, kind, list_id, step_id, weight_g) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (msg_id, barcode, at, kind, list_id, step_id, weight_g),
            )
            self._changed.notify_all()
            return Entry(
                cur.lastrowid, msg_id, barcode, at, kind, list_id,
                step_id=step_id, weight_g=weight_g,
            )  # fmt: skip

    def judged(
        self,
        msg_id: str,
        ok: bool | None,
        code: str,
        list_id: int | None,
        move_id: int | None = None,
    ) -> None:
        """Keep what the device told the worker about this scan, and the list (or the move to
        a pick face) it judged it on."""
        with self._lock:
            self._conn.execute(
                "UPDATE scans SET local_ok = ?, local_code = ?, list_id = ?, move_id = ? "
                "WHERE msg_id = ?",
                (None if ok is None else int(ok), code, list_id, move_id, msg_id),
            )

    def pending(self) -> list[Entry]:
        """Scans not yet acknowledged, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT seq, msg_id, barcode, at, kind, list_id, local_code, local_ok, step_id, "
                "weight_g, move_id FROM scans WHERE acked_at IS NULL ORDER BY seq"
            ).fetchall()
        return [
            Entry(*r[:7], None if r[7] is None else bool(r[7]), r[8], r[9], r[10]) for r in rows
        ]

    def ack(self, msg_id: str, reply: dict) -> None:
        """The server answered this scan: keep the answer, stop resending it."""
        with self._lock:
            self._conn.execute(
                "UPDATE scans SET acked_at = ?, reply = ? WHERE msg_id = ?",
                (time.time(), json.dumps(reply), msg_id),
            )

    def wait_for_pending(self, timeout: float) -> bool:
        """Block until a scan is pending or timeout passes; True if one is."""
        with self._changed:
            return bool(
                self._changed.wait_for(
                    lambda: self._conn.execute(
                        "SELECT 1 FROM scans WHERE acked_at IS NULL LIMIT 1"
                    ).fetchone(),
                    timeout,
                )
            )

    def add_print(self, job_id: int, order_id: str, zpl: str) -> bool:
        """Keep a print job; False if it was already known (a replayed event)."""
        with self._lock:
            cur = self._conn.execute(
                "INSERT OR IGNORE INTO prints (job_id, order_id, zpl) VALUES (?, ?, ?)",
                (job_id, order_id, zpl),
            )
            return cur.rowcount == 1

    def prints_to_do(self) -> list[tuple[int, str, str]]:
        """Jobs not yet printed: (job_id, order_id, zpl)."""
        with self._lock:
            return self._conn.execute(
                "SELECT job_id, order_id, zpl FROM prints WHERE ok IS NULL OR (ok = 0 AND reported = 1) ORDER BY job_id"
            ).fetchall()

    def print_done(self, job_id: int, ok: bool, error: str | None) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE prints SET ok = ?, error = ?, reported = 0 WHERE job_id = ?",
                (int(ok), error, job_id),
            )

    def results_to_report(self) -> list[tuple[int, bool, str | None]]:
        """Print results the server has not acknowledged yet."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT job_id, ok, error FROM prints WHERE ok IS NOT NULL AND reported = 0 ORDER BY job_id"
            ).fetchall()
        return [(j, bool(ok), err) for j, ok, err in rows]

    def reported(self, job_id: int) -> None:
        with self._lock:
            self._conn.execute("UPDATE prints SET reported = 1 WHERE job_id = ?", (job_id,))

    def printed_orders(self) -> set[str]:
        with self._lock:
            return {r[0] for r in self._conn.execute("SELECT order_id FROM prints WHERE ok = 1")}

    def labels_waiting(self) -> int:
        """Print jobs not printed yet."""
        with self._lock:
            return self._conn.execute(
                "SELECT COUNT(*) FROM prints WHERE ok IS NULL OR ok = 0"
            ).fetchone()[0]

    def get_meta(self, key: str, default: str = "") -> str:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def last_seq(self) -> int:
        """The highest seq written so far (0 for an empty journal)."""
        with self._lock:
            return self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM scans").fetchone()[0]

    def counts(self) -> dict[str, int]:
        with self._lock:
            total, waiting = self._conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(acked_at IS NULL), 0) FROM scans"
            ).fetchone()
        return {"scans": total, "waiting": waiting}

    def close(self) -> None:
        with self._lock:
            self._conn.close()
