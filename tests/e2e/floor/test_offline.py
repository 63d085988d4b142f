"""Proofs that a handheld never loses a scan: network cut, dead zone, SIGKILL, printer faults.

All real: the server and device processes, a serial scanner on a pty, the
network between them a loopback proxy the test cuts or turns into a black
hole, a Zebra-like printer on TCP. The worker reads the device's own screen.
"""

from __future__ import annotations

import os
import time

import pytest
import requests
import socketio
from dbkit import read_all
from floorkit import place
from handheld import Handheld, server_scans

from device.sim.netproxy import NetProxy
from device.sim.zpl_printer import ZplPrinterSim
from server.config import DeviceLinkSettings
from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]
# How long the link stays down. What the proof needs is an outage longer than every clock
# that runs while the link is gone: the server drops the device after ping_interval +
# ping_timeout (asserted below, before the link comes back), and the device's reconnect
# backoff (0.5, 1, 2, 4 s: device/client.py) reaches its 5 s cap. 15 s outlasts both twice
# over; SCANFLOOR_OUTAGE_SECONDS=60 runs the same proof with the long outage of old.
LINK = DeviceLinkSettings()
RECONNECT_BACKOFF_TO_CAP = 0.5 + 1 + 2 + 4 + 5
OUTAGE = float(os.environ.get("SCANFLOOR_OUTAGE_SECONDS", "15"))


@pytest.fixture
def floor(floor_store, floor_tokens, floor_settings, server_proc, tmp_path):
    """A picker's list of two steps (3 pens at E-01-01, 3 mugs at E-02-02) and a live server."""
    place(floor_store, "shop-1", [("SKU-A", 3), ("SKU-B", 3)])
    key = auth.create_api_key(floor_store, "t")
    base = server_proc(floor_settings.data_dir)
    port = int(base.rsplit(":", 1)[1])
    proxy = NetProxy(("127.0.0.1", port)).start()
    home = tmp_path / "device"
    home.mkdir()
    made: list[Handheld] = []

    def handheld(role: str = "picker", **kw) -> Handheld:
        name = f"{role}-e1"
        made.append(Handheld(home, name, proxy.url, floor_tokens[role], **kw))
        return made[-1]

    yield {
        "base": base,
        "headers": {"Authorization": f"Bearer {key}"},
        "proxy": proxy,
        "db": floor_settings.database,
        "handheld": handheld,
        "tokens": floor_tokens,
    }
    for h in made:
        h.stop()
    proxy.stop()
    for h in made:
        assert "Traceback" not in h.log.read_text(), h.log.read_text()[-3000:]


def pick_list(floor) -> dict:
    r = requests.get(f"{floor['base']}/api/pick-lists", headers=floor["headers"], timeout=5)
    (pl,) = r.json()["pick_lists"]
    r = requests.get(
        f"{floor['base']}/api/pick-lists/{pl['id']}", headers=floor["headers"], timeout=5
    )
    return r.json()


def device_connected(floor, name: str) -> bool:
    """Whether the server holds a link for the device now (GET /api/devices)."""
    r = requests.get(f"{floor['base']}/api/devices", headers=floor["headers"], timeout=5)
    (device,) = [d for d in r.json()["devices"] if d["name"] == name]
    return device["connected"]


def assert_applied_once_in_order(floor, h: Handheld) -> list[dict]:
    """Every journal scan is in the server's audit exactly once, in journal order."""
    journal = h.journal()
    audit = server_scans(floor["db"], h.name)
    assert all(row["acked_at"] for row in journal), "a scan was never acknowledged"
    assert [r["msg_id"] for r in audit] == [j["msg_id"] for j in journal if j["kind"] == "scan"]
    assert [r["device_seq"] for r in audit] == sorted(r["device_seq"] for r in audit)
    by_id = {j["msg_id"]: j for j in journal}
    for row in audit:
        j = by_id[row["msg_id"]]
        assert row["barcode"] == j["barcode"] and row["scanned_at"] == j["at"]
        assert row["offline"] == (j["local_code"] is not None)
    return audit


def steps_done(floor) -> None:
    pl = pick_list(floor)
    assert pl["status"] == "picked", pl
    assert [(s["picked"], s["qty"]) for s in pl["steps"]] == [(3, 3), (3, 3)]


@pytest.mark.parametrize("fault", ["cut", "blackhole"])
def test_worker_picks_through_a_network_outage(floor, fault):
    h = floor["handheld"]().start()
    h.wait_for(lambda line: "SCAN AN EMPTY TOTE" in line.instruction, 30, what="tote")
    pl = pick_list(floor)
    (pens, mugs) = pl["steps"]
    h.scan("TOTE-0042")
    h.scan(pens["location_barcode"])
    pen = h.scan("0012345678905")
    assert pen.link == "online" and pen.waiting == 0

    proxy = floor["proxy"]
    mark = len(h.lines())
    t_fault = time.monotonic()
    proxy.set_mode(fault)
    # The next scan goes out into the fault; the device answers it itself within offline_after.
    line = h.scan("0012345678905", timeout=4)
    assert "Picked 2 of 3" in line.text
    gone = h.wait_for(lambda x: x.link == "offline", 10, mark, what="offline")
    noticed = time.monotonic() - t_fault
    assert noticed <= 5.0, f"{fault}: dead link noticed after {noticed:.1f}s"
    assert gone.link == "offline"

    # The worker keeps going on the device's own guidance.
    h.scan("0012345678905")  # pens done: the screen moves on to the mugs
    h.wait_for(lambda x: x.instruction == f"GO TO {mugs['location']}".upper(), what="go to mugs")
    h.scan("LE-01-02", result="ERROR")  # wrong bin: refused locally, red
    h.scan(mugs["location_barcode"])
    h.scan("4006381333931")
    h.scan("4006381333931")
    done = h.scan("4006381333931")
    assert "LIST DONE" in done.instruction and done.link == "offline"
    assert done.waiting == 7, done.text  # "offline — 7 scans waiting"

    # Long enough that the server has dropped the device, so the replay goes to a new session.
    needed = max(2 * (LINK.ping_interval + LINK.ping_timeout), RECONNECT_BACKOFF_TO_CAP)
    assert needed <= OUTAGE, f"an outage of {OUTAGE} s proves nothing past {needed} s"
    deadline = t_fault + OUTAGE
    while device_connected(floor, h.name):
        assert time.monotonic() < deadline, f"{fault}: the server still held the device"
        time.sleep(0.1)
    dropped = time.monotonic() - t_fault
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - t_fault)))
    mark = len(h.lines())
    proxy.restore()
    t_back = time.monotonic()
    back = h.wait_for(lambda x: x.link == "online" and not x.waiting, 30, mark, what="caught up")
    print(
        f"{fault}: noticed in {noticed:.1f} s, dropped by the server in {dropped:.1f} s, "
        f"outage {t_back - t_fault:.0f} s, "
        f"7 offline scans replayed {time.monotonic() - t_back:.1f} s after the link returned"
    )
    assert time.monotonic() - t_fault >= OUTAGE
    assert "Changed while offline" not in "".join(x.text for x in h.lines())
    assert back.link == "online"
    steps_done(floor)
    audit = assert_applied_once_in_order(floor, h)
    assert len(audit) == 10 and sum(r["offline"] for r in audit) == 7
    assert [r["code"] for r in audit if r["offline"]] == [
        *["item_ok", "item_ok", "wrong_location", "location_ok", "item_ok", "item_ok"],
        "list_done",
    ]


@pytest.mark.e2e_postgresql
def test_device_killed_mid_list_resumes_where_it_was(floor):
    h = floor["handheld"]().start()
    h.wait_for(lambda line: "SCAN AN EMPTY TOTE" in line.instruction, 30, what="tote")
    (pens, mugs) = pick_list(floor)["steps"]
    h.scan("TOTE-0042")
    h.scan(pens["location_barcode"])
    # Killed with a scan on disk but (most likely) not yet answered.
    os.write(h.master, b"0012345678905\r")
    deadline = time.monotonic() + 10
    while len(h.journal()) < 3:
        assert time.monotonic() < deadline, "the scan never reached the journal"
        time.sleep(0.005)
    h.kill()
    mark = len(h.lines())
    h.start()
    h.wait_for(lambda x: x.link == "online" and not x.waiting, 15, mark, what="resent")
    h.wait_for(lambda x: x.instruction.startswith("PICK 2 × RED PEN"), 5, mark, what="2 pens")

    # Now offline: two scans judged on the device, then killed; it boots with no server.
    mark = len(h.lines())
    floor["proxy"].cut()
    h.wait_for(lambda x: x.link == "offline", 10, mark, what="offline")
    h.scan("0012345678905")
    h.scan("0012345678905")
    h.scan(mugs["location_barcode"])
    h.kill()
    mark = len(h.lines())
    h.start()
    resumed = h.wait_for(lambda x: x.instruction.startswith("PICK 3 × BLUE MUG"), after=mark)
    assert resumed.link in ("connecting", "offline") and resumed.waiting == 3
    h.wait_for(lambda x: x.link == "offline" and x.waiting == 3, 10, mark, what="offline")
    for _ in range(3):
        h.scan("4006381333931")
    mark = len(h.lines())
    floor["proxy"].restore()  # the device's first connect has been retrying all along
    h.wait_for(lambda x: x.link == "online" and not x.waiting, 30, mark, what="caught up")
    steps_done(floor)
    audit = assert_applied_once_in_order(floor, h)
    assert len(audit) == 9 and sum(r["ok"] for r in audit) == 9


def test_a_slow_link_keeps_the_verdict_the_worker_saw_in_the_audit(floor):
    """0.6 s each way: every answer comes after the device's own verdict (offline_after 1 s)."""
    h = floor["handheld"]().start()
    h.wait_for(lambda line: "SCAN AN EMPTY TOTE" in line.instruction, 30, what="tote")
    (pens, _) = pick_list(floor)["steps"]
    floor["proxy"].set_delay(0.6)
    h.scan("TOTE-0042")
    h.scan("LE-09-09", result="ERROR")  # a wrong bin: the worker hears it at once, red
    h.scan(pens["location_barcode"])
    h.scan("0012345678905")
    mark = len(h.lines())
    h.wait_for(lambda x: x.link == "online" and not x.waiting, 30, mark, what="caught up")
    floor["proxy"].set_delay(0)
    audit = assert_applied_once_in_order(floor, h)
    assert [(r["offline"], r["local_ok"], r["local_code"], r["code"]) for r in audit] == [
        (1, 1, "tote_ok", "tote_ok"),
        # LE-09-09 is no bin of this site: the device, judging alone, knows only its list.
        (1, 0, "wrong_location", "unknown_barcode"),
        (1, 1, "location_ok", "location_ok"),
        (1, 1, "item_ok", "item_ok"),
    ]
    assert "Changed while offline" not in "".join(x.text for x in h.lines())


def pick_everything(base: str, token: str) -> None:
    """A picker (a bare Socket.IO client) picks its list by following each reply's screen."""
    client = socketio.Client(reconnection=False)
    states: list[dict] = []
    client.on("state", lambda ev: states.append(ev["state"]), namespace=NS)
    client.connect(base, namespaces=[NS], auth={"token": token}, transports=["websocket"])
    deadline = time.monotonic() + 10
    while not states and time.monotonic() < deadline:
        time.sleep(0.02)
    state, n = states[-1], 0
    while state["screen"] != "idle":
        barcode = "TOTE-0077" if state["screen"] == "pick_tote" else state["expect"]["barcodes"][0]
        n += 1
        r = client.call("scan", {"id": f"pk-{n}", "barcode": barcode}, namespace=NS, timeout=5)
        assert r["ok"], r
        state = r["state"]
    client.disconnect()


def test_labels_print_exactly_once_through_printer_faults(floor, tmp_path):
    base, headers = floor["base"], floor["headers"]
    pick_everything(base, floor["tokens"]["picker"])
    printer = ZplPrinterSim(out_dir=tmp_path / "labels").start()
    printer.refuse_connections = True  # switched off
    try:
        h = floor["handheld"]("packer", printer=printer.url).start()
        h.wait_for(lambda x: x.link == "online" and "SCAN A TOTE" in x.instruction, 30)
        h.scan("TOTE-0077")
        for code in ["0012345678905"] * 3 + ["4006381333931"] * 3:
            h.scan(code)

        def stats() -> dict:
            return requests.get(f"{base}/api/stats", headers=headers, timeout=5).json()

        h.wait_for(lambda x: "printer" in x.text and "offline" in x.text, what="printer off")
        deadline = time.monotonic() + 15
        while stats()["print_failures"] < 1:
            assert time.monotonic() < deadline, "print failure never reached the server"
            time.sleep(0.1)
        printer.refuse_connections = False
        printer.paper_out = True
        h.wait_for(lambda x: "out of" in x.text.lower() and "printer" in x.text, 20, what="paper")
        time.sleep(2)
        assert printer.labels == []
        printer.paper_out = False
        (label,) = printer.wait_for_labels(1, timeout=20)
        h.wait_for(lambda x: "[printer:" not in x.text, 10, what="printer fine")
        time.sleep(6)  # longer than the retry backoff: a second copy would have come by now
        assert len(printer.labels) == 1
        (job,) = read_all(
            floor["db"],
            "SELECT j.status, j.attempts, p.tracking FROM print_jobs j "
            "JOIN packages p ON p.id = j.package_id",
        )
        status, attempts, tracking = job["status"], job["attempts"], job["tracking"]
        assert status == "printed" and attempts >= 3 and tracking.encode() in label
        print(f"label printed once after {attempts - 1} failed attempts")
        assert stats()["labels_printed"] == 1 and stats()["print_failures"] == 0
        h.scan(tracking)
        h.wait_for(lambda x: "SCAN A TOTE" in x.instruction or "NO TOTES" in x.instruction)
    finally:
        printer.stop()
