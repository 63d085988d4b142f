"""The demo is the main job: it must pack every order that has stock and print one label each."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
SCANFLOOR = str(Path(sys.executable).parent / "scanfloor")  # the installed entry point


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
    assert set(orders) <= {"packed", "backordered", "cancelled"}, orders
    assert orders["packed"] + orders.get("backordered", 0) + orders["cancelled"] == 12
    assert orders.get("backordered", 0) >= 3  # the seed's last orders ask for what nobody has
    # Every order came in through the signed Shopify webhook; the shop cancelled one.
    assert figures["orders_from_shopify"] == 12 and figures["cancelled"] == ["#1045"]
    assert figures["backordered"] == ["#1050", "#1051", "#1052"]
    assert "#1045 cancelled by the customer (orders/cancelled)" in proc.stdout
    assert "#1041's webhook sent twice, applied once" in proc.stdout
    assert figures["labels_printed"] == orders["packed"] == figures["packages_confirmed"]
    assert figures["wrong_scans"] > 0 and figures["scans"] > 0
    assert figures["rtt_p50_ms"] is not None
    zpl = sorted((out / "labels").rglob("*.zpl"))
    assert len(zpl) == orders["packed"]
    assert "orders packed" in proc.stdout and "scan round trip" in proc.stdout
    # Pickers' links were cut mid-list; every scan still reached the server.
    assert figures["network_cuts_survived"] >= 1 and figures["scans_lost"] == 0
    assert "network cuts survived" in proc.stdout
    # The shop's receiver was down for a while; every status change of every order still
    # reached it, once, in order, checked against the orders' timelines over REST.
    hooks = figures["webhooks"]
    assert hooks["delivered"] == hooks["events"] > 12 * 2
    assert hooks["retried"] > 0 and hooks["answered_503"] > 0 and hooks["receiver_down_s"] > 0
    for what in ("lost", "not_queued", "unexpected", "out_of_order", "ids_differ", "dead"):
        assert hooks[what] == 0, (what, hooks)
    assert hooks["pending"] == 0 and hooks["bad_signatures"] == 0
    assert (
        f"webhooks delivered   {hooks['delivered']} ({hooks['retried']} retried after the "
        "shop's receiver was down), 0 lost"
    ) in proc.stdout
    followed = figures["followed"]
    assert followed["steps"] == ["received", "allocated", "picking", "picked", "packed"]
    assert f"one order            {followed['shop_number']} ({followed['order']}): " in proc.stdout
    assert "the shop was told each step: 5 signed webhooks, in order" in proc.stdout


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
