"""Boxes and weight at the pack bench: the box for a bench, holds for a wrong weight, releases.

A held package stays on the bench (its label printed, not confirmed) with an
open row in `package_holds` until the packer weighs it again within the
tolerance (`reweighed`) or a supervisor accepts it, by the CMD-WEIGHT-OK card
on the bench or by REST (`accepted`): then it is confirmed as a label scan
would have confirmed it.
"""

from __future__ import annotations

from server.core.clock import now
from server.floor.domain.floor import PickList
from server.shipping import packages
from server.shipping.domain.boxes import DEFAULT_FILL, Box, Item, Tolerance, WeightCheck, choose_box
from server.store import Store

# Set by the app from config ([[boxes]], [packing]); plain module state like the label settings.
SETTINGS: dict = {"boxes": (), "fill": DEFAULT_FILL, "tolerance": Tolerance()}


def configure(boxes: list[dict], fill: float, tolerance_g: int, tolerance_pct: float) -> None:
    """Take the box types and the weight tolerance from the server's settings."""
    SETTINGS["boxes"] = tuple(Box(**b) for b in boxes)
    SETTINGS["fill"] = fill
    SETTINGS["tolerance"] = Tolerance(tolerance_g, tolerance_pct / 100)


def boxes() -> tuple[Box, ...]:
    return SETTINGS["boxes"]


def tolerance() -> Tolerance:
    return SETTINGS["tolerance"]


def by_code(code: str | None) -> Box | None:
    return next((b for b in boxes() if b.code == code), None)


def items(store: Store, list_id: int, order_id: str) -> tuple[Item, ...]:
    """The units of one order picked on a list, by product, with weights and dimensions."""
    rows = store.all(
        """SELECT p.sku, SUM(ps.picked) AS qty, p.weight_g, p.length_mm, p.width_mm, p.height_mm
           FROM pick_steps ps JOIN products p ON p.sku = ps.sku
           WHERE ps.pick_list_id = ? AND ps.order_id = ? GROUP BY p.sku ORDER BY p.sku""",
        (list_id, order_id),
    )
    return tuple(Item(**r) for r in rows if r["qty"])


def for_bench(store: Store, device_id: int, pl: PickList, order_id: str) -> tuple:
    """(items, box, chosen): the bench's items and its box, the packer's or the suggested one."""
    goods = items(store, pl.list_id, order_id)
    row = store.one("SELECT pack_box FROM devices WHERE id = ?", (device_id,))
    chosen = by_code(row["pack_box"]) if row else None
    if chosen is not None:
        return goods, chosen, True
    return goods, choose_box(goods, boxes(), SETTINGS["fill"]), False


def open_hold(store: Store, package_id: int) -> WeightCheck | None:
    """The package's weight check that holds it, if one does."""
    row = store.one(
        "SELECT measured_g, expected_g, tolerance_g FROM package_holds "
        "WHERE package_id = ? AND released_at IS NULL ORDER BY id DESC LIMIT 1",
        (package_id,),
    )
    return WeightCheck(row["measured_g"], row["expected_g"], row["tolerance_g"]) if row else None


def hold(store: Store, device_id: int, package_id: int, check: WeightCheck) -> None:
    """Hold a package weighed outside its tolerance; a second wrong weight updates the hold
    (inside a write)."""
    store.execute("UPDATE packages SET measured_g = ? WHERE id = ?", (check.measured_g, package_id))
    updated = store.execute(
        "UPDATE package_holds SET measured_g = ?, expected_g = ?, tolerance_g = ?, device_id = ? "
        "WHERE package_id = ? AND released_at IS NULL",
        (check.measured_g, check.expected_g, check.tolerance_g, device_id, package_id),
    ).rowcount
    if not updated:
        store.execute(
            "INSERT INTO package_holds (package_id, device_id, measured_g, expected_g, "
            "tolerance_g, held_at) VALUES (?, ?, ?, ?, ?, ?)",
            (package_id, device_id, check.measured_g, check.expected_g, check.tolerance_g, now()),
        )


def expect_again(store: Store, package_id: int) -> None:
    """The package's expected weight changed (another box): a hold says the new one (inside a
    write)."""
    weight = store.one("SELECT weight_g FROM packages WHERE id = ?", (package_id,))["weight_g"]
    store.execute(
        "UPDATE package_holds SET expected_g = ?, tolerance_g = ? "
        "WHERE package_id = ? AND released_at IS NULL",
        (weight, tolerance().of(weight), package_id),
    )


def weighed_ok(store: Store, package_id: int, measured_g: int, by: str) -> bool:
    """The package weighed within its tolerance: keep the weight, end any hold; True if one
    ended (inside a write)."""
    store.execute("UPDATE packages SET measured_g = ? WHERE id = ?", (measured_g, package_id))
    return bool(_release(store, package_id, by, "reweighed"))


def _release(store: Store, package_id: int, by: str, outcome: str) -> int:
    return store.execute(
        "UPDATE package_holds SET released_at = ?, released_by = ?, outcome = ? "
        "WHERE package_id = ? AND released_at IS NULL",
        (now(), by, outcome, package_id),
    ).rowcount


class NotHeld(ValueError):
    """The package is not held for its weight."""


def accept(store: Store, package_id: int, by: str) -> int | None:
    """A supervisor accepts a held package's weight: it is confirmed and leaves its bench;
    returns the bench's device id (inside a write). Raises KeyError, NotHeld."""
    pkg = store.one("SELECT id, status FROM packages WHERE id = ?", (package_id,))
    if pkg is None:
        raise KeyError(package_id)
    if pkg["status"] == "confirmed" or not _release(store, package_id, by, "accepted"):
        raise NotHeld(f"package {package_id} is not held for its weight")
    packages.confirm(store, package_id)
    bench = store.one(
        "SELECT d.id FROM devices d JOIN packages p ON p.pick_list_id = d.pack_list_id "
        "AND p.order_id = d.pack_order_id WHERE p.id = ?",
        (package_id,),
    )
    if bench is None:
        return None
    clear_bench(store, bench["id"])
    return bench["id"]


def clear_bench(store: Store, device_id: int) -> None:
    """The bench is empty again (its package confirmed)."""
    store.execute(
        "UPDATE devices SET pack_list_id = NULL, pack_order_id = NULL, pack_box = NULL "
        "WHERE id = ?",
        (device_id,),
    )


def held(store: Store) -> list[dict]:
    """Packages held for their weight, oldest first, with where they wait."""
    return store.all(
        """SELECT h.package_id, p.order_id, p.tracking, p.box, h.measured_g, h.expected_g,
                  h.tolerance_g, h.held_at, d.name AS device
           FROM package_holds h JOIN packages p ON p.id = h.package_id
           LEFT JOIN devices d ON d.id = h.device_id
           WHERE h.released_at IS NULL ORDER BY h.held_at, h.id"""
    )
