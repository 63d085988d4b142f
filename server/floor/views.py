"""Read models: pick lists and packing benches as the domain sees them."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from server.floor.domain.floor import PickList, Step, is_tote
from server.floor.domain.packing import Bench, Package
from server.shipping import boxes
from server.store import Store
from shared.picking import Known
from shared.protocol import DeviceState

_STEPS = """SELECT ps.id, ps.seq, ps.order_id, ps.sku, ps.qty, ps.picked, ps.at_location, ps.verified, ps.put,
                  l.code AS location, l.barcode AS location_barcode, p.name AS product_name, r.lot,
                  {barcodes} AS barcodes, lost.tracking AS reship_of
           FROM pick_steps ps JOIN locations l ON l.id = ps.location_id
           JOIN products p ON p.sku = ps.sku JOIN reservations r ON r.id = ps.reservation_id
           LEFT JOIN shipments sh ON sh.id = r.shipment_id
           LEFT JOIN packages lost ON lost.id = sh.reship_of
           WHERE ps.pick_list_id = ? ORDER BY ps.seq"""
# An item's barcodes in one column, joined by US (0x1f), sorted: each database its own way.
_STEPS_SQL = {
    "sqlite": _STEPS.format(
        barcodes="(SELECT group_concat(barcode, char(31)) FROM "
        "(SELECT barcode FROM product_barcodes b WHERE b.sku = ps.sku ORDER BY barcode))"
    ),
    "postgresql": _STEPS.format(
        barcodes="(SELECT string_agg(barcode, chr(31) ORDER BY barcode) "
        "FROM product_barcodes b WHERE b.sku = ps.sku)"
    ),
}


def load(store: Store, list_id: int, head: dict | None = None) -> PickList | None:
    """A pick list with its steps, location and item barcodes (`head`: its row, if read already)."""
    head = head or store.one(
        "SELECT id, status, tote, cart_away FROM pick_lists WHERE id = ?", (list_id,)
    )
    if head is None:
        return None
    # One statement for the steps and their items' barcodes (joined by US, 0x1f).
    rows = store.all(_STEPS_SQL[store.dialect], (list_id,))
    steps = tuple(
        Step(
            step_id=r["id"],
            seq=r["seq"],
            order_id=r["order_id"],
            location=r["location"],
            location_barcode=r["location_barcode"],
            sku=r["sku"],
            product_name=r["product_name"],
            item_barcodes=tuple(r["barcodes"].split("\x1f") if r["barcodes"] else [r["sku"]]),
            qty=r["qty"],
            picked=r["picked"],
            at_location=bool(r["at_location"]),
            verified=r["verified"],
            put=r["put"],
            lot=r["lot"],
        )
        for r in rows
    )
    cart = store.all(
        "SELECT order_id, tote FROM pick_list_totes WHERE pick_list_id = ? ORDER BY position, order_id",
        (list_id,),
    )
    orders = tuple(c["order_id"] for c in cart) or tuple(sorted({s.order_id for s in steps}))
    totes = {c["order_id"]: c["tote"] for c in cart if c["tote"]}
    # A re-ship's steps name the lost parcel it replaces (its shipment's `reship_of`).
    lost: dict[str, set[str]] = {}
    for r in rows:
        if r["reship_of"]:
            lost.setdefault(r["order_id"], set()).add(r["reship_of"])
    reships = {o: ", ".join(sorted(t)) for o, t in sorted(lost.items())}
    return PickList(
        head["id"], head["status"], head["tote"], steps, orders, totes, bool(head["cart_away"]),
        reships,
    )  # fmt: skip


def assigned_list_id(store: Store, device_id: int) -> int | None:
    """The list a picker is working on."""
    row = assigned_head(store, device_id)
    return row["id"] if row else None


# A device's row with what a scan reads next, in one statement: the head of the list it
# picks (its version too, for the cached screen), the count task and the move to a pick
# face it holds, if any, and (for a message) what was stored under the message's id.
_DEVICE_AT_WORK = """SELECT d.*, h.id AS head_id, h.status AS head_status, h.tote AS head_tote,
       h.cart_away AS head_cart_away, h.version AS head_version,
       (SELECT c.id FROM count_tasks c WHERE c.device_id = d.id AND c.status = 'open'
        LIMIT 1) AS count_task_id,
       (SELECT r.id FROM replen_tasks r WHERE r.device_id = d.id AND r.status = 'open'
        LIMIT 1) AS replen_task_id{seen}
    FROM devices d LEFT JOIN pick_lists h ON h.id = (
        SELECT id FROM pick_lists WHERE device_id = d.id AND status = 'assigned'
        ORDER BY assigned_at LIMIT 1){join}
    WHERE d.id = ?"""
DEVICE_AT_WORK = _DEVICE_AT_WORK.format(seen="", join="")
DEVICE_AT_WORK_SEEN = _DEVICE_AT_WORK.format(
    seen=", m.event AS seen_event, m.reply AS seen_reply",
    join="\n    LEFT JOIN device_messages m ON m.device_id = d.id AND m.msg_id = ?",
)
_HEAD = ("id", "status", "tote", "cart_away", "version")


def device_at_work(store: Store, device_id: int, msg_id: str | None = None) -> dict | None:
    """The device's row, with `head_*` (its list's head, see `assigned_head`),
    `count_task_id` and `replen_task_id` read with it (inside the write that uses them);
    with `msg_id`, `seen_event` and `seen_reply` too: what the device's message of that id
    was and got (both None for a new message)."""
    if msg_id is None:
        return store.one(DEVICE_AT_WORK, (device_id,))
    return store.one(DEVICE_AT_WORK_SEEN, (msg_id, device_id))


def head_of(device: dict) -> dict | None:
    """The list head read with the device row by `device_at_work` (None: no list)."""
    if device["head_id"] is None:
        return None
    return {k: device[f"head_{k}"] for k in _HEAD}


def assigned_head(store: Store, device_id: int) -> dict | None:
    """The row of the list a picker is working on (what `load` takes as `head`)."""
    return store.one(
        "SELECT id, status, tote, cart_away, version FROM pick_lists WHERE device_id = ? "
        "AND status = 'assigned' ORDER BY assigned_at LIMIT 1",
        (device_id,),
    )


# Each picker's last screen, with the list version it was drawn at (see migration
# 0010_list_version): per store, so every process and test database has its own.
_screens: WeakKeyDictionary[Store, dict[int, tuple[int, int, DeviceState]]] = WeakKeyDictionary()


def cached_screen(store: Store, device_id: int, head: dict) -> DeviceState | None:
    """The picker's screen as last drawn, if its list has not changed since (by anyone)."""
    hit = _screens.get(store, {}).get(device_id)
    if hit is not None and hit[0] == head["id"] and hit[1] == head["version"]:
        return hit[2]
    return None


def remember_screen(
    store: Store, device_id: int, list_id: int, state: DeviceState, version: int | None = None
) -> None:
    """Keep the screen just drawn for the list as it now stands (inside the write that changed
    it), or as it stood at `version`: the version read before the list was (a later change
    only makes the kept screen miss)."""
    if version is None:
        row = store.one("SELECT version FROM pick_lists WHERE id = ?", (list_id,))
        if row is None:
            return
        version = row["version"]
    _screens.setdefault(store, {})[device_id] = (list_id, version, state)


def bench(store: Store, device_id: int) -> Bench | None:
    """What is on a packer's bench: one order's tote from a pick list."""
    dev = store.one("SELECT pack_list_id, pack_order_id FROM devices WHERE id = ?", (device_id,))
    if dev is None or dev["pack_list_id"] is None:
        return None
    pl = load(store, dev["pack_list_id"])
    if pl is None:
        return None
    order_id = dev["pack_order_id"] or pl.order_ids[0]
    pkg = store.one(
        "SELECT id, tracking, status, box, weight_g FROM packages WHERE pick_list_id = ? "
        "AND order_id = ? AND status != 'confirmed' ORDER BY id DESC LIMIT 1",
        (pl.list_id, order_id),
    )
    package = None
    if pkg:
        held = boxes.open_hold(store, pkg["id"])
        package = Package(
            pkg["id"], pkg["tracking"], pkg["status"], pkg["box"], pkg["weight_g"], held
        )
    goods, box, chosen = boxes.for_bench(store, device_id, pl, order_id)
    return Bench(pl.for_order(order_id), package, goods, box, chosen, boxes.tolerance())


def identify(store: Store, warehouse: str, text: str, keys: set[str]) -> Known:
    """What a barcode is on this floor (a picker's wrong scan): a tote, a bin of the warehouse,
    an item of the catalogue (with its name), or none of them."""
    if is_tote(text):
        return Known("tote")
    if store.one(
        "SELECT 1 FROM locations WHERE barcode = ? OR (warehouse = ? AND code = ?)",
        (text, warehouse, text),
    ):
        return Known("location")
    forms = {text} | {k.lstrip("0").zfill(n) for k in keys if k.isdigit() for n in (8, 12, 13, 14)}
    marks = ", ".join("?" * len(forms))
    row = store.one(
        f"""SELECT p.name FROM products p WHERE p.sku = ? OR p.sku IN
              (SELECT sku FROM product_barcodes WHERE barcode IN ({marks})) LIMIT 1""",
        (text, *sorted(forms)),
    )
    return Known("item", row["name"]) if row else Known(None)
