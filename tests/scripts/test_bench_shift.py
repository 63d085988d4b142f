"""`scripts/bench_shift.py` at a tiny size: a whole shift runs through the real processes and
its accounting is whole; the accounting itself catches what goes missing or comes twice."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from scripts.load import shiftcount

REPO = Path(__file__).resolve().parents[2]
# About 16 s on a quiet 2-core box; 60-120 s where the box is shared at load 20-30.
# Both tests on one xdist worker: the module's one tiny shift serves both (under `--dist
# loadgroup` each worker that got one of them ran a shift of its own).
pytestmark = [pytest.mark.timeout(300), pytest.mark.xdist_group("bench-shift")]


@pytest.fixture(scope="module")
def shift(tmp_path_factory) -> tuple[dict, Path]:
    """One tiny shift (30 orders, 3 pickers, 1 pack station); its figures and its database."""
    out = tmp_path_factory.mktemp("shift")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "bench_shift.py"), "--orders", "30",
         "--pickers", "3", "--packers", "1", "--every", "2", "--timeout", "200",
         "--settle", "60", "--out", str(out), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        stdout, stderr = proc.communicate(timeout=280)
    finally:  # timed out or interrupted: SIGTERM, so it stops its server, worker and fleet
        if proc.poll() is None:
            proc.terminate()
            proc.communicate(timeout=60)
    assert proc.returncode == 0, stdout[-3000:] + stderr[-3000:]
    figures = json.loads(stdout)
    figures["took_s"] = time.monotonic() - started
    return figures, out / "data" / "scanfloor.db"


def test_a_tiny_shift_accounts_for_every_order_unit_webhook_and_mail(shift):
    f, _ = shift
    assert f["problems"] == [], f["problems"]
    a = f["accounts"]
    assert a["orders"] == {"sent": 30, "taken": 30, "final": {"delivered": 30}}
    u = a["units"]
    assert u["ordered"] == u["picked"] == u["packed"] == u["left_stock"] > 30
    assert u["packages"] == 30
    w = a["webhooks"]
    # received, allocated, picking, picked, packing, packed, shipped, in transit, out for
    # delivery, delivered: at least seven status changes per order, each delivered once.
    assert w["status_changes"] == w["delivered"] == w["taken_by_receiver"] >= 30 * 7
    assert w["duplicates"] == 0
    m = a["mails"]
    assert m["written"] == m["sent"] == m["taken_by_smtp_server"] == 30 * 3
    stages = {s["stage"]: s for s in f["stages"]}
    assert list(stages) == [*shiftcount.STAGES, "webhooks", "mails"]
    assert all(stages[s]["orders"] == 30 for s in shiftcount.STAGES)
    assert stages["webhooks"]["orders"] == w["delivered"] and stages["mails"]["orders"] == 90
    assert stages["delivered"]["last_s"] == f["wall_s"]
    assert f["backlog"][-1]["delivered"] == 30 and f["backlog"][-1]["sent"] == 30
    assert 0 < f["wall_s"] < f["took_s"]
    assert f["fleet"]["scans"] > 0 and f["fleet"]["errors"] == 0


def _receiver_from(db: Path) -> SimpleNamespace:
    """A receiver that took exactly what the server says it delivered, in that order."""
    r = SimpleNamespace(taken={}, arrived={}, duplicates=0, bad_signatures=0)
    with sqlite3.connect(db) as conn:
        for order, event, msg_id in conn.execute(
            "SELECT order_id, event, msg_id FROM webhook_deliveries WHERE status = 'delivered' "
            "ORDER BY id"
        ):
            r.taken[msg_id] = {"type": event}
            r.arrived.setdefault(order, []).append(msg_id)
    return r


def test_the_accounting_says_which_webhook_or_mail_is_missing_doubled_or_out_of_order(shift):
    _, db = shift
    with sqlite3.connect(db) as conn:
        orders = [r[0] for r in conn.execute("SELECT id FROM orders ORDER BY id")]
        mail_ids = [r[0] for r in conn.execute("SELECT message_id FROM customer_mails")]
    receiver = _receiver_from(db)
    assert shiftcount.webhook_account(db, receiver, orders)[1] == []
    lost, swapped = orders[0], orders[1]
    receiver.arrived[lost].pop()
    first, second, *rest = receiver.arrived[swapped]
    receiver.arrived[swapped] = [second, first, *rest]
    receiver.duplicates = 1
    problems = shiftcount.webhook_account(db, receiver, orders)[1]
    assert any("lost" in p and lost in p for p in problems), problems
    assert any("out of order" in p and swapped in p for p in problems), problems
    assert any("taken twice" in p for p in problems), problems

    messages = [{"Message-ID": m} for m in mail_ids]
    messages[0] = {"Message-ID": f"\r\n {mail_ids[0]}"}  # a long one comes folded
    assert shiftcount.mail_account(db, messages, orders)[1] == []
    doubled = [*messages[1:], messages[1], {"Message-ID": "<stranger@example.com>"}]
    problems = shiftcount.mail_account(db, doubled, orders)[1]
    assert any("never took" in p for p in problems), problems
    assert any("more than once" in p and mail_ids[1] in p for p in problems), problems
    assert any("never wrote down" in p and "stranger" in p for p in problems), problems
