"""The stock invariants, as queries any store answers: what a copy or a restore must keep.

The same rules the stateful allocation test holds after every step
(tests/server/inventory/test_allocation_stateful.py) and the schema enforces in part:
no bin promises more than it holds, every reservation is backed by its bin's stock,
cancelled and shipped shipments hold nothing, no order line is covered twice.
"""

from __future__ import annotations

from typing import Any

# name -> a query returning one row per breach (no rows: the invariant holds)
INVARIANTS: dict[str, str] = {
    "reserved within on hand": (
        "SELECT location_id, sku, lot, on_hand, reserved FROM stock "
        "WHERE reserved < 0 OR reserved > on_hand"
    ),
    "reserved equals the reservations held": """
SELECT s.location_id, s.sku, s.lot, s.reserved, h.held FROM stock s
JOIN (SELECT s2.location_id, s2.sku, s2.lot,
             (SELECT COALESCE(SUM(r.qty - r.picked - r.released), 0) FROM reservations r
              WHERE r.location_id = s2.location_id AND r.sku = s2.sku AND r.lot = s2.lot) AS held
      FROM stock s2) h ON h.location_id = s.location_id AND h.sku = s.sku AND h.lot = s.lot
WHERE s.reserved <> h.held""",
    "no reservation without its stock row": """
SELECT r.id FROM reservations r LEFT JOIN stock s ON s.location_id = r.location_id
  AND s.sku = r.sku AND s.lot = r.lot
WHERE r.qty > r.picked + r.released AND s.sku IS NULL""",
    "cancelled and shipped hold nothing": """
SELECT r.id FROM reservations r JOIN shipments sh ON sh.id = r.shipment_id
WHERE sh.status IN ('cancelled', 'shipped') AND r.qty - r.picked - r.released <> 0""",
    "no order line covered twice": """
SELECT ol.order_id, ol.line_no FROM order_lines ol
WHERE (SELECT COALESCE(SUM(r.qty - r.released), 0) FROM reservations r
       WHERE r.order_id = ol.order_id AND r.line_no = ol.line_no) > ol.qty""",
}


def stock_problems(store: Any, limit: int = 5) -> list[str]:
    """Every invariant broken in the store, each with up to `limit` of its rows; [] when sound."""
    problems = []
    with store.read():
        for name, query in INVARIANTS.items():
            rows = store.all(f"{query} LIMIT {int(limit)}")
            if rows:
                problems.append(f"{name}: {rows}")
    return problems
