"""The hot path at scale: per-device work only on a connect, hand-out from planned carts, board deltas."""

from __future__ import annotations

import time

import gevent
import pytest
from floorkit import board_client, connect, emit, first_view, place, plan, scan, settle, states

from server.board import board
from server.floor import planning, screens
from server.people import auth
from server.realtime import hub as hubs
from server.store import open_store
from shared.protocol import dump


def _id(store, token: str) -> int:
    return auth.device_for_token(store, token)["id"]


def _events(store, device_id: int) -> int:
    return store.one("SELECT out_seq FROM devices WHERE id = ?", (device_id,))["out_seq"]


def test_a_connect_hands_work_to_that_picker_only(floor):
    app, socketio, store, tokens = floor
    others = auth.create_devices(store, ["p2", "p3"], "picker", "WH-EAST")
    for _name, token in others:  # two idle pickers already on the floor, no work yet
        connect(app, socketio, token)
    before = {name: _events(store, _id(store, t)) for name, t in others}
    place(store, "o1", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    assert states(picker)[-1]["state"]["screen"] == "pick_tote"
    # Nobody else was offered anything, or even sent a screen, by this connect.
    assert {name: _events(store, _id(store, t)) for name, t in others} == before


def test_the_reply_screen_is_the_stored_screen_after_every_scan(floor):
    """The picker's reply is drawn from the list in memory; it must equal a fresh read."""
    app, socketio, store, tokens = floor
    place(store, "a", [("SKU-B", 2)])
    place(store, "b", [("SKU-B", 1), ("SKU-A", 1)])
    place(store, "c", [("SKU-A", 1)])
    plan(store)
    picker = connect(app, socketio, tokens["picker"])
    did = _id(store, tokens["picker"])
    state = states(picker)[-1]["state"]
    assert len(state["orders"]) == 3
    n, totes, wrong = 0, iter(f"TOTE-{k}" for k in range(1, 9)), iter(["NOPE", "Z-99-99", "X"])
    while state["screen"] != "idle":
        n += 1
        if n % 4 == 0:  # wrong scans on the way: the screen must not move
            reply = scan(picker, next(wrong, "NOPE"), f"w{n}")
            assert not reply["ok"], (state["screen"], reply)
            assert reply["state"] == dump(screens.current_state(store, did))
        barcode = next(totes) if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        reply = scan(picker, barcode, f"s{n}")
        assert reply["ok"], reply
        assert reply["state"] == dump(screens.current_state(store, did)), reply["code"]
        state = reply["state"]
    assert reply["code"] == "list_done"


def test_hand_out_takes_the_planned_cart_or_a_fresh_list_and_never_plans(floor):
    app, socketio, store, tokens = floor
    a = place(store, "a", [("SKU-B", 1)])
    b = place(store, "b", [("SKU-B", 1)])
    did = _id(store, tokens["picker"])
    with store.write():  # planning is behind: the head of the queue goes alone
        first = planning.next_list(store, did, "WH-EAST")
    assert store.one("SELECT COUNT(*) AS n FROM pick_lists")["n"] == 2
    assert [r["order_id"] for r in store.all(
        "SELECT order_id FROM pick_list_totes WHERE pick_list_id = ?", (first,)
    )] == [a]  # fmt: skip
    assert plan(store) == 1  # one picker of this kind: one cart planned, both orders on it
    with store.write():
        cart = planning.next_list(store, did, "WH-EAST")
    assert (
        store.one("SELECT COUNT(*) AS n FROM pick_list_totes WHERE pick_list_id = ?", (cart,))["n"]
        == 2
    )
    assert plan(store) == 0  # the cart waits for its picker: nothing more to plan
    # An urgent order that arrives after planning goes first, alone.
    rush = place(store, "rush", [("SKU-A", 1)], priority=9)
    with store.write():
        urgent = planning.next_list(store, did, "WH-EAST")
    assert (
        store.one("SELECT order_id FROM pick_list_totes WHERE pick_list_id = ?", (urgent,))[
            "order_id"
        ]
        == rush
    )
    assert b  # b rode on the planned cart


def test_planning_keeps_a_cart_per_picker_of_each_kind(floor):
    app, socketio, store, tokens = floor
    auth.create_devices(store, ["p2", "p3"], "picker", "WH-EAST")  # three 6-tote pickers
    auth.create_device(store, "solo", "picker", "WH-EAST", cart_totes=1)
    for i in range(15):  # 10 of SKU-B and 5 of SKU-A are in stock: 15 one-unit orders
        place(store, f"o{i}", [("SKU-B" if i < 10 else "SKU-A", 1)])
    assert plan(store) == 4
    kinds = store.all(
        "SELECT planned, COUNT(*) AS n FROM pick_lists WHERE planned IS NOT NULL GROUP BY planned"
    )
    assert {r["planned"]: r["n"] for r in kinds} == {"6/": 3, "1/": 1}


def test_nothing_is_built_for_the_board_while_no_board_is_open(floor, monkeypatch):
    app, socketio, store, tokens = floor
    built = []
    monkeypatch.setattr(board, "snapshot", lambda s: built.append("snapshot") or {})
    monkeypatch.setattr(board, "delta", lambda *a: built.append("delta") or {})
    place(store, "a", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    scan(picker, "TOTE-1", "1")
    floor.hub.offer_work("WH-EAST")
    settle()
    assert built == []


def _updates(viewer) -> list[dict]:
    """What the board was sent, less the keep-alives a loaded machine lets in meanwhile."""
    return [e for e in viewer.get_received("/board") if e["args"][0].keys() != {"at"}]


def test_a_board_gets_only_the_rows_a_scan_touched(floor):
    app, socketio, store, tokens = floor
    place(store, "a", [("SKU-B", 2)])
    place(store, "b", [("SKU-A", 1)])
    auth.create_device(store, "idle-packer", "packer", "WH-WEST")
    viewer = board_client(app, socketio)
    first_view(viewer)
    first = _updates(viewer)
    assert [e["name"] for e in first] == ["snapshot"]
    assert len(first[0]["args"][0]["devices"]) == 3
    picker = connect(app, socketio, tokens["picker"])
    did = _id(store, tokens["picker"])
    viewer.get_received("/board")
    scan(picker, "TOTE-1", "1")
    scan(picker, "WRONG", "2")
    floor.hub._send_board()  # what the throttle timer does a moment later
    got = _updates(viewer)
    assert [e["name"] for e in got] == ["delta"]
    delta = got[0]["args"][0]
    assert [d["name"] for d in delta["devices"]] == ["picker-e1"]  # not every device
    assert delta["devices"][0]["scans"] == 2 and delta["devices"][0]["wrong_scans"] == 1
    listed = store.one("SELECT id FROM pick_lists WHERE device_id = ?", (did,))["id"]
    assert [p["id"] for p in delta["pick_lists"]] == [listed]
    assert delta["pick_lists"][0]["tote"] == "TOTE-1"


def test_a_board_update_sent_without_the_queue_is_followed_by_one_with_it(floor):
    """The counters and the queue go at most every 2 s: a change that fell within 2 s of the
    last ones (a count approved on the board) gets them in a later update within about 2 s,
    not at the 10 s quiet refresh."""
    app, socketio, store, tokens = floor
    viewer = board_client(app, socketio)
    settle()
    hub = floor.hub
    hub._counts_at = gevent.get_hub().loop.now()  # the counters just went out
    hub.board_changed(devices=[_id(store, tokens["picker"])])
    hub._send_board()
    sent = [e["args"][0] for e in _updates(viewer)]
    assert sent and "exceptions" not in sent[-1] and "counts" not in sent[-1]
    deadline = time.monotonic() + 4
    later: list[dict] = []
    while not any("exceptions" in u for u in later) and time.monotonic() < deadline:
        gevent.sleep(0.1)
        later += [e["args"][0] for e in _updates(viewer)]
    assert any("exceptions" in u and "counts" in u for u in later), later


def test_a_board_update_carries_at_most_so_many_rows_and_the_rest_follow(floor, monkeypatch):
    """The sign-in storm touches every device at once: an update takes BOARD_DELTA_ROWS of
    them and the next update the rest, so no one update holds the loop for the whole floor."""
    app, socketio, store, tokens = floor
    monkeypatch.setattr(hubs, "BOARD_DELTA_ROWS", 2)
    made = auth.create_devices(store, [f"wave-{n}" for n in range(5)], "picker", "WH-EAST")
    viewer = board_client(app, socketio)
    first_view(viewer)
    viewer.get_received("/board")
    ids = [_id(store, token) for _name, token in made]
    floor.hub.board_changed(devices=ids)
    floor.hub._send_board()
    first = [d["id"] for e in _updates(viewer) for d in e["args"][0].get("devices", [])]
    assert first == ids[:2]
    assert floor.hub._board_pending  # the other three are due in the next update
    for _ in range(2):
        floor.hub._send_board()
    settle()  # and whatever the hub's own timer sends meanwhile
    later = [[d["id"] for d in e["args"][0].get("devices", [])] for e in _updates(viewer)]
    assert all(len(rows) <= 2 for rows in later), later
    assert sorted(sum(later, [])) == ids[2:]  # each once, none left behind
    assert not floor.hub._board_pending


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_bulk_enrolment_prints_every_token_once(floor_settings, floor_store, fmt):
    from click.testing import CliRunner

    from server.cli.main import main

    args = ["device", "add", "--count", "12", "--prefix", "fleet-p", "--role", "picker"]
    args += ["--warehouse", "WH-EAST", "--format", fmt, "--data-dir", str(floor_settings.data_dir)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    if fmt == "json":
        import json

        rows = json.loads(result.output)
    else:
        lines = result.output.strip().splitlines()
        assert lines[0] == "name,token,role"
        rows = [
            dict(zip(("name", "token", "role"), ln.split(","), strict=True)) for ln in lines[1:]
        ]
    assert [r["name"] for r in rows] == [f"fleet-p{n:03d}" for n in range(1, 13)]
    assert all(auth.device_for_token(floor_store, r["token"])["name"] == r["name"] for r in rows)
    again = CliRunner().invoke(main, args)  # the same names again: refused whole
    assert again.exit_code != 0 and "exists already" in again.output


def test_bulk_enrolment_over_rest(client, headers, catalogue, store):
    body = {"count": 3, "prefix": "hh-", "role": "packer", "warehouse": "WH-EAST"}
    r = client.post("/api/devices", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    made = r.get_json()["devices"]
    assert [d["name"] for d in made] == ["hh-001", "hh-002", "hh-003"]
    assert auth.device_for_token(store, made[2]["token"])["role"] == "packer"
    r = client.post("/api/devices", json={**body, "start": 3}, headers=headers)
    assert r.status_code == 409 and store.one("SELECT COUNT(*) AS n FROM devices")["n"] == 3
    for bad in (
        {**body, "name": "x"},  # name and count
        {k: v for k, v in body.items() if k != "prefix"},  # count without prefix
        {**body, "count": 0},
        {**body, "warehouse": "NOWHERE"},
    ):
        r = client.post("/api/devices", json=bad, headers=headers)
        assert r.status_code == 422, (bad, r.get_json())
    assert store.one("SELECT COUNT(*) AS n FROM devices")["n"] == 3
    r = client.post("/api/devices", json=body)  # no key
    assert r.status_code == 401


def test_a_change_behind_the_pickers_back_shows_on_its_next_scan(floor):
    """The picker's screen is kept between scans; any change to its list, by any process, redraws it."""
    app, socketio, store, tokens = floor
    place(store, "a", [("SKU-B", 2)])
    picker = connect(app, socketio, tokens["picker"])
    state = scan(picker, "TOTE-1", "1")["state"]
    assert state["step"]["product_name"] == "Red pen" and state["step"]["qty"] == 2
    other = open_store(store.url)  # another process's connection: no in-memory hint at all
    try:
        with other.write():
            other.execute("UPDATE products SET name = 'Blue pen' WHERE sku = 'SKU-B'")
        assert scan(picker, "WRONG-1", "2")["state"]["step"]["product_name"] == "Blue pen"
        with other.write():
            other.execute("UPDATE pick_steps SET qty = 1")
        assert scan(picker, "WRONG-2", "3")["state"]["step"]["qty"] == 1
        with other.write():
            other.execute("INSERT INTO product_barcodes (sku, barcode) VALUES ('SKU-B', 'PEN-2')")
        state = scan(picker, state["expect"]["barcodes"][0], "4")["state"]  # the bin
        assert "PEN-2" in state["expect"]["barcodes"]
    finally:
        other.close()


def test_the_planner_keeps_a_quarter_of_the_pickers_worth_of_carts(floor):
    app, socketio, store, tokens = floor
    auth.create_devices(store, [f"p{i}" for i in range(7)], "picker", "WH-EAST")  # 8 in all
    for i in range(15):
        place(store, f"o{i}", [("SKU-B" if i < 10 else "SKU-A", 1)])
    assert planning.plan_ahead(store, "WH-EAST", budget=100) == 2  # what the server keeps
    assert planning.plan_ahead(store, "WH-EAST", budget=100) == 0
    assert plan(store) == 1  # one per picker asked: the 3 orders left make one more cart
    assert plan(store) == 0  # and no fresh list is left


def test_the_first_screen_holds_the_work_and_a_logged_out_picker_gets_none(floor):
    app, socketio, store, tokens = floor
    place(store, "a", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    (first,) = states(picker)  # one event: "Connected" with the list already on it
    assert first["state"]["screen"] == "pick_tote" and "new pick list" in first["message"]
    did = _id(store, tokens["picker"])
    list_id = first["state"]["pick_list_id"]
    assert emit(picker, "action", {"id": "out", "action": "logout"})["ok"]
    picker.disconnect(namespace="/device")
    place(store, "b", [("SKU-B", 1)])
    again = connect(app, socketio, tokens["picker"])
    assert states(again)[-1]["state"]["screen"] == "idle"  # logged out: offered nothing
    assert (
        store.one(
            "SELECT COUNT(*) AS n FROM pick_lists WHERE device_id = ? AND status = 'assigned'",
            (did,),
        )["n"]
        == 0
    )
    assert list_id  # the first list went back to the queue at log-out


def _vm_steps_of_connect(floor, name: str) -> int:
    """SQLite's virtual-machine steps (in tens) that one picker's connect runs, its hand-out
    and first screen included: what it reads and writes, whatever the plans."""
    app, socketio, store, _tokens = floor
    token = auth.create_device(store, name, "picker", "WH-EAST", cart_totes=1)
    steps = [0]

    def count() -> int:
        steps[0] += 1
        return 0  # go on

    store.conn.set_progress_handler(count, 10)
    try:
        picker = connect(app, socketio, token)
    finally:
        store.conn.set_progress_handler(None, 0)
    assert states(picker)[-1]["state"]["screen"] == "pick_tote"  # it was handed a list
    return steps[0]


@pytest.mark.sqlite_only("counts SQLite's virtual-machine steps (its progress handler)")
def test_a_connect_costs_the_same_with_20_times_the_open_orders(floor):
    """Issue 14: at 60,000 open orders a sign-in storm stalled the loop for seconds. The
    hand-out at each connect read "the most urgent list given back" through the board's
    index, walking every open list. A connect must not read more as the queue grows."""
    from scripts.load.boardsite import add_open_orders

    app, socketio, store, tokens = floor
    store.execute("UPDATE stock SET on_hand = 100000")  # deep enough for the bulk orders
    add_open_orders(store.path, 100, "WH-EAST")
    small = _vm_steps_of_connect(floor, "p-small")
    store.execute("UPDATE orders SET external_id = 'A' || external_id WHERE body_hash = 'bulk'")
    add_open_orders(store.path, 1_900, "WH-EAST")
    large = _vm_steps_of_connect(floor, "p-large")
    assert store.one("SELECT COUNT(*) AS n FROM pick_lists WHERE status = 'open'")["n"] >= 1_990
    # The same work either way, but for B-tree depth (about 80 against 90 tens of steps;
    # the board's index walked to the end made it 1,500 more).
    assert large <= small * 1.3, (small, large)


def _pick_one(app, socketio, store, token: str, order: str, tote: str) -> None:
    """A picker takes and finishes a one-item list: its tote then waits for packing."""
    place(store, order, [("SKU-B", 1)])
    picker = connect(app, socketio, token)
    state = states(picker)[-1]["state"]
    n = 0
    while state["screen"] != "idle":
        n += 1
        barcode = tote if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        reply = scan(picker, barcode, f"{order}-{n}")
        assert reply["ok"], reply
        state = reply["state"]
    picker.disconnect(namespace="/device")


def test_idle_pack_stations_are_sent_their_screen_only_when_it_changes(floor):
    """Every finished list asks for the idle stations' screen; one that draws the same screen
    sends nothing (150 stations x a list a second was most of a big floor's server work)."""
    app, socketio, store, tokens = floor
    ((_, second),) = auth.create_devices(store, ["packer-e2"], "packer", "WH-EAST")
    packers = [connect(app, socketio, t) for t in (tokens["packer"], second)]
    ids = [_id(store, t) for t in (tokens["packer"], second)]
    assert all(states(p)[-1]["state"]["screen"] == "pack_start" for p in packers)
    before = [_events(store, i) for i in ids]
    _pick_one(app, socketio, store, tokens["picker"], "o1", "TOTE-1")
    settle()
    # The tote now waits: both stations are told, and list it.
    assert [_events(store, i) for i in ids] == [b + 1 for b in before]
    assert all(states(p)[-1]["state"]["expect"]["barcodes"] == ["TOTE-1"] for p in packers)
    # Asked again with nothing changed: nothing is sent.
    with store.write():
        assert screens.refresh_idle_packers(store, "WH-EAST") == []
    assert [_events(store, i) for i in ids] == [b + 1 for b in before]
    # A station that connects now is drawn the same screen; the next change reaches all three.
    ((_, third),) = auth.create_devices(store, ["packer-e3"], "packer", "WH-EAST")
    late = connect(app, socketio, third)
    assert states(late)[-1]["state"]["expect"]["barcodes"] == ["TOTE-1"]
    _pick_one(app, socketio, store, tokens["picker"], "o2", "TOTE-2")
    settle()
    for p in [*packers, late]:
        assert states(p)[-1]["state"]["expect"]["barcodes"] == ["TOTE-1", "TOTE-2"]


def test_board_updates_wait_longer_while_the_loop_is_busy_and_not_when_only_late(floor):
    """An update that woke late while the serving thread was busy on the CPU (the sign-in
    storm) makes the next one wait BOARD_BUSY_INTERVAL; one that woke on time brings the pace
    back to BOARD_MIN_INTERVAL; late with the thread idle (the machine busy with other
    processes, not the loop) does not slow the board."""
    app, socketio, store, tokens = floor
    hub = floor.hub
    board_client(app, socketio)
    settle()
    picker = connect(app, socketio, tokens["picker"])
    loop = gevent.get_hub().loop
    device = _id(store, tokens["picker"])

    def touch_and_send(late: float, busy_share: float) -> None:
        """An update due `late` ago, the serving thread `busy_share` on the CPU for the 0.2 s
        since the last one (set as fact: a loaded test machine would make a measured share
        anything)."""
        hub.board_changed(devices=[device])
        assert hub._board_pending
        loop.update_now()
        hub._board_cpu_mark = (loop.now() - 0.2, time.thread_time() - busy_share * 0.2)
        hub._board_due = loop.now() - late  # the timer woke `late` after it was due
        hub._send_board()

    touch_and_send(0.2, busy_share=0.9)
    assert hub._board_interval == hubs.BOARD_BUSY_INTERVAL
    hub.board_changed(devices=[device])
    assert hub._board_due == pytest.approx(loop.now() + hubs.BOARD_BUSY_INTERVAL, abs=0.05)
    hub._board_due = loop.now()  # on time
    hub._send_board()
    assert hub._board_interval == hubs.BOARD_MIN_INTERVAL
    touch_and_send(0.2, busy_share=0.1)
    assert hub._board_interval == hubs.BOARD_MIN_INTERVAL
    picker.disconnect("/device")
