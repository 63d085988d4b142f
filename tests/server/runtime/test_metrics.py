"""GET /metrics: scans by code, scan time, device links by role, boards, outbox, commits."""

from __future__ import annotations

from floorkit import board_client, connect, emit, place, received, scan
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.config import Settings
from server.people import auth
from shared.protocol import BOARD_NAMESPACE
from shared.protocol import DEVICE_NAMESPACE as NS


def scrape(app) -> dict[tuple[str, tuple], float]:
    """Every sample of GET /metrics: (name, sorted labels) -> value."""
    resp = app.test_client().get("/metrics")
    assert resp.status_code == 200
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_scan_counts_under_its_code_and_is_timed(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 1)])
    picker = connect(app, socketio, tokens["picker"])
    before = scrape(app)
    assert value(before, "scanfloor_scan_seconds_count") == 0

    wrong = scan(picker, "NOT-A-TOTE", "m1")
    right = scan(picker, "TOTE-7", "m2")
    again = scan(picker, "TOTE-7", "m2")  # the same message again: answered, not counted
    refused = emit(picker, "scan", {"id": "m3"})  # no barcode: a refused message
    assert wrong["code"] == "not_a_tote" and right["ok"] and again["duplicate"]
    assert refused["error"]["code"] == "bad_message"

    after = scrape(app)
    assert value(after, "scanfloor_scans_total", code="not_a_tote") == 1
    assert value(after, "scanfloor_scans_total", code=right["code"]) == 1
    assert value(after, "scanfloor_scans_total", code="bad_message") == 1
    assert value(after, "scanfloor_scan_duplicates_total") == 1
    assert value(after, "scanfloor_scan_seconds_count") == 4
    assert value(after, "scanfloor_scan_seconds_bucket", le="+Inf") == 4
    assert 0 < value(after, "scanfloor_scan_seconds_sum") < 10


def test_a_device_counts_under_its_role_while_connected(floor):
    app, socketio, _, tokens = floor
    assert value(scrape(app), "scanfloor_devices_connected", role="picker") == 0
    picker = connect(app, socketio, tokens["picker"])
    packer = connect(app, socketio, tokens["packer"])
    now = scrape(app)
    assert value(now, "scanfloor_devices_connected", role="picker") == 1
    assert value(now, "scanfloor_devices_connected", role="packer") == 1

    picker.disconnect(NS)
    now = scrape(app)
    assert value(now, "scanfloor_devices_connected", role="picker") == 0
    assert value(now, "scanfloor_devices_connected", role="packer") == 1
    packer.disconnect(NS)
    assert value(scrape(app), "scanfloor_devices_connected", role="packer") == 0


def test_a_refused_device_is_not_counted(floor):
    app, socketio, _, _ = floor
    client = socketio.test_client(app, namespace=NS, auth={"token": "sfd_not-a-real-token"})
    assert not client.is_connected(NS)
    now = scrape(app)
    assert value(now, "scanfloor_devices_connected", role="picker") == 0
    assert value(now, "scanfloor_devices_connected", role="packer") == 0


def test_boards_are_counted_while_connected(floor):
    app, socketio, _, _ = floor
    boards = [board_client(app, socketio) for _ in range(2)]
    assert value(scrape(app), "scanfloor_board_clients") == 2
    boards[0].disconnect(BOARD_NAMESPACE)
    assert value(scrape(app), "scanfloor_board_clients") == 1
    boards[1].disconnect(BOARD_NAMESPACE)
    assert value(scrape(app), "scanfloor_board_clients") == 0


def test_outbox_depth_is_the_events_devices_have_not_seen(floor):
    app, socketio, store, tokens = floor
    place(store, "shop-1", [("SKU-A", 1)])
    picker = connect(app, socketio, tokens["picker"])
    stored = store.one("SELECT COUNT(*) AS n FROM device_events")["n"]
    assert stored > 0
    assert value(scrape(app), "scanfloor_outbox_events") == stored

    last = max(e["seq"] for e in received(picker, "state"))
    assert emit(picker, "seen", {"id": "s1", "seq": last})["ok"]
    assert value(scrape(app), "scanfloor_outbox_events") == 0


def test_sqlite_commits_are_timed(floor):
    app, _, store, _ = floor
    before = value(scrape(app), "scanfloor_sqlite_commit_seconds_count")
    auth.create_api_key(store, "one-more-commit")
    with store.write():
        store.execute("UPDATE devices SET last_seen = last_seen")
    assert value(scrape(app), "scanfloor_sqlite_commit_seconds_count") == before + 2


def test_two_apps_keep_their_own_figures(floor, tmp_path, monkeypatch):
    app, socketio, store, tokens = floor
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    other, _ = create_app(Settings(data_dir=tmp_path / "other", sqlite_synchronous="NORMAL"))
    try:
        place(store, "shop-1", [("SKU-A", 1)])
        picker = connect(app, socketio, tokens["picker"])
        scan(picker, "NOT-A-TOTE", "m1")
        assert value(scrape(app), "scanfloor_scans_total", code="not_a_tote") == 1
        assert value(scrape(other), "scanfloor_scans_total", code="not_a_tote") == 0
        assert value(scrape(other), "scanfloor_devices_connected", role="picker") == 0
    finally:
        other.extensions["store"].close()
