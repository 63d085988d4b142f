"""The audit log: every supervisor action on the board, and every revoke or rotation of a device
or API key (CLI or REST), with who, when, what and on what."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from server.core.clock import now
from server.store import Store

AUDIT_SHOWN = 200  # newest rows the board shows; the CSV export has them all


def record(store: Store, actor: str, action: str, target: str, detail: dict[str, Any]) -> int:
    """Write one audit row (inside a write, the same one as the action it records)."""
    return store.execute(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (now(), actor, action, target, json.dumps(detail, sort_keys=True)),
    ).lastrowid


def recent(store: Store, limit: int = AUDIT_SHOWN) -> list[dict[str, Any]]:
    """The newest rows first, detail decoded."""
    rows = store.all(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def to_csv(store: Store) -> str:
    """Every row, oldest first, as CSV (id, at, actor, action, target, detail as JSON)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["id", "at", "actor", "action", "target", "detail"])
    for r in store.all("SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id"):
        w.writerow([r["id"], r["at"], r["actor"], r["action"], r["target"], r["detail"]])
    return out.getvalue()
