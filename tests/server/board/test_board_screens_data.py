"""What the board's screens are made of, below the browser: the lateness windows and cut-offs,
the counters, the short SKUs of a backorder, the timeline in words, the charts' scale and the
label drawn from its ZPL (read back by a barcode reader)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta, timezone

import pytest
from floorkit import place

from server.board import counters, exceptions, order_view, throughput
from server.board.domain.due import next_cutoff, parse_cutoff, windows
from server.board.domain.words import sentence
from server.board.label_picture import render_png
from server.config import CarrierSettings
from server.core.addresses import Address
from server.shipping.domain.labels import ShippingLabel, render_zpl

CET = timezone(timedelta(hours=1))


def test_the_lateness_windows_follow_the_local_day():
    w = windows(datetime(2026, 12, 3, 23, 30, tzinfo=CET))
    assert w.now == "2026-12-03T22:30:00.000000+00:00"
    assert w.within_hour == w.end_of_day == "2026-12-03T23:00:00.000000+00:00"  # midnight first
    assert w.start_of_day == "2026-12-02T23:00:00.000000+00:00"
    with pytest.raises(ValueError):
        windows(datetime(2026, 12, 3, 12, 0))  # no zone: no "today"


def test_a_cutoff_is_today_until_it_passes_then_tomorrow():
    assert parse_cutoff("16:00") == time(16, 0)
    for bad in ("4pm", "16", "24:00", "16:60", "1:00"):
        with pytest.raises(ValueError, match="HH:MM"):
            parse_cutoff(bad)
    at = datetime(2026, 12, 3, 15, 0, tzinfo=CET)
    assert next_cutoff(at, time(16)) == datetime(2026, 12, 3, 16, 0, tzinfo=CET)
    assert next_cutoff(at.replace(hour=16), time(16)) == datetime(2026, 12, 4, 16, 0, tzinfo=CET)
    with pytest.raises(ValueError):
        CarrierSettings(cutoff="25:00")


def test_counters_say_late_due_and_today_apart_from_all_time(floor_store):
    store = floor_store
    late = place(store, "shop-1", [("SKU-A", 1)])
    soon = place(store, "shop-2", [("SKU-B", 1)])
    later = place(store, "shop-3", [("SKU-B", 1)])
    old = place(store, "shop-4", [("SKU-B", 1)])
    at = datetime.now(UTC).astimezone().replace(hour=12, minute=0, second=0, microsecond=0)
    iso = lambda minutes: (at + timedelta(minutes=minutes)).astimezone(UTC).isoformat()  # noqa: E731
    with store.write():
        for oid, minutes in ((late, -5), (soon, 30), (later, 200)):
            store.execute("UPDATE orders SET promised_by = ? WHERE id = ?", (iso(minutes), oid))
        store.execute("UPDATE orders SET status = 'delivered' WHERE id = ?", (old,))
        store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) VALUES "
            "(?, ?, 'delivered', 'delivered', '{}')",
            (old, iso(-24 * 60)),
        )  # delivered yesterday: all time, not today
    with store.read():
        got = counters.counts(store, at)
        cut = counters.cutoffs(store, {"local": CarrierSettings()}, at)
    assert (got["late_now"], got["due_within_hour"], got["due_later_today"]) == (1, 1, 1)
    assert got["delivered"] == 1 and got["delivered_today"] == 0
    assert cut == [
        {"carrier": "local", "title": "SCANFLOOR LOCAL", "cutoff": "16:00",
         "next_at": at.replace(hour=16).isoformat(), "waiting": 0}
    ]  # fmt: skip


def test_a_backorder_names_its_short_sku(floor_store):
    oid = place(floor_store, "shop-9", [("SKU-C", 500), ("SKU-A", 1)])
    with floor_store.read():
        (item,) = [i for i in exceptions.queue(floor_store) if i["kind"] == "backorder"]
    assert item["order_id"] == oid
    assert item["title"].startswith("Backordered: SKU-C short (needs 500, ")
    assert "SKU-A" not in item["title"]


def test_the_timeline_reads_as_sentences():
    assert sentence("allocated", "allocated", {"warehouse": "WH-EAST", "distance_km": 12.5,
                                               "shipments": [{"id": 1}]}) == (
        "Stock reserved: from WH-EAST, 12.5 km away"
    )  # fmt: skip
    assert sentence("picked", "picked", {"pick_list": 3, "device": 4}) == "Picked: PL-000003"
    assert sentence("delivered", "delivered", {"place": {"city": "Springfield"}}) == (
        "Delivered: at Springfield"
    )
    place = {"city": "Chicago", "country": "US", "lat": 41.88, "lon": -87.63, "note": "porch"}
    assert sentence("delivered", "delivered", {"place": place}) == (
        "Delivered: at Chicago, US, porch"
    )
    assert sentence("some_new_event", "x", {}) == "Some new event"


def test_the_charts_scale_to_when_the_work_began(floor_store):
    oid = place(floor_store, "shop-1", [("SKU-A", 1)])
    with floor_store.write():
        floor_store.execute("DELETE FROM order_events")  # the work began 100 minutes ago
        floor_store.execute(
            "INSERT INTO order_events (order_id, at, status, event, detail) VALUES "
            "(?, ?, 'packed', 'packed', '{}')",
            (oid, (datetime.now(UTC) - timedelta(minutes=100)).isoformat()),
        )
    tp = throughput.throughput(floor_store)
    assert tp["bucket_minutes"] == 15 and len(tp["hours"]) == 12  # the last 3 hours
    assert sum(tp["orders_packed"]) == 1


def test_the_label_picture_reads_back_as_the_label(floor_store):
    zxing = pytest.importorskip("zxingcpp", reason="zxing-cpp reads the barcodes back")
    from PIL import Image

    here = Address(name="East", line1="5 Dock St", city="Newark", postcode="07102", country="US")
    to = Address(name="Grace Hopper", line1="1 Long Road", city="Springfield", postcode="12345",
                 country="US")  # fmt: skip
    zpl = render_zpl(ShippingLabel(here, to, "SO-000012", "SF0000000420", "006141410000000012",
                                   "SCANFLOOR LOCAL", "express", 1234))  # fmt: skip
    image = Image.open(io.BytesIO(render_png(zpl)))
    assert image.size == (812, 1218)
    read = {r.text for r in zxing.read_barcodes(image)}
    assert read == {"SF0000000420", "(00)006141410000000012"}
    # A 300-dpi label is drawn at its size; an unknown or impossible package has no picture.
    assert Image.open(io.BytesIO(render_png(render_zpl(ShippingLabel(
        here, to, "SO-1", "SF0000000420", "006141410000000012", "L", "express", 1), dpi=300
    )))).size == (1200, 1800)  # fmt: skip
    assert order_view.label_png(floor_store, 1) is None
    assert order_view.label_png(floor_store, 2**63) is None
