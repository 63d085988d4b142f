"""The demo is the main job: it must pack every order that has stock and print one label each."""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from scripts.demo import procs, run, seed, try_handheld
from scripts.demo import shopify as shop
from scripts.demo.customer_mail import SHOP_NAME, CustomerMail
from server.capture import orders
from server.config import EmailSettings
from server.notify import mail
from server.store import open_store

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.e2e
SCANFLOOR = str(Path(sys.executable).parent / "scanfloor")  # the installed entry point


@pytest.mark.timeout(300)  # the whole demo; on 2 cores beside 3 other test workers
def test_demo_packs_every_order_with_stock(tmp_path):
    out = tmp_path / "demo"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "scripts.demo",
            "--out",
            str(out),
            "--orders",
            "12",
            "--timeout",
            "120",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads((out / "summary.json").read_text())
    orders = figures["orders"]
    # Every order that had stock left the building and arrived, but the one refused at the door.
    assert set(orders) <= {"delivered", "returned", "backordered", "cancelled"}, orders
    # 12 from the shop and one transfer's order, shipped by the floor like any order.
    assert figures["packed"] + orders.get("backordered", 0) + orders["cancelled"] == 12 + 1
    assert orders.get("backordered", 0) >= 3  # the seed's last orders ask for what nobody has
    # Every order came in through the signed Shopify webhook; the shop cancelled one.
    assert figures["orders_from_shopify"] == 12 and figures["cancelled"] == ["#1045"]
    assert figures["backordered"] == ["#1050", "#1051", "#1052"]
    assert "#1045 cancelled by the customer (orders/cancelled)" in proc.stdout
    assert "#1041's webhook sent twice, applied once" in proc.stdout
    assert figures["labels_printed"] == figures["packed"] == figures["packages_confirmed"]
    assert figures["wrong_scans"] > 0 and figures["scans"] > 0
    assert figures["rtt_p50_ms"] is not None
    zpl = sorted((out / "labels").rglob("*.zpl"))
    assert len(zpl) == figures["packed"]
    # Each pack station weighed its packages on its (fake) scale; none was off.
    assert figures["packages_weighed"] == figures["packed"] and figures["packages_held"] == 0
    assert f"packages weighed     {figures['packed']}, 0 held for their weight" in proc.stdout
    # Shipped and delivered are counted from GET /api/stats: every packed order was handed
    # over at the dock and carried; one came back (refused), the rest were delivered.
    assert figures["handed_over_in_run"] and figures["carried_in_run"]
    assert figures["shipped"] == figures["packed"]
    assert figures["delivered"] == orders["delivered"] == figures["shipped"] - 1
    assert orders["returned"] == 1 and "exception" not in orders
    assert f"orders shipped       {figures['shipped']}\n" in proc.stdout
    assert f"orders delivered     {figures['delivered']}, 1 returned" in proc.stdout
    # The dock: close-outs onto manifests, loaded over the device link; one package was left
    # on the dock once (missing on its manifest, read back over REST) and the next truck took it.
    dock = figures["handover"]
    assert dock["error"] is None and dock["scans_refused"] == 0, dock
    assert dock["packages_loaded"] == figures["shipped"] and dock["manifests"] >= 2
    assert dock["missing_at_handover"] == 1
    left = dock["left_on_the_dock"]
    assert left["state_there"] == "missing"
    assert left["loaded_on_manifest"] > left["missing_on_manifest"]
    assert (
        f"missing at hand-over 1: {left['tracking']} ({left['order']}) on manifest "
        f"{left['missing_on_manifest']}, loaded on manifest {left['loaded_on_manifest']}"
    ) in proc.stdout
    assert dock["first_manifest_csv"].endswith("/api/carriers/local/manifests/1.csv")
    assert f"manifest             {dock['first_manifest_csv']}" in proc.stdout
    # The carrier: signed events for every parcel, all taken; one delayed then delivered,
    # one refused and returned.
    carrier = figures["carrier"]
    assert carrier["error"] is None and carrier["on_the_road"] == 0, carrier
    assert carrier["parcels"] == figures["shipped"]
    assert carrier["journeys"] == {"delivered": figures["delivered"], "returned": 1}
    assert set(carrier["events"]) == {"accepted"}
    assert carrier["events"]["accepted"] == 3 * carrier["parcels"] + 1  # + the delay
    assert len(carrier["delayed_then_delivered"]) == 1 and len(carrier["returned"]) == 1
    # Some orders came without coordinates: placed offline by ZIP code, one by its city
    # (its ZIP lost a digit), one to a made-up town not at all (it still ships).
    places = figures["addresses"]
    assert places == {
        "given": 8,
        "postcode": 2,
        "city": 1,
        "none": 1,
        "by_city": ["#1046"],
        "not_placed": [places["not_placed"][0]],
    }
    assert places["not_placed"][0].startswith("#1049 from WH-")
    assert "addresses placed     8 by the shop's coordinates, 2 by postcode, 1 by city (#1046)" in (
        proc.stdout
    )
    assert "4 orders came without latitude and longitude" in proc.stdout
    assert "orders packed" in proc.stdout and "scan round trip" in proc.stdout
    # Pickers' links were cut mid-list; every scan still reached the server.
    assert figures["network_cuts_survived"] >= 1 and figures["scans_lost"] == 0
    assert "network cuts survived" in proc.stdout
    # The shop's receiver was down for a while; every status change of every order still
    # reached it, once, in order, checked against the orders' timelines over REST.
    hooks = figures["webhooks"]
    assert hooks["delivered"] == hooks["events"] > 12 * 2
    assert hooks["other_events"] == 1  # the refused parcel's `return.received`
    assert hooks["retried"] > 0 and hooks["answered_503"] > 0 and hooks["receiver_down_s"] > 0
    for what in ("lost", "not_queued", "unexpected", "out_of_order", "ids_differ", "dead"):
        assert hooks[what] == 0, (what, hooks)
    assert hooks["pending"] == 0 and hooks["bad_signatures"] == 0
    assert (
        f"webhooks delivered   {hooks['delivered']} ({hooks['retried']} retried after the "
        "shop's receiver was down), 0 lost"
    ) in proc.stdout
    # The rest of the day: a count with a variance, recounted and approved on the board; the
    # refused parcel received at the dock and restocked; and every unit accounted for.
    day = figures["day"]
    assert day["errors"] == [] and day["count"]["outcome"] == "approved"
    assert day["count"]["counted"] == day["count"]["held"] + 1
    assert len(day["returns"]) == 1 and day["returns"][0]["restocked"] >= 1
    acct = day["accounting"]
    for sku in acct["skus"]:  # received = shipped + on hand + in transit + scrapped
        assert sku["received"] == (
            sku["shipped"] + sku["on_hand"] + sku["in_transit"] + sku["scrapped"]
        ), sku
    assert acct["holds"] and sum(s["found"] for s in acct["skus"]) == 1
    assert sum(s["returned"] for s in acct["skus"]) == day["returns"][0]["restocked"]
    assert "every unit accounted for" in proc.stdout
    # One transfer: planned over REST, shipped by the floor, received at the other warehouse's
    # dock on a handheld link; nothing left in transit. The forecast ran beside the floor.
    moves = figures["moves"]
    assert moves["errors"] == [], moves["errors"]
    tr = moves["transfer"]
    assert (tr["status"], tr["in_transit"], tr["from"] != tr["to"]) == ("received", 0, True)
    assert [(x["shipped"], x["received"], x["short"]) for x in tr["lines"]] == [
        (x["qty"], x["qty"], 0) for x in tr["lines"]
    ]
    assert tr["received_by"] == f"inbound-{tr['to'][3].lower()}"
    assert sum(s["in_transit"] for s in acct["skus"]) == 0
    assert f"  transfer             {tr['transfer']} ({tr['order']}, {tr['source']}): " in (
        proc.stdout
    )
    assert f"{tr['from']} → {tr['to']}, received: " in proc.stdout
    # A replenishment before a pick: the face that looked stocked was empty, the short pick's
    # units waited for an urgent move from reserve, a simulated handheld made it (reserve bin,
    # each unit, the face), and the held pick was picked; reserve's units were never shipped.
    # (Nearly always one move: a second comes only when the held pick goes to the WH-EAST
    # picker that neither reported the face empty nor refilled it; it reports it short too.)
    move = moves["replenishment"][0]
    assert (move["sku"], move["from"], move["to"]) == (seed.REPLEN_SKU, "E-R-01", "E-03-05-2")
    assert move["units"] == seed.FACE_MAX and move["urgent"], move
    assert move["by"].startswith("picker-e") and move["waited"] == ["#1046"], move
    assert move["then_picked"] and "#1046" not in figures["backordered"]
    assert (
        f"replenishment        {move['units']} {move['sku']} E-R-01 → E-03-05-2 by "
        f"{move['by']}, urgent"
    ) in proc.stdout
    assert "#1046 waited for it, then picked" in proc.stdout
    top = moves["forecast"]
    assert 0 < len(top) <= 5 and moves["forecast_s"] > 0
    qtys = [s["reorder_qty"] for s in top]
    assert qtys == sorted(qtys, reverse=True)  # reorders first, the largest first
    assert f"board: {moves['board_forecast']}" in proc.stdout
    line = f"{top[0]['sku']} {top[0]['warehouse']}: reorder point {top[0]['reorder_point']:g}"
    assert line in proc.stdout
    # The customers' mail went to the SMTP server the demo started: what it took is what the
    # server wrote down as sent, each as an .eml file: one per order shipped, out for
    # delivery, delivered, and the delay.
    mails = figures["mail"]
    assert mails["sent"] == mails["taken_by_smtp_server"] == mails["eml_files"]
    assert mails["sent"] == sum(mails["sent_by_kind"].values()) > 0
    assert mails["sent_by_kind"] == {  # the transfer's order has no e-mail address
        "shipped": figures["shipped"] - 1,
        "out_for_delivery": figures["shipped"] - 1,
        "delivered": figures["delivered"] - 1,
        "exception": 1,
        "return_received": 1,
    }
    assert set(mails["by_status"]) == {"sent"}, mails
    assert len(list((out / "mail").glob("*.eml"))) == mails["sent"]
    assert (
        f"e-mails sent         {mails['sent']} (to the local SMTP server at {mails['smtp_server']})"
    ) in proc.stdout
    # One order followed from the shop's signed webhook to the door, the shop and the
    # customer told at each step.
    followed = figures["followed"]
    floor_steps = ["received", "allocated", "picking", "picked", "packed", "shipped", "in_transit"]
    assert followed["steps"][:7] == floor_steps and followed["steps"][-1] == "delivered"
    assert followed["steps"][-2] == "out_for_delivery"
    assert f"one order            {followed['shop_number']} ({followed['order']}): " in proc.stdout
    n = len(followed["steps"])
    assert f"the shop was told each step: {n} signed webhooks, in order" in proc.stdout
    for step in followed["step_by_step"]:
        assert step["told"][0] == f"webhook order.{step['status']}", step
        mailed = step["status"] in ("shipped", "out_for_delivery", "delivered", "exception")
        assert len(step["told"]) == 1 + mailed, step
        if mailed:
            assert step["told"][1].startswith(f'e-mail "{SHOP_NAME}: ')
            assert f"order {followed['shop_number']}" in step["told"][1]
    assert "the customer was told each step: " in proc.stdout
    # The followed order's public tracking page, on the demo's server; the board's log-in.
    assert followed["tracking_url"].startswith("http://127.0.0.1:")
    assert "/track/" in followed["tracking_url"]
    assert f"tracking page        {followed['tracking_url']}" in proc.stdout
    assert "/board (log in as supervisor / " in proc.stdout


def test_the_demo_mail_stage_sends_what_the_server_records_to_its_smtp_server(tmp_path):
    """The stage on its own, with the real server: an order that ships (recorded as the dock
    hand-over will record it) mails its customer through the stage's SMTP server, and the
    stage counts it, saves it as .eml and says so for the order."""
    floor = run.Floor(out=tmp_path)
    rng = random.Random(3)
    secret = shop.new_secret()
    api_key, _ = run.seed_site(tmp_path / "data", rng, lambda _: None, secret)
    stage = CustomerMail()
    floor.stages = [stage]
    floor.port = procs.free_port()
    try:
        floor.server = procs.start_server(
            tmp_path / "data", floor.port, tmp_path / "logs" / "server.log", stage.env(floor)
        )
        floor.api.headers["Authorization"] = f"Bearer {api_key}"
        stage.start(floor, lambda _: None)
        payloads = seed.shopify_orders(rng, 2)
        floor.placed = shop.send_orders(shop.Shop(floor.base, secret, rng), payloads, lambda _: 0)
        first, second = floor.placed
        before = stage.figures(floor)
        assert before["sent"] == before["taken_by_smtp_server"] == 0
        mail.configure(EmailSettings(enabled=True))  # as in the server that records it
        store = open_store(tmp_path / "data" / "scanfloor.db")
        try:
            with store.write():
                orders.record(store, first.id, "shipped", "handed_over")
        finally:
            store.close()
            mail.configure(EmailSettings())
        stage.settle(floor, time.monotonic() + 20, lambda _: None)
        f = stage.figures(floor)
        assert f["sent"] == f["taken_by_smtp_server"] == f["eml_files"] == 1, f
        assert f["sent_by_kind"] == {"shipped": 1} and f["by_status"] == {"sent": 1}
        assert stage.lines(f)[0].startswith(
            f"  e-mails sent         1 (to the local SMTP server at 127.0.0.1:{stage.sink.port}): "
            "1 shipped; "
        )
        order = floor.order(first.id)
        assert stage.told(floor, first.id) == (
            f"the customer was told each step: 1 e-mail to {order['email']} (shipped)"
        )
        assert stage.told(floor, second.id).startswith("the customer got no e-mail yet")
        (eml,) = (tmp_path / "mail").glob("*.eml")
        assert eml.name == f"001-{first.id}.eml"
        msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
        assert msg["To"] == order["email"] == payloads[0]["email"]
        assert msg["Subject"] == f"{SHOP_NAME}: your order {first.shop_number} has shipped"
        text = msg.get_body(("plain",)).get_content()
        assert order["tracking_url"] in text
        assert order["tracking_url"].startswith(floor.base + "/track/")
        page = requests.get(order["tracking_url"], timeout=10)
        assert page.status_code == 200 and first.shop_number in page.text
    finally:
        floor.stop()


def test_the_handheld_to_try_connects_to_the_demo_server(tmp_path):
    """What `scanfloor demo --serve` prints under "Handheld:": a picker enrolled over REST
    with a config of its own (the demo's server, stdin:// scanner) that connects as written."""
    floor = run.Floor(out=tmp_path)
    api_key, _ = run.seed_site(tmp_path / "data", random.Random(5), lambda _: None)
    floor.port = procs.free_port()
    device = None
    try:
        floor.server = procs.start_server(
            tmp_path / "data", floor.port, tmp_path / "logs" / "server.log"
        )
        floor.api.headers["Authorization"] = f"Bearer {api_key}"
        config = try_handheld.enrol(floor)
        assert config == tmp_path / "devices" / "try-picker.toml"
        text = config.read_text()
        assert f'server = "{floor.base}"' in text and 'scanner = "stdin://"' in text
        program, flag, path = try_handheld.command(config).split()
        assert Path(program).name == "scanfloor-device" and Path(path) == config
        device = subprocess.Popen(
            [program if Path(program).is_absolute() else str(REPO / program), flag, path],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        seen = {}
        while time.monotonic() < deadline and not seen.get("connected"):
            devices = floor.api.get(f"{floor.base}/api/devices", timeout=10).json()["devices"]
            seen = next(d for d in devices if d["name"] == "try-picker")
            time.sleep(0.2)
        assert seen["connected"] and seen["role"] == "picker", seen
        assert seen["warehouse"] == seed.WAREHOUSES[0][0]
        assert device.poll() is None
    finally:
        if device is not None:
            procs.stop(device)
        floor.stop()


def _descendants(pid: int) -> set[int]:
    """Every living process below pid, from /proc (no psutil needed)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces, so read after the last ")".
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p}
        found |= kids
        todo += kids
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_scanfloor_demo_help_names_itself():
    proc = subprocess.run(
        [SCANFLOOR, "demo", "-h"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Usage: scanfloor demo" in proc.stdout and "--orders" in proc.stdout
    assert "python -m" not in proc.stdout


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_scanfloor_demo_stops_its_server_and_devices(tmp_path, sig):
    proc = subprocess.Popen(
        [SCANFLOOR, "demo", "--out", str(tmp_path / "demo")]
        + ["--orders", "12", "--timeout", "120", "--serve"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    children: set[int] = set()
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if "devices started" in line:
                break
        assert any("devices started" in x for x in seen), "".join(seen)
        children = _descendants(proc.pid)
        assert len(children) >= 7, children  # the server and 6 devices at least
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = [p for p in children if _alive(p)]
        assert not left, f"still running after {sig.name}: {left}\n{out}"
    finally:
        for pid in [proc.pid, *children]:  # only what this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
