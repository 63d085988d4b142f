"""No over-promising, ever: a Hypothesis state machine over receive / order / allocate / pick /
short / cancel / ship / put away / replenish, checking the stock invariants after every step.

`make test-deep` (or `HYPOTHESIS_PROFILE=long pytest tests/server/inventory/test_allocation_stateful.py`)
runs it much longer: 2,000 machines of 100 steps against `make test`'s 100 of 50.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from server.capture import cancel, orders
from server.core.schemas import CatalogueIn, CorrectionIn, OrderIn, ReceiptIn
from server.floor import shorts
from server.inventory import allocate, catalogue, replenishing, replenishment, shipments, stock
from server.people import auth
from server.store import open_store
from shared.barcodes import parse_scan

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
SKUS = ["S1", "S2", "S3"]
WAREHOUSES = [("WA", 40.7, -74.0), ("WB", 41.9, -87.6), ("WC", 34.0, -118.2)]
BINS = {wh: [f"{wh}-{n}" for n in (1, 2)] for wh, _, _ in WAREHOUSES}
RESERVE = {wh: f"{wh}-R" for wh, _, _ in WAREHOUSES}  # feeds the faces, never allocated
IN_RESERVE = 8  # units of each SKU each reserve bin starts with
CITIES = [(42.3, -71.0), (39.7, -105.0), (37.7, -122.4), (None, None)]


@functools.cache
def _template() -> Path:
    """A migrated database with the catalogue, made once and copied for every example."""
    path = Path(tempfile.mkdtemp(prefix="alloc-sm-")) / "template.db"
    store = open_store(path, synchronous="OFF")
    address = {"name": "DC", "line1": "1 Road", "city": "C", "postcode": "1", "country": "US"}
    cat = {
        "warehouses": [
            {"code": c, "name": c, "address": address, "lat": la, "lon": lo}
            | ({"daily_capacity": 6} if c == "WB" else {})
            | ({"safety_stock": [{"sku": "S1", "qty": 1}]} if c == "WA" else {})
            for c, la, lo in WAREHOUSES
        ],
        "locations": [
            {"warehouse": wh, "code": code, "aisle": i + 1, "bay": 1}
            for wh, codes in BINS.items()
            for i, code in enumerate(codes)
        ]
        + [
            {"warehouse": wh, "code": code, "aisle": 9, "role": "reserve"}
            for wh, code in RESERVE.items()
        ],
        "products": [{"sku": s, "name": s} for s in SKUS],
        "stock": [
            {"warehouse": wh, "location": code, "sku": sku, "on_hand": IN_RESERVE}
            for wh, code in RESERVE.items()
            for sku in SKUS
        ],
        "channels": [
            {"code": "strict", "allow_split": False, "allow_partial": False},
            {"code": "loose", "allow_split": True, "allow_partial": True},
        ],
    }
    catalogue.load(store, CatalogueIn.model_validate(cat))
    for wh, codes in BINS.items():  # the first face of each warehouse is refilled from reserve
        for sku in SKUS:
            replenishment.set_limits(store, wh, codes[0], sku, 2, 6, "test")
    store.close()  # the last connection to close checkpoints the WAL into the file
    return path


class Floor(RuleBasedStateMachine):
    """The floor as a sequence of things people and shops do; the model counts units."""

    @initialize()
    def open_floor(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="alloc-sm-run-"))
        shutil.copy(_template(), self.dir / "floor.db")
        self.store = open_store(self.dir / "floor.db", synchronous="OFF")
        self.received = self.corrected = self.picked = self.shipped = self.put_back = 0
        self.received = IN_RESERVE * len(RESERVE) * len(SKUS)
        self.n = 0
        self.pickers = {}
        for wh, _, _ in WAREHOUSES:
            auth.create_device(self.store, f"p-{wh}", "picker", wh)
            self.pickers[wh] = self.store.one("SELECT * FROM devices WHERE name = ?", (f"p-{wh}",))

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ what happens
    @rule(
        wh=st.sampled_from([w for w, _, _ in WAREHOUSES]),
        slot=st.integers(0, 2),
        sku=st.sampled_from(SKUS),
        qty=st.integers(1, 6),
        lot=st.sampled_from(["", "", "L1", "L2"]),
    )
    def receive(self, wh: str, slot: int, sku: str, qty: int, lot: str) -> None:
        expires = {"": None, "L1": "2031-01-01", "L2": "2030-06-01"}[lot]
        line = {
            "location": [*BINS[wh], RESERVE[wh]][slot],
            "sku": sku,
            "qty": qty,
            "lot": lot,
            "expires": expires,
        }
        stock.receive(
            self.store,
            ReceiptIn.model_validate_json(json.dumps({"warehouse": wh, "lines": [line]})),
        )
        self.received += qty

    @rule(
        lines=st.lists(st.tuples(st.sampled_from(SKUS), st.integers(1, 4)), min_size=1, max_size=3),
        channel=st.sampled_from(["web", "strict", "loose"]),
        partial=st.sampled_from([None, None, True, False]),
        priority=st.integers(0, 2),
        city=st.sampled_from(CITIES),
    )
    def place_order(self, lines, channel, partial, priority, city) -> None:
        self.n += 1
        address = {"name": "C", "line1": "1 St", "city": "X", "postcode": "1", "country": "US"}
        if city[0] is not None:
            address |= {"lat": city[0], "lon": city[1]}
        body = {
            "order_id": f"o{self.n}",
            "channel": channel,
            "lines": [{"sku": s, "qty": q} for s, q in lines],
            "ship_to": address,
            "priority": priority,
            "allow_partial": partial,
        }
        oid, _ = orders.capture(self.store, OrderIn.model_validate(body))
        allocate.allocate_order(self.store, oid)

    @rule()
    def allocate_waiting(self) -> None:
        allocate.allocate_pending(self.store)

    @rule(data=st.data())
    def pick(self, data) -> None:
        open_ = self.store.all(
            "SELECT id, qty - picked - released AS left FROM reservations "
            "WHERE qty > picked + released ORDER BY id"
        )
        if not open_:
            return
        r = data.draw(st.sampled_from(open_))
        n = data.draw(st.integers(1, r["left"]))
        with self.store.write():
            shipments.take(self.store, r["id"], n)
        self.picked += n

    @rule(data=st.data())
    def pick_a_step(self, data) -> None:
        """A picker's item scan: one unit of a pick step, its reservation read and counted in
        one statement (`take_for_step`); a take of more than the reservation has left writes
        nothing."""
        steps = self.store.all(
            """SELECT ps.id, r.qty - r.picked - r.released AS left FROM pick_steps ps
               JOIN reservations r ON r.id = ps.reservation_id
               WHERE ps.picked < ps.qty AND r.qty > r.picked + r.released ORDER BY ps.id"""
        )
        if not steps:
            return
        step = data.draw(st.sampled_from(steps))
        with (
            pytest.raises(shipments.ShipmentError, match="units left to pick"),
            self.store.write(),
        ):
            shipments.take_for_step(self.store, step["id"], step["left"] + 1)
        with self.store.write():
            self.store.execute(
                "UPDATE pick_steps SET picked = picked + 1 WHERE id = ?", (step["id"],)
            )
            shipments.take_for_step(self.store, step["id"], 1)
        self.picked += 1
        event("pick a step")

    @rule(data=st.data())
    def count_bin(self, data) -> None:
        """A count finds a bin short (or over): on hand corrected, reservations re-allocated."""
        rows = self.store.all(
            "SELECT l.warehouse, l.code, s.sku, s.lot, s.on_hand FROM stock s "
            "JOIN locations l ON l.id = s.location_id ORDER BY s.location_id, s.sku, s.lot"
        )
        if not rows:
            return
        row = data.draw(st.sampled_from(rows))
        counted = data.draw(st.integers(0, row["on_hand"] + 1))
        body = {"warehouse": row["warehouse"], "location": row["code"], "sku": row["sku"]}
        stock.correct(self.store, CorrectionIn(**body, lot=row["lot"], on_hand=counted))
        self.corrected += counted - row["on_hand"]

    @rule(data=st.data())
    def short_pick(self, data) -> None:
        """A picker at a bin finds fewer units than its step asks: the real short-pick flow."""
        steps = self.store.all(
            """SELECT ps.id, ps.pick_list_id, ps.qty, r.location_id, r.sku, r.lot, p.warehouse
               FROM pick_steps ps JOIN reservations r ON r.id = ps.reservation_id
               JOIN pick_lists p ON p.id = ps.pick_list_id
               WHERE ps.picked = 0 AND r.picked = 0 AND r.released = 0 AND p.status = 'open'
               AND ps.seq = (SELECT MIN(seq) FROM pick_steps WHERE pick_list_id = ps.pick_list_id)
               ORDER BY ps.id"""
        )
        if not steps:
            return
        step = data.draw(st.sampled_from(steps))
        found = data.draw(st.integers(0, step["qty"] - 1))
        before = self.store.one(
            "SELECT on_hand FROM stock WHERE location_id = ? AND sku = ? AND lot = ?",
            (step["location_id"], step["sku"], step["lot"]),
        )["on_hand"]
        with self.store.write():
            self.store.execute("UPDATE pick_steps SET at_location = 1 WHERE id = ?", (step["id"],))
        shorts.report(
            self.store, self.pickers[step["warehouse"]], step["pick_list_id"], found, "empty"
        )
        self.corrected += found - before
        event("short pick")

    @rule(data=st.data())
    def cancel_order(self, data) -> None:
        live = self.store.all(
            "SELECT id FROM orders WHERE status NOT IN ('cancelled', 'shipped') ORDER BY id"
        )
        started = self.store.all(
            "SELECT DISTINCT r.order_id AS id FROM reservations r JOIN orders o ON o.id = r.order_id "
            "WHERE r.picked > 0 AND o.status NOT IN ('cancelled', 'shipped') ORDER BY r.order_id"
        )
        if started and data.draw(st.booleans()):  # the interesting case: units already in a tote
            live = started
        if not live:
            return
        oid = data.draw(st.sampled_from(live))["id"]
        with contextlib.suppress(cancel.CannotCancel):  # it shipped meanwhile: that is fine
            cancel.cancel_order(self.store, oid)

    @rule(data=st.data())
    def ship(self, data) -> None:
        """Pick whatever is left of a shipment, then it leaves."""
        ready = self.store.all(
            "SELECT id FROM shipments WHERE status IN ('allocated', 'packed') ORDER BY id"
        )
        if not ready:
            return
        sid = data.draw(st.sampled_from(ready))["id"]
        with self.store.write():
            for r in self.store.all(
                "SELECT id, qty - picked - released AS left FROM reservations WHERE shipment_id = ?",
                (sid,),
            ):
                if r["left"]:
                    shipments.take(self.store, r["id"], r["left"])
                    self.picked += r["left"]
        units = self.store.one(
            "SELECT COALESCE(SUM(picked), 0) AS n FROM reservations WHERE shipment_id = ?", (sid,)
        )["n"]
        shipments.ship(self.store, sid)
        self.shipped += units

    @rule(data=st.data())
    def put_away(self, data) -> None:
        tasks = self.store.all(
            "SELECT id, qty FROM putaway_tasks WHERE status = 'open' ORDER BY id"
        )
        if not tasks:
            return
        task = data.draw(st.sampled_from(tasks))
        stock.putaway_done(self.store, task["id"])
        self.put_back += task["qty"]

    @rule(data=st.data())
    def replenish(self, data) -> None:
        """A move to a face done as the handheld does it: the reserve bin, n items, the face."""
        moves = self.store.all("SELECT id, qty FROM replen_tasks WHERE status = 'open' ORDER BY id")
        if not moves:
            return
        move = data.draw(st.sampled_from(moves))
        n = data.draw(st.integers(1, move["qty"]))
        with self.store.write():
            task = replenishment.get(self.store, move["id"])
            for text in [task["reserve_barcode"], *[task["sku"]] * n, task["face_barcode"]]:
                task = replenishment.get(self.store, move["id"])
                verdict, moved = replenishing.scan(self.store, task, text, parse_scan(text))
        event(f"move {'done' if moved else verdict.code}")

    @rule(data=st.data())
    def cancel_move(self, data) -> None:
        moves = self.store.all("SELECT id FROM replen_tasks WHERE status = 'open' ORDER BY id")
        if moves:
            replenishing.cancel(self.store, data.draw(st.sampled_from(moves))["id"], "sup")

    # ------------------------------------------------------------ what must always hold
    @invariant()
    def reserve_is_never_promised_to_orders_and_holds_wait_for_open_moves(self) -> None:
        if not hasattr(self, "store"):
            return
        promised = self.store.one(
            "SELECT COALESCE(SUM(s.reserved), 0) AS n FROM stock s "
            "JOIN locations l ON l.id = s.location_id WHERE l.role = 'reserve'"
        )
        assert promised["n"] == 0
        stale = self.store.all(
            "SELECT h.task_id FROM replen_holds h JOIN replen_tasks t ON t.id = h.task_id "
            "WHERE t.status != 'open'"
        )
        assert stale == []

    @invariant()
    def bins_never_over_promised(self) -> None:
        if not hasattr(self, "store"):
            return
        rows = self.store.all(
            """SELECT s.location_id, s.sku, s.lot, s.on_hand, s.reserved,
                      (SELECT COALESCE(SUM(r.qty - r.picked - r.released), 0) FROM reservations r
                       WHERE r.location_id = s.location_id AND r.sku = s.sku AND r.lot = s.lot) AS held
               FROM stock s"""
        )
        for r in rows:
            assert 0 <= r["reserved"] <= r["on_hand"], r
            assert r["reserved"] == r["held"], r
        orphans = self.store.one(
            """SELECT COUNT(*) AS n FROM reservations r LEFT JOIN stock s ON s.location_id = r.location_id
               AND s.sku = r.sku AND s.lot = r.lot WHERE r.qty > r.picked + r.released AND s.sku IS NULL"""
        )
        assert orphans["n"] == 0

    @invariant()
    def cancelled_and_shipped_hold_nothing(self) -> None:
        if not hasattr(self, "store"):
            return
        held = self.store.one(
            """SELECT COALESCE(SUM(r.qty - r.picked - r.released), 0) AS n
               FROM reservations r JOIN shipments sh ON sh.id = r.shipment_id
               WHERE sh.status IN ('cancelled', 'shipped')"""
        )
        assert held["n"] == 0

    @invariant()
    def no_order_over_reserved(self) -> None:
        if not hasattr(self, "store"):
            return
        for line in self.store.all(
            """SELECT ol.order_id, ol.line_no, ol.qty, o.status, o.waiting,
                      (SELECT COALESCE(SUM(r.qty - r.released), 0) FROM reservations r
                       WHERE r.order_id = ol.order_id AND r.line_no = ol.line_no) AS covered
               FROM order_lines ol JOIN orders o ON o.id = ol.order_id"""
        ):
            assert line["covered"] <= line["qty"], line
        for o in self.store.all(
            """SELECT o.id, o.status, o.waiting,
                      (SELECT SUM(qty) FROM order_lines WHERE order_id = o.id)
                    - (SELECT COALESCE(SUM(qty - released), 0) FROM reservations WHERE order_id = o.id)
                      AS uncovered
               FROM orders o WHERE o.status NOT IN ('received', 'cancelled')"""
        ):
            assert o["waiting"] == o["uncovered"], o
            assert (o["status"] in ("backordered", "partially_allocated")) == (o["waiting"] > 0), o

    @invariant()
    def pickers_are_never_sent_for_released_units(self) -> None:
        if not hasattr(self, "store"):
            return
        bad = self.store.all(
            """SELECT r.id, r.qty, r.released,
                      (SELECT COALESCE(SUM(qty), 0) FROM pick_steps WHERE reservation_id = r.id) AS steps
               FROM reservations r WHERE steps != r.qty - r.released"""
        )
        assert bad == []

    @invariant()
    def units_are_conserved(self) -> None:
        if not hasattr(self, "store"):
            return
        on_hand = self.store.one("SELECT COALESCE(SUM(on_hand), 0) AS n FROM stock")["n"]
        assert on_hand == self.received + self.corrected - self.picked + self.put_back
        in_totes = self.store.one(
            """SELECT COALESCE(SUM(r.picked), 0) AS n FROM reservations r
               JOIN shipments sh ON sh.id = r.shipment_id WHERE sh.status IN ('allocated', 'packed')"""
        )["n"]
        to_put_away = self.store.one("SELECT COALESCE(SUM(qty), 0) AS n FROM putaway_tasks")["n"]
        assert self.picked == self.shipped + in_totes + to_put_away
        done = self.store.one(
            "SELECT COALESCE(SUM(qty), 0) AS n FROM putaway_tasks WHERE status = 'done'"
        )["n"]
        assert done == self.put_back

    @invariant()
    def capacity_is_respected(self) -> None:
        if not hasattr(self, "store"):
            return
        row = self.store.one("SELECT MAX(orders) AS n FROM warehouse_days WHERE warehouse = 'WB'")
        assert (row["n"] or 0) <= 6


Floor.TestCase.settings = settings(
    max_examples=2000 if LONG else 100,
    stateful_step_count=100 if LONG else 50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
# Bounded by its example and step counts, not by time: past 120 s (the suite's hang guard) on
# a loaded 2-core machine.
TestFloor = pytest.mark.timeout(3600 if LONG else 300)(Floor.TestCase)
