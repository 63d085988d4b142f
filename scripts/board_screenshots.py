"""Screenshots of the supervisors' board for the README: a seeded floor at work, in Chromium.

Seeds a site (scripts/load/floorsite.py), runs the real server, lets a few simulated handhelds
pick (python-socketio clients scanning what the server expects next), asks for help, scans
wrong, leaves one picker offline, sets promises so some lists are late or at risk; a few
pickers sign in with their badges, a supervisor ("sam") logs in and acts; then it photographs
/board at 1920×1080 (`docs/board.png`) and 1024×768 (`docs/board-tablet.png`), and the
board's Cycle counts panel alone (`docs/board-counts.png`) after a few counts were handed in.

    .venv/bin/python -m scripts.board_screenshots [--out docs]
"""

from __future__ import annotations

import argparse
import re
import secrets
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import socketio

from scripts.demo.procs import free_port, start_server, stop
from scripts.load.floorsite import seed_site
from server.inventory import counts
from server.people import users
from server.store import open_store

CHROMIUM = "/usr/bin/chromium"
SIZES = {"board.png": (1920, 1080), "board-tablet.png": (1024, 768)}
SUPERVISOR = "sam"
WORKERS = ["pia", "pete", "priya", "paul"]  # pickers who sign in on a handheld with a badge


class Handheld:
    """A picker's handheld that scans whatever the server expects next."""

    totes = 0

    def __init__(self, base: str, token: str):
        self.state: dict | None = None
        self.sio = socketio.Client()
        self.sio.on("state", self._on_state, namespace="/device")
        self.sio.connect(
            base, namespaces=["/device"], auth={"token": token, "last_seen_seq": 0}, wait_timeout=10
        )
        self.n = 0

    def _on_state(self, data: dict) -> None:
        self.state = data["state"]

    def scan(self, barcode: str) -> dict:
        self.n += 1
        reply = self.sio.call(
            "scan", {"id": f"s{self.n}-{time.time_ns()}", "barcode": barcode}, namespace="/device"
        )
        if reply.get("state"):
            self.state = reply["state"]
        return reply

    def work(self, scans: int) -> None:
        for _ in range(scans):
            expect = (self.state or {}).get("expect") or {}
            if expect.get("barcodes"):
                self.scan(expect["barcodes"][0])
            elif expect.get("kind") == "tote":  # any empty tote: take the next one off the stack
                Handheld.totes += 1
                self.scan(f"TOTE-{Handheld.totes:05d}")
            else:
                return

    def action(self, name: str, **fields: object) -> dict:
        self.n += 1
        return self.sio.call(
            "action", {"id": f"a{self.n}-{time.time_ns()}", "action": name, **fields},
            namespace="/device",
        )  # fmt: skip


def _promise(data: Path) -> None:
    """Promise dates: a few orders late, a few due within the hour, the rest later today."""
    store = open_store(data / "scanfloor.db")
    now = datetime.now(UTC)
    with store.write():
        ids = [r["id"] for r in store.all("SELECT id FROM orders ORDER BY id")]
        for i, oid in enumerate(ids):
            at = now + timedelta(minutes=-20 if i % 9 == 0 else 30 if i % 7 == 0 else 240 + i)
            store.execute("UPDATE orders SET promised_by = ? WHERE id = ?", (at.isoformat(), oid))
    store.close()


def _people(data: Path) -> str:
    """The supervisor who logs in (a throwaway password, returned) and the badge workers."""
    password = secrets.token_urlsafe(16)
    store = open_store(data / "scanfloor.db")
    users.add(store, SUPERVISOR, "supervisor", password)
    for name in WORKERS:
        users.add(store, name, "picker", secrets.token_urlsafe(16))
    store.close()
    return password


def _counts(data: Path) -> None:
    """Counts handed in on five bins with stock: three matched, one waiting for approval
    (counted and recounted one short), one recount asked; and one bin asked, not counted."""
    store = open_store(data / "scanfloor.db")
    bins = store.all(
        "SELECT DISTINCT l.id, l.warehouse, l.code FROM locations l "
        "JOIN stock s ON s.location_id = l.id WHERE s.on_hand > 1 ORDER BY l.id LIMIT 6"
    )
    for i, b in enumerate(bins):
        task, _ = counts.create(store, b["warehouse"], b["code"], "screenshot", "cli:sam")
        held = counts.expected(store, b["id"])
        short = {k: v - (1 if j == 0 else 0) for j, (k, v) in enumerate(sorted(held.items()))}
        rounds = [
            [held], [held], [held], [short, short], [{k: v - 2 for k, v in short.items()}], []
        ][i]  # fmt: skip
        for n, found in enumerate(rounds):
            with store.write():
                counts.hand_in(store, task["id"], found, WORKERS[n])
    store.close()


def _csrf(html: str, pattern: str) -> str:
    found = re.search(pattern, html)
    if not found:
        raise SystemExit("no CSRF token on the page: is the server's log-in as expected?")
    return found.group(1)


class Supervisor:
    """The supervisor's session on the board's JSON routes, as the board's JS uses them."""

    def __init__(self, base: str, password: str):
        self.base = base
        self.http = requests.Session()
        login = self.http.get(f"{base}/login", timeout=10).text
        resp = self.http.post(
            f"{base}/login",
            data={
                "username": SUPERVISOR,
                "password": password,
                "csrf_token": _csrf(login, r'name="csrf_token" value="([^"]+)"'),
            },
            allow_redirects=False,
            timeout=10,
        )
        resp.raise_for_status()
        page = self.http.get(f"{base}/board", timeout=10).text
        self.token = _csrf(page, r'<meta name="csrf-token" content="([^"]+)">')

    def post(self, path: str, body: dict) -> dict:
        resp = self.http.post(
            self.base + path, json=body, headers={"X-CSRFToken": self.token}, timeout=10
        )
        resp.raise_for_status()
        return resp.json()


def run(out: Path, pickers: int = 14, packers: int = 3, orders: int = 220) -> list[Path]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        site = seed_site(data, pickers=pickers, packers=packers, open_orders=orders)
        _promise(data)
        password = _people(data)
        _counts(data)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_server(data, port, Path(tmp) / "server.log")
        hands: list[Handheld] = []
        try:
            tokens = [t for _, t, role in site.devices if role == "picker"]
            for i, token in enumerate(tokens[:10]):
                h = Handheld(base, token)
                time.sleep(0.3)
                if i < len(WORKERS):
                    h.scan(f"BADGE-{WORKERS[i]}")
                h.work(3 + 3 * i)
                hands.append(h)
            hands[1].action("help", reason="no_stock")
            hands[4].action("help", reason="blocked")
            for j in range(3):
                hands[6].scan(f"NOT-A-BIN-{j}")
            hands[9].sio.disconnect()  # an offline picker holding a list
            # A supervisor's actions, so the audit log has rows.
            sam = Supervisor(base, password)
            sam.post("/board/api/orders/SO-000030/priority", {"priority": 8})
            sam.post("/board/api/lists/12/release", {})
            shots = []
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for name, (w, h) in SIZES.items():
                    page = browser.new_page(viewport={"width": w, "height": h})
                    page.goto(base + "/board")  # sent to /login first
                    page.fill("#username", SUPERVISOR)
                    page.fill("#password", password)
                    page.click("button[type=submit]")
                    page.wait_for_selector("#link.link-live")
                    page.wait_for_function("document.body.dataset.charts >= 1")
                    time.sleep(2.5)  # the snapshot after the last change
                    path = out / name
                    page.screenshot(path=str(path))
                    shots.append(path)
                    if name == "board.png":
                        page.wait_for_function("document.body.dataset.cycleCounts >= 1")
                        panel = out / "board-counts.png"
                        page.locator("#cycle-counts").screenshot(path=str(panel))
                        shots.append(panel)
                    page.close()
                browser.close()
            return shots
        finally:
            for h in hands:
                h.sio.disconnect()
            stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for board.png and board-tablet.png")
    args = parser.parse_args()
    for path in run(Path(args.out)):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
