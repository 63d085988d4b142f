"""The board at full size: its first view holds each column's total and first lists, later
lists, filters, a search and the sorts run on the server (`GET /board/api/lists`), and an
open board gets an update at least every 2 s: a keep-alive when nothing changed."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import gevent
import pytest
from floorkit import board_client, board_web, connect, first_view, place, settle

from server.board import columns
from server.realtime import hub
from shared.protocol import BOARD_NAMESPACE

API = "/board/api/lists"


def _orders(store, n: int) -> list[str]:
    """n orders of one unit each, every one on its own queued list; the 4th is priority 5,
    the 9th the only one with a promise."""
    store.execute("UPDATE stock SET on_hand = 1000 WHERE sku = 'SKU-B'")
    soon = datetime.now(UTC) + timedelta(hours=3)
    return [
        place(
            store,
            f"shop-{k}",
            [("SKU-B", 1)],
            priority=5 if k == 4 else 0,
            shop_number=f"#{k}",
            **({"promised_by": soon} if k == 9 else {}),
        )
        for k in range(1, n + 1)
    ]


def test_columns_are_paged_searched_filtered_and_sorted_on_the_server(floor):
    _orders(floor.store, 12)
    web = board_web(floor.app, "sam")
    got = web.get(f"{API}?state=queued&limit=5").get_json()
    assert got["columns"]["queued"] == 12 and got["active"] == 12
    refs = [p["ref"] for p in got["pick_lists"]]
    assert refs == ["PL-000004", "PL-000001", "PL-000002", "PL-000003", "PL-000005"]
    later = web.get(f"{API}?state=queued&limit=5&offset=10").get_json()["pick_lists"]
    assert [p["ref"] for p in later] == ["PL-000011", "PL-000012"]
    newest = web.get(f"{API}?state=queued&limit=2&sort=newest").get_json()["pick_lists"]
    assert [p["ref"] for p in newest] == ["PL-000012", "PL-000011"]
    due = web.get(f"{API}?state=queued&limit=3&sort=due").get_json()["pick_lists"]
    assert [p["ref"] for p in due] == ["PL-000009", "PL-000004", "PL-000001"]
    # A search finds a list by the shop's number, our order id (any case), its own number.
    for q, ref in (("#7", "PL-000007"), ("7", "PL-000007"), ("so-000009", "PL-000009")):
        found = web.get(API, query_string={"q": q}).get_json()
        assert [p["ref"] for p in found["pick_lists"]] == [ref], q
        assert found["columns"]["queued"] == 1 and found["active"] == 12, q
    assert web.get(f"{API}?q=SKU-B&limit=3").get_json()["columns"]["queued"] == 12
    west = web.get(f"{API}?warehouse=WH-WEST").get_json()
    assert west["pick_lists"] == [] and west["columns"]["queued"] == 0
    assert web.get(f"{API}?q=nothing-like-it").get_json()["pick_lists"] == []


def test_the_short_column_counts_each_open_list_with_a_short_pick_once(floor):
    """totals() counts from the short picks to their lists; the column must equal counting
    every list by the column's own condition (columns.OPEN_STATES)."""
    store = floor.store
    _orders(store, 6)
    device = store.one("SELECT id FROM devices ORDER BY id LIMIT 1")["id"]
    location = store.one("SELECT id FROM locations ORDER BY id LIMIT 1")["id"]
    with store.write():
        for pid, status in ((2, "assigned"), (5, "picked"), (6, "packed")):
            store.execute("UPDATE pick_lists SET status = ? WHERE id = ?", (status, pid))
        # two shorts on list 1, one on each of 2 (assigned), 5 (picked) and 6 (packed)
        for pid in (1, 1, 2, 5, 6):
            store.execute(
                "INSERT INTO short_picks (device_id, pick_list_id, step_id, order_id, "
                "location_id, sku, wanted, found, reason, outcome, at) VALUES "
                "(?, ?, 1, 'SO-1', ?, 'SKU-B', 1, 0, 'empty', 'backordered', '2026-12-04')",
                (device, pid, location),
            )
    with store.read():
        got = columns.totals(store)
        fresh = {
            state: store.one(f"SELECT COUNT(*) AS n FROM pick_lists p WHERE {cond}")["n"]
            for state, cond in columns.OPEN_STATES.items()
        }
    assert {k: got[k] for k in fresh} == fresh
    assert (got["queued"], got["picking"], got["short"], got["to_pack"]) == (2, 0, 2, 1)


def test_a_view_the_board_cannot_show_is_refused_in_words(floor):
    _orders(floor.store, 1)
    web = board_web(floor.app, "sam")
    for query, words in (
        ("state=nope", "state must be one of queued"),
        ("sort=fast", "sort must be one of priority"),
        ("limit=0", "limit must be 1 to 200"),
        ("limit=500", "limit must be 1 to 200"),
        ("offset=-1", "offset must be 0 or more"),
        ("offset=x", "offset and limit must be whole numbers"),
        ("colour=red", "unknown parameter(s) colour"),
        ("q=a+b+c+d+e+f", "at most 5 words"),
    ):
        r = web.get(f"{API}?{query}")
        assert r.status_code == 400 and words in r.get_json()["error"], (query, r.get_json())


def _next_delta(client, seconds: float, wanted=lambda d: True) -> dict | None:
    """The first `delta` the board client gets within `seconds` that is `wanted`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        gevent.sleep(0.05)
        for e in client.get_received(BOARD_NAMESPACE):
            if e["name"] == "delta" and wanted(e["args"][0]):
                return e["args"][0]
    return None


def test_the_first_view_is_shared_and_an_update_comes_every_2_s(floor, monkeypatch):
    _orders(floor.store, 3)
    first = board_client(floor.app, floor.socketio, "sam")
    second = board_client(floor.app, floor.socketio, "ann")
    first_view(first)
    first_view(second)
    snaps = [
        [e for e in c.get_received(BOARD_NAMESPACE) if e["name"] == "snapshot"]
        for c in (first, second)
    ]
    assert [len(s) for s in snaps] == [1, 1]
    snap = snaps[0][0]["args"][0]
    assert snap == snaps[1][0]["args"][0]  # one build for both
    assert snap["columns"]["queued"] == 3 and snap["active"] == 3
    assert snap["page"] == columns.PAGE and len(snap["pick_lists"]) == 3
    assert snap["filters"]["warehouses"] == ["WH-EAST", "WH-WEST"]
    # Nothing changes on the floor, and still an update comes within 2 s: a keep-alive
    # holding only the time, for which nothing was read (SQLite's trace says so).
    # On SQLite the boards read on a connection of their own: both are traced.
    seen: list[str] = []
    sqlite = floor.store.dialect == "sqlite"
    conns = [floor.store.conn, floor.hub._board_reads()[0].conn] if sqlite else []
    assert not sqlite or conns[0] is not conns[1]
    for conn in conns:
        conn.set_trace_callback(seen.append)
    try:
        alive = _next_delta(first, 2.0)
    finally:
        for conn in conns:
            conn.set_trace_callback(None)
    assert alive is not None, "no update within 2 s with a board open"
    assert alive.keys() == {"at"}, alive
    assert not [s for s in seen if "pick_lists" in s or "orders" in s], seen
    # Every BOARD_QUIET_REFRESH the totals and counts all the same (time alone moves some).
    monkeypatch.setattr(hub, "BOARD_QUIET_REFRESH", 0.5)
    refreshed = _next_delta(first, 5.0, lambda d: "columns" in d)
    assert refreshed is not None, "no refresh of the totals on a quiet floor"
    assert refreshed["columns"]["queued"] == 3 and "counts" in refreshed
    # A handheld takes a list: the next update moves it, and the totals follow.
    device = connect(floor.app, floor.socketio, floor.tokens["picker"])
    # The column totals come at most once a second: with that delta or the one after it.
    deadline = time.monotonic() + 5
    moved = totals = None
    while (moved is None or totals is None) and time.monotonic() < deadline:
        gevent.sleep(0.05)
        for e in first.get_received(BOARD_NAMESPACE):
            d = e["args"][0]
            if e["name"] != "delta":
                continue
            if any(p["state"] == "picking" for p in d.get("pick_lists", ())):
                moved = d
            if moved is not None and "columns" in d:
                totals = d["columns"]
    assert moved is not None, "the hand-out did not reach the board"
    assert totals is not None and (totals["picking"], totals["queued"]) == (1, 2), totals
    device.disconnect(namespace="/device")
    first.disconnect(namespace=BOARD_NAMESPACE)
    second.disconnect(namespace=BOARD_NAMESPACE)


def test_every_devices_next_step_is_read_at_once_and_matches_its_list(floor):
    """A first view at 1,500 handhelds read each picker's next step on its own: 1,500 reads in
    one go on the serving loop. Now one read serves every device, and each says the bin and
    SKU of its list's first step not picked in full."""
    from server.board import board
    from server.people import auth

    store = floor.store
    _orders(store, 6)
    tokens = [
        t for _name, t in auth.create_devices(store, ["p-a", "p-b", "p-c"], "picker", "WH-EAST")
    ]
    clients = [connect(floor.app, floor.socketio, t) for t in tokens]
    settle()
    seen: list[str] = []
    sqlite = store.dialect == "sqlite"
    if sqlite:
        store.conn.set_trace_callback(seen.append)
    try:
        snap = board.snapshot(store)
    finally:
        if sqlite:
            store.conn.set_trace_callback(None)
    working = [d for d in snap["devices"] if d["pick_list"] is not None and d["role"] == "picker"]
    assert len(working) >= 3, snap["devices"]
    for d in working:
        list_id = int(d["pick_list"].split("-")[1])
        first = store.one(
            """SELECT l.code, s.sku, s.picked, s.qty FROM pick_steps s
               JOIN locations l ON l.id = s.location_id
               WHERE s.pick_list_id = ? AND s.picked < s.qty ORDER BY s.seq LIMIT 1""",
            (list_id,),
        )
        assert d["step"] == f"{first['code']} · {first['sku']} {first['picked']}/{first['qty']}"
    if sqlite:
        step_reads = [s for s in seen if "MIN(seq)" in s or "ORDER BY s.seq LIMIT 1" in s]
        assert len(step_reads) == 1, step_reads
    for c in clients:
        c.disconnect("/device")


@pytest.mark.sqlite_only("the boards' own connection: on PostgreSQL a build reads in one piece")
def test_a_board_build_lets_the_loop_poll_between_its_parts(floor, monkeypatch):
    """A first view at 1,500 handhelds and 60,000 open orders read for ~30 ms in one piece,
    holding every device link of the process; it now reads on a connection of its own and
    the loop polls (timers, sockets) between its parts, and still in one read."""
    from server.board import board

    _orders(floor.store, 3)
    ticks: list[float] = []
    at_part: dict[str, int] = {}

    def ticker() -> None:  # a timer: runs only when the loop polls
        while True:
            gevent.sleep(0.0005)
            ticks.append(time.perf_counter())

    def marked(name, real):
        def part(*args, **kwargs):
            at_part[name] = len(ticks)
            return real(*args, **kwargs)

        return part

    monkeypatch.setattr(board.columns, "page", marked("page", board.columns.page))
    monkeypatch.setattr(board, "_devices", marked("devices", board._devices))
    # inside the devices' part: their hour's scans, then their lists' next steps
    monkeypatch.setattr(board, "_scan_stats", marked("stats", board._scan_stats))
    monkeypatch.setattr(board, "_next_steps", marked("steps", board._next_steps))
    monkeypatch.setattr(hub, "encoded_in_parts", marked("encode", hub.encoded_in_parts))
    t = gevent.spawn(ticker)
    gevent.sleep(0.01)
    view = json.loads(floor.hub.board_first_view())
    t.kill()
    assert view["columns"]["queued"] == 3 and len(view["pick_lists"]) == 3
    # the ticker ran between the parts, and between the devices' reads
    order = ["page", "devices", "stats", "steps", "encode"]
    assert [at_part[p] for p in order] == sorted(at_part[p] for p in order), at_part
    assert at_part["page"] < at_part["devices"] < at_part["stats"] < at_part["steps"], at_part
    reads, _ = floor.hub._board_reads()
    assert reads.conn is not floor.store.conn


def test_a_first_view_read_while_an_update_started_is_not_kept_for_later_boards(floor, monkeypatch):
    """A build lets the loop run between its parts: an update that starts meanwhile waits
    for it, and the view it read is sent but not kept, or a board connecting after that
    update went out would get a view without its changes."""
    from server.board import board

    _orders(floor.store, 2)
    hub_ = floor.hub
    real = board.snapshot
    builds: list[int] = []

    def snapshot(*args, **kwargs):
        builds.append(1)
        if len(builds) == 1:  # an update starts while this one is being read
            gevent.spawn(hub_._send_board)
            gevent.sleep(0.01)
        return real(*args, **kwargs)

    monkeypatch.setattr(board, "snapshot", snapshot)
    first = json.loads(hub_.board_first_view())
    assert first["columns"]["queued"] == 2
    assert hub_._first_view is None  # not kept: the update that started is newer
    gevent.sleep(0.05)  # the update goes out
    json.loads(hub_.board_first_view())
    assert len(builds) == 2  # the next board's view was read again
    assert hub_.board_first_view() is hub_.board_first_view()  # and that one is kept
    assert len(builds) == 2
