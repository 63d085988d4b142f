"""The board's counters: today's work apart from the totals, lateness at a glance, and the
countdown to each carrier's cut-off.

- due: orders not yet packed, by their promise: late now, due within the hour, due later
  today ("today" on the server's local clock);
- today: orders packed, handed to a carrier (shipped) and delivered since local midnight;
- open now: orders by status while the warehouse still has them (received to packed) and
  those with the carriers;
- needs a person: failed prints, bins to count, packages held for their weight or missing
  at a hand-over;
- all time: delivered, returned and cancelled orders ever.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from server.board.domain.due import next_cutoff, parse_cutoff, windows
from server.board.throughput import first_id_since
from server.capture.orders import counts_by_status
from server.shipping import manifests
from server.store import Store

NOT_PACKED = ("received", "backordered", "allocated", "picking", "picked")

# Orders delivered now that first became delivered today: from today's entries only (a
# partial index), so the count does not grow with every order ever delivered.
DELIVERED_TODAY = """
SELECT COUNT(DISTINCT e.order_id) AS n FROM order_events e JOIN orders o ON o.id = e.order_id
WHERE e.status = 'delivered' AND e.at >= :today AND o.status = 'delivered'
  AND NOT EXISTS (SELECT 1 FROM order_events x WHERE x.order_id = e.order_id
                  AND x.status = 'delivered' AND x.at < :today)
"""
_NOT_PACKED_IN = ",".join(f"'{s}'" for s in NOT_PACKED)
# Three counts of ranges of the (status, promised_by) index (migration 0042): each walks only
# the orders in its window, and never reads a table row. One SUM(CASE ...) over every order
# not packed read each row instead: 19 ms at 65,000 open orders, on the serving loop.
DUE = f"""
SELECT
  (SELECT COUNT(*) FROM orders WHERE status IN ({_NOT_PACKED_IN})
     AND promised_by < :now) AS late_now,
  (SELECT COUNT(*) FROM orders WHERE status IN ({_NOT_PACKED_IN})
     AND promised_by >= :now AND promised_by < :hour) AS due_within_hour,
  (SELECT COUNT(*) FROM orders WHERE status IN ({_NOT_PACKED_IN})
     AND promised_by >= :hour AND promised_by < :end) AS due_later_today
"""


class Carrier(Protocol):
    title: str
    cutoff: str


def local_now() -> datetime:
    """Now on the server's clock, in its time zone."""
    return datetime.now().astimezone()


def counts(store: Store, at: datetime | None = None) -> dict[str, int]:
    """Every counter the board shows, by key (inside a read)."""
    w = windows(at or local_now())
    due = store.one(DUE, {"now": w.now, "hour": w.within_hour, "end": w.end_of_day})
    return {
        **dict.fromkeys(("in_transit", "out_for_delivery", "exception"), 0),
        **counts_by_status(store),
        "late_now": due["late_now"] or 0,
        "due_within_hour": due["due_within_hour"] or 0,
        "due_later_today": due["due_later_today"] or 0,
        **_today(store, w.start_of_day),
        "failed_prints": _n(store, "SELECT COUNT(*) AS n FROM print_jobs WHERE status = 'failed'"),
        "bins_to_count": _n(store, "SELECT COUNT(*) AS n FROM count_tasks WHERE status = 'open'"),
        "missing_packages": manifests.missing_count(store),
        "packages_held": _n(
            store, "SELECT COUNT(*) AS n FROM package_holds WHERE released_at IS NULL"
        ),
    }


def _n(store: Store, sql: str) -> int:
    return store.one(sql)["n"]


def _today(store: Store, start: str) -> dict[str, int]:
    """Orders packed, shipped and delivered since `start` (local midnight, as UTC text)."""
    out = {"packed_today": 0, "shipped_today": 0}
    first = first_id_since(store, "order_events", "at", start)
    if first is not None:
        for r in store.all(
            """SELECT CASE WHEN event = 'packed' THEN 'packed' ELSE 'shipped' END AS kind,
                      COUNT(DISTINCT order_id) AS n FROM order_events
               WHERE id >= ? AND (event = 'packed' OR status = 'shipped')
               GROUP BY CASE WHEN event = 'packed' THEN 'packed' ELSE 'shipped' END""",
            (first,),
        ):
            out[f"{r['kind']}_today"] = r["n"]
    out["delivered_today"] = store.one(DELIVERED_TODAY, {"today": start})["n"]
    return out


def cutoffs(
    store: Store, carriers: Mapping[str, Carrier], at: datetime | None = None
) -> list[dict[str, Any]]:
    """Each carrier's next cut-off (UTC ISO and its HH:MM), with the packages packed and
    waiting for its truck (inside a read)."""
    now = at or local_now()
    waiting = {
        r["carrier"]: r["n"]
        for r in store.all(
            """SELECT k.carrier, COUNT(*) AS n FROM packages k JOIN orders o ON o.id = k.order_id
               WHERE o.status = 'packed' GROUP BY k.carrier"""
        )
    }
    return [
        {
            "carrier": name,
            "title": c.title,
            "cutoff": c.cutoff,
            "next_at": next_cutoff(now, parse_cutoff(c.cutoff)).isoformat(),
            "waiting": waiting.get(name, 0),
        }
        for name, c in sorted(carriers.items())
    ]
