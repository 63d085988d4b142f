"""The unit accounting: per SKU, every unit received and where it is now (read only).

Each term is read from where it lives, not from one ledger, so a change written in one
place and not the other shows as a SKU that does not balance: receipts, initial stock
and count corrections from `stock_moves`; units in bins from `stock`; shipped and in
totes from the reservations of shipments; waiting for put-away from `putaway_tasks`;
returned and scrapped at the dock from `rma_units`. The rules and the equation are the
domain's (`inventory/domain/accounting.py`).

In transit is a hook: `in_transit` maps SKU to units between warehouses; by default
`in_transit_units(store)` says it. No transfers are kept yet, so today it is zero for
every SKU; the transfers' table feeds it once they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.inventory.domain.accounting import Account, sentence, unbalanced
from server.store import Store


def in_transit_units(store: Store) -> dict[str, int]:
    """Units per SKU sent between warehouses and not yet received: none are kept yet."""
    return {}


_TERMS = {
    "receipts": """SELECT sku, SUM(qty) AS n FROM stock_moves
                   WHERE kind = 'receipt' AND COALESCE(ref, '') <> 'catalogue' GROUP BY sku""",
    "initial": """SELECT sku, SUM(qty) AS n FROM stock_moves
                  WHERE kind = 'receipt' AND ref = 'catalogue' GROUP BY sku""",
    "found": """SELECT sku, SUM(qty) AS n FROM stock_moves
                WHERE kind = 'correction' AND qty > 0 GROUP BY sku""",
    "lost": """SELECT sku, -SUM(qty) AS n FROM stock_moves
               WHERE kind = 'correction' AND qty < 0 GROUP BY sku""",
    "in_bins": "SELECT sku, SUM(on_hand) AS n FROM stock GROUP BY sku",
    "shipped": """SELECT r.sku, SUM(r.picked) AS n FROM reservations r
                  JOIN shipments s ON s.id = r.shipment_id
                  WHERE s.status = 'shipped' GROUP BY r.sku""",
    "in_totes": """SELECT r.sku, SUM(r.picked) AS n FROM reservations r
                   JOIN shipments s ON s.id = r.shipment_id
                   WHERE s.status IN ('allocated', 'packed') GROUP BY r.sku""",
    "awaiting_putaway": """SELECT sku, SUM(qty) AS n FROM putaway_tasks
                           WHERE status = 'open' GROUP BY sku""",
    "returned": "SELECT sku, COUNT(*) AS n FROM rma_units GROUP BY sku",
    "returned_scrap": "SELECT sku, COUNT(*) AS n FROM rma_units WHERE grade = 'scrap' GROUP BY sku",
}


def accounts(
    store: Store, sku: str | None = None, in_transit: Mapping[str, int] | None = None
) -> list[Account]:
    """Every SKU's account (or one SKU's), by SKU; `in_transit` defaults to
    `in_transit_units(store)`."""
    transit = in_transit_units(store) if in_transit is None else in_transit
    terms: dict[str, dict[str, Any]] = {}
    with store.read():  # every term read in one snapshot
        for term, sql in _TERMS.items():
            for row in store.all(sql):
                terms.setdefault(row["sku"], {})[term] = int(row["n"] or 0)
    for s, n in transit.items():
        if n:
            terms.setdefault(s, {})["in_transit"] = n
    skus = sorted(terms) if sku is None else [sku]
    return [Account(s, **terms.get(s, {})) for s in skus]


def report(
    store: Store, sku: str | None = None, in_transit: Mapping[str, int] | None = None
) -> dict[str, Any]:
    """The accounts as REST, the CLI and the demo say them: each SKU, and the verdict."""
    found = accounts(store, sku, in_transit)
    wrong = unbalanced(found)
    return {
        "skus": [a.out() for a in found],
        "holds": not wrong,
        "unbalanced": wrong,
        "summary": sentence(found),
    }
