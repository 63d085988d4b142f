"""Supervisors' boards open beside a load run: each logs in as a supervisor, opens /board over
a real WebSocket, and counts what it gets: its first view's bytes and time (from the start
of its connect to the snapshot), and the longest gap between its updates after that.

Board k opens k * `stagger` seconds into the run, so the first opens in the sign-in storm
and the others while the floor scans. The boards run in a process of their own beside the
fleet (`python -m scripts.load.boards URL COUNT SECONDS` prints their figures as JSON), so
neither's threads or event loop slow the other.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from typing import Any

import requests
import socketio

from device.link import WEBSOCKET_OPTIONS
from server.people import users
from server.store import open_store

USER = "bench-sup"
PASSWORD = "bench board password"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def add_supervisor(db_path: Any) -> None:
    """The supervisor the boards log in as, in a seeded site."""
    store = open_store(db_path)
    try:
        users.add(store, USER, "supervisor", PASSWORD)
    finally:
        store.close()


def _cookie(base: str) -> str:
    session = requests.Session()
    page = session.get(f"{base}/login", timeout=30).text
    found = _CSRF.search(page)
    token = (found.group(1) or found.group(2)) if found else ""
    resp = session.post(
        f"{base}/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    if resp.status_code != 302:
        raise RuntimeError(f"board log-in refused: {resp.status_code}")
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class Board(threading.Thread):
    """One board: opens after `delay` seconds and watches until `done` is set."""

    def __init__(self, base: str, delay: float, done: threading.Event):
        super().__init__(daemon=True)
        self.base, self.delay, self.done = base, delay, done
        self.first_bytes: int | None = None
        self.first_s: float | None = None
        self.updates = 0
        self.max_gap_s = 0.0
        self.error: str | None = None
        self._last: float | None = None

    def _got(self, kind: str, payload: Any) -> None:
        at = time.monotonic()
        if kind == "snapshot" and self.first_bytes is None:
            self.first_bytes = len(json.dumps(payload, separators=(",", ":")).encode())
            self.first_s = at - self._opened_at
        else:
            self.updates += 1
        if self._last is not None:
            self.max_gap_s = max(self.max_gap_s, at - self._last)
        self._last = at

    def run(self) -> None:
        if self.done.wait(self.delay):
            return
        # A board's updates are large: websocket-client's pure-Python UTF-8 check of each took
        # more CPU in this process (43-65% of a core with 5 boards) than the fleet's three.
        client = socketio.Client(
            reconnection=False, websocket_extra_options=dict(WEBSOCKET_OPTIONS)
        )
        client.on("snapshot", lambda p: self._got("snapshot", p), namespace="/board")
        client.on("delta", lambda p: self._got("delta", p), namespace="/board")
        try:
            cookie = _cookie(self.base)  # logging in is not the board's first view
            self._opened_at = time.monotonic()
            client.connect(
                self.base,
                namespaces=["/board"],
                transports=["websocket"],
                headers={"Cookie": cookie},
                wait_timeout=30,
            )
            while not self.done.wait(0.5):
                if self._last is not None:  # a link that went quiet counts up to now
                    self.max_gap_s = max(self.max_gap_s, time.monotonic() - self._last)
        except Exception as e:  # reported with the figures, the run goes on
            self.error = f"{type(e).__name__}: {e}"
        finally:
            client.disconnect()

    def result(self) -> dict[str, Any]:
        return {
            "first_view_bytes": self.first_bytes,
            "first_view_s": None if self.first_s is None else round(self.first_s, 3),
            "updates": self.updates,
            "max_gap_s": round(self.max_gap_s, 2),
            "error": self.error,
        }


class Boards:
    """`count` boards on `base`, board k opening k * stagger seconds in."""

    def __init__(self, base: str, count: int, stagger: float = 5.0):
        self.done = threading.Event()
        self.boards = [Board(base, k * stagger, self.done) for k in range(count)]

    def __enter__(self) -> Boards:
        for b in self.boards:
            b.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.done.set()
        for b in self.boards:
            b.join(timeout=30)

    def results(self) -> list[dict[str, Any]]:
        return [b.result() for b in self.boards]


def line(results: list[dict[str, Any]]) -> str:
    """The boards' figures on one line."""
    if not results:
        return "no boards"
    parts = []
    for k, r in enumerate(results, start=1):
        if r["first_view_bytes"] is None:
            parts.append(f"board {k}: no first view ({r['error'] or 'none came'})")
            continue
        parts.append(
            f"board {k}: first view {r['first_view_bytes'] / 1000:.0f} kB in "
            f"{r['first_view_s']:.2f} s, {r['updates']} updates, longest gap {r['max_gap_s']:.2f} s"
            + (f" ({r['error']})" if r["error"] else "")
        )
    return "; ".join(parts)


class BoardsProcess:
    """`count` boards in a process of their own for `seconds`; `results()` after the run."""

    def __init__(self, base: str, count: int, seconds: float):
        self.count = count
        self.proc = (
            subprocess.Popen(
                [sys.executable, "-m", "scripts.load.boards", base, str(count), str(seconds)],
                stdout=subprocess.PIPE,
                text=True,
            )
            if count
            else None
        )

    def results(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        if self.proc is None:
            return []
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            out = ""
        if not out.strip():
            why = f"the boards' process ended with {self.proc.returncode} and no figures"
            return [{"first_view_bytes": None, "error": why}] * self.count
        return json.loads(out.strip().splitlines()[-1])


if __name__ == "__main__":
    url, count, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with Boards(url, count) as running:
        time.sleep(seconds)
    print(json.dumps(running.results()), flush=True)
