"""The board's "Cycle counts" panel: how accurate the counts are, and what waits.

Accuracy is that of first counts (`inventory.counts.accuracy`): a bin's count is accurate
when every SKU and lot in it was found as the system held it; a SKU's line likewise. The
panel shows the share overall, the least accurate bins and SKUs (those that ever missed),
the open tasks by stage, and the recounts waiting for a supervisor with what differs, to
approve (the bin is set to the recount) or reject (it keeps what the system held).
"""

from __future__ import annotations

from typing import Any

from server.inventory import counts
from server.inventory.domain.counts import accuracy as share
from server.store import Store

WORST = 5  # bins and SKUs listed as the least accurate
STAGES = ("count", "recount", "approval")


def _worst(rows: list[dict[str, Any]], total: str, name: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows that missed at least once, least accurate first (then the most counted)."""
    missed = [r for r in rows if r["accurate"] < r[total]]
    missed.sort(key=lambda r: (r["accuracy"], -r[total], *(r[k] for k in name)))
    return missed[:WORST]


def _waiting(store: Store, warehouse: str | None) -> list[dict[str, Any]]:
    tasks = counts.tasks(store, status="open", stage="approval", warehouse=warehouse)
    if not tasks:
        return []
    marks = ",".join("?" * len(tasks))
    lines = store.all(
        "SELECT task_id, sku, lot, expected, counted FROM count_lines "
        f"WHERE pass = 2 AND expected != counted AND task_id IN ({marks}) "
        "ORDER BY task_id, sku, lot",
        tuple(t["id"] for t in tasks),
    )
    by_task: dict[int, list[dict[str, Any]]] = {}
    for x in lines:
        by_task.setdefault(x.pop("task_id"), []).append(x)
    return [
        {
            "id": t["id"],
            "warehouse": t["warehouse"],
            "location": t["location"],
            "first_worker": t["first_worker"],
            "second_worker": t["second_worker"],
            "created_at": t["created_at"],
            "lines": by_task.get(t["id"], []),
        }
        for t in sorted(tasks, key=lambda t: t["id"])
    ]


def panel(store: Store, warehouse: str | None = None) -> dict[str, Any]:
    """Accuracy overall, the least accurate bins and SKUs, open tasks by stage, approvals waiting."""
    acc = counts.accuracy(store, warehouse)
    done = sum(b["counts"] for b in acc["bins"])
    hits = sum(b["accurate"] for b in acc["bins"])
    where, params = ("AND l.warehouse = ?", (warehouse,)) if warehouse else ("", ())
    rows = store.all(
        "SELECT c.stage, COUNT(*) AS n FROM count_tasks c JOIN locations l ON l.id = c.location_id "
        f"WHERE c.status = 'open' {where} GROUP BY c.stage",
        params,
    )
    open_by_stage = dict.fromkeys(STAGES, 0) | {r["stage"]: r["n"] for r in rows}
    return {
        "counts": done,
        "accurate": hits,
        "accuracy": share(hits, done),
        "bins_counted": len(acc["bins"]),
        "skus_counted": len(acc["skus"]),
        "worst_bins": _worst(acc["bins"], "counts", ("warehouse", "location")),
        "worst_skus": _worst(acc["skus"], "lines", ("sku",)),
        "open": open_by_stage,
        "waiting": _waiting(store, warehouse),
    }
