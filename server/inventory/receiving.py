"""Receiving by scan: goods arrive, the worker books them into bins with a handheld.

Any handheld can receive: the `CMD-RECEIVE` card starts it, the worker scans the
bin the goods go into, then each item (a GS1 barcode's lot, expiry and count
are read from it; another bin scan switches bins), and `CMD-DONE` books the
receipt. Booking re-allocates the orders waiting for those SKUs, exactly as a
receipt through `POST /api/stock/receipts` does.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from server.core.schemas import LOT_PATTERN, MAX_RECEIPT_QTY, ReceiptIn
from server.inventory import stock
from server.store import Store
from shared import messages as say
from shared.barcodes import ScanData
from shared.picking import Verdict, gtin_key
from shared.protocol import DeviceState, Expect, Progress

_LOT = re.compile(LOT_PATTERN)


class ReceiptRefused(ValueError):
    """The stock could not take the receipt (a bin would overflow): nothing was booked."""


def active(device: dict) -> dict[str, Any] | None:
    """The device's receiving so far, or None when it is not receiving."""
    return json.loads(device["receiving"]) if device.get("receiving") else None


def _save(store: Store, device_id: int, r: dict[str, Any] | None) -> None:
    store.execute(
        "UPDATE devices SET receiving = ? WHERE id = ?",
        (json.dumps(r) if r is not None else None, device_id),
    )


def start(store: Store, device: dict) -> None:
    """Put a device in receive mode (inside a write); a second start keeps what was scanned."""
    if active(device) is None:
        _save(store, device["id"], {"location": None, "lines": []})


def screen(r: dict[str, Any]) -> DeviceState:
    """What a receiving handheld shows."""
    units = sum(line["qty"] for line in r["lines"])
    if r["location"] is None:
        return DeviceState(
            screen="receive_location",
            instruction=say.receive_scan_bin(),
            expect=Expect(kind="location"),
        )
    return DeviceState(
        screen="receive_item",
        instruction=say.receive_scan_items(units, r["location"]),
        expect=Expect(kind="item"),
        progress=Progress(done=units, total=units),
    )


def scan(store: Store, device: dict, text: str, data: ScanData) -> Verdict:
    """A scan while receiving: a bin of the warehouse, or an item into the current bin (inside a write)."""
    r = active(device)
    loc = store.one(
        "SELECT code FROM locations WHERE warehouse = ? AND (barcode = ? OR code = ?)",
        (device["warehouse"], text, text),
    )
    if loc is not None:
        r["location"] = loc["code"]
        _save(store, device["id"], r)
        return Verdict(True, "receive_bin_ok", say.receive_bin_ok(loc["code"]))
    if r["location"] is None:
        return Verdict(False, "receive_bin_first", say.receive_bin_first())
    keys = {text, gtin_key(text), *([gtin_key(data.gtin)] if data.gtin else [])}
    marks = ",".join("?" * len(keys))
    product = store.one(
        f"""SELECT p.sku, p.name FROM products p LEFT JOIN product_barcodes b ON b.sku = p.sku
            WHERE p.sku IN ({marks}) OR b.barcode IN ({marks})
               OR (length(b.barcode) IN (8, 12, 13, 14) AND substr('00000000000000' || b.barcode, length(b.barcode) + 1) IN ({marks}))
            LIMIT 1""",
        (*keys, *keys, *keys),
    )
    if product is None:
        return Verdict(False, "receive_unknown", say.receive_unknown(text))
    if data.lot and not _LOT.fullmatch(data.lot):
        # GS1 lots may hold characters (+, %, ...) stock lots do not: booking would fail.
        return Verdict(False, "receive_bad_lot", say.receive_bad_lot(data.lot))
    line = {
        "location": r["location"],
        "sku": product["sku"],
        "lot": data.lot or "",
        "expires": data.expiry.isoformat() if data.expiry else None,
        "qty": data.quantity or 1,
    }
    # CMD-DONE books one receipt line per bin, item, lot and expiry: keep each within bounds.
    same = [x["qty"] for x in r["lines"] if _key(x) == _key(line)]
    if sum(same) + line["qty"] > MAX_RECEIPT_QTY:
        return Verdict(False, "receive_too_many", say.receive_too_many(MAX_RECEIPT_QTY))
    r["lines"].append(line)
    _save(store, device["id"], r)
    units = sum(x["qty"] for x in r["lines"])
    return Verdict(True, "received_item", say.received(units, product["name"]))


def _key(line: dict[str, Any]) -> tuple:
    return (line["location"], line["sku"], line["lot"], line["expires"])


def done(store: Store, device: dict, receipt_id: str) -> tuple[str, set[str]]:
    """Book what was scanned as one receipt (inside a write); returns the message and the SKUs.

    Raises ReceiptRefused, booking nothing and keeping the scans, if the stock cannot take it.
    """
    r = active(device) or {"lines": []}
    _save(store, device["id"], None)
    merged: dict[tuple, int] = {}
    for line in r["lines"]:
        merged[_key(line)] = merged.get(_key(line), 0) + line["qty"]
    if not merged:
        return say.receive_nothing(), set()
    lines = [
        {
            "location": loc,
            "sku": sku,
            "lot": lot,
            "qty": qty,
            "expires": exp and date.fromisoformat(exp),
        }
        for (loc, sku, lot, exp), qty in merged.items()
    ]
    try:
        stock.receive(
            store, ReceiptIn(receipt_id=receipt_id, warehouse=device["warehouse"], lines=lines)
        )
    except stock.StockError as exc:  # refused before writing anything
        _save(store, device["id"], r)  # keep what was scanned
        problems = "; ".join(message for _, message in exc.problems)
        raise ReceiptRefused(say.receipt_refused(problems)) from None
    return say.receipt_booked(sum(merged.values())), {sku for _, sku, _, _ in merged}
