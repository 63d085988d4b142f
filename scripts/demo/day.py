"""The rest of the warehouse's day beside the floor: a cycle count, returns, the accounting.

A stage (scripts/demo/stages.py), run concurrently with the floor:

- a cycle count with a variance: once the orders are in, a supervisor asks for a count of
  a stocked bin no order holds (`POST /api/counts`); the first counter hands in one unit
  more than the system holds (`POST /api/counts/{id}/count`), the recount by a second
  counter says the same, and the supervisor approves it on the board, through the board's
  own REST (`POST /board/api/counts/{id}/approve`, logged in, with the page's CSRF token);
- returns at the dock: a returns handheld per warehouse (`returns-e`, `returns-w`, enrolled
  over REST) receives every authorised return (the carrier's refused parcel comes back as
  one) over a real /device link: `CMD-RETURN`, the RMA number, each unit, `CMD-GRADE-OK`,
  the bin the server suggests, `CMD-RETURN-DONE`: the units are restocked;
- the summary's unit accounting (`GET /api/stock/accounting`), per SKU.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import TYPE_CHECKING, Any

import requests
import socketio

from scripts.demo import seed
from scripts.demo.floor import SUPERVISOR
from scripts.demo.stages import Threaded
from server.inventory.domain.accounting import from_out, line
from shared.protocol import DEVICE_NAMESPACE as NS

if TYPE_CHECKING:
    from scripts.demo.floor import Floor

_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
COUNTERS = ("ann", "ben")


def _session(floor: Floor) -> requests.Session:
    http = requests.Session()  # each thread its own: the main thread uses floor.api
    http.headers["Authorization"] = floor.api.headers["Authorization"]
    return http


def receive_return(url: str, token: str, rma: dict[str, Any], timeout: float = 10.0) -> int:
    """Receive one authorised return on a handheld link, every unit resellable and shelved
    where the server suggests; returns the units restocked."""
    sio = socketio.Client(reconnection=False)
    states: list[dict] = []
    sio.on("state", lambda ev: states.append(ev), namespace=NS)
    sio.connect(
        url, namespaces=[NS], auth={"token": token, "last_seen_seq": 0}, wait_timeout=timeout
    )

    def call(event: str, **msg: Any) -> dict:
        return sio.call(event, {"id": f"ret-{uuid.uuid4().hex[:16]}", **msg}, namespace=NS, timeout=timeout)  # fmt: skip

    def ok(answer: dict, what: str) -> dict:
        if not answer.get("ok"):
            raise RuntimeError(f"{what}: {answer.get('message') or answer.get('error')}")
        return answer

    try:
        ok(call("action", action="return"), "CMD-RETURN")
        ok(call("scan", barcode=rma["rma"]), rma["rma"])
        units = 0
        for line in rma["lines"]:
            for _ in range(line["authorised"] - line["received"]):
                ok(call("scan", barcode=line["sku"]), line["sku"])
                seen = len(states)
                ok(call("action", action="return_grade", reason="resellable"), "CMD-GRADE-OK")
                for _ in range(int(timeout * 20)):  # the bin comes in the state that follows
                    if len(states) > seen and states[-1]["state"]["screen"] == "return_bin":
                        break
                    sio.sleep(0.05)
                bin_ = states[-1]["state"]["expect"]["barcodes"][0]
                ok(call("scan", barcode=bin_), bin_)
                units += 1
        ok(call("action", action="return_done"), "CMD-RETURN-DONE")
        return units
    finally:
        sio.disconnect()


class Day(Threaded):
    """The cycle count, the returns handhelds, and the accounting in the summary."""

    name = "day"
    key = "day"

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # warehouse -> its returns handheld's token
        super().__init__()
        self.count: dict[str, Any] = {}
        self.returns: list[dict[str, Any]] = []

    def start(self, floor: Floor, say=print) -> None:
        for code, *_ in seed.WAREHOUSES:
            resp = floor.api.post(
                f"{floor.base}/api/devices",
                json={"name": f"returns-{code[3].lower()}", "role": "packer", "warehouse": code},
                timeout=10,
            )
            resp.raise_for_status()
            self.tokens[code] = resp.json()["devices"][0]["token"]
        say(
            "returns handhelds enrolled (returns-e, returns-w); a cycle count starts once orders are in"
        )
        self.run_jobs(floor, self._count, self._returns)

    def _count(self, floor: Floor) -> None:
        if not self.wait_allocated(floor):
            return
        http = _session(floor)
        rows = http.get(f"{floor.base}/api/stock", params={"warehouse": "WH-EAST"}, timeout=10)
        rows.raise_for_status()
        row = next(r for r in rows.json()["stock"] if r["reserved"] == 0 and r["on_hand"] > 0)
        where = {"warehouse": row["warehouse"], "location": row["location"]}
        task = http.post(f"{floor.base}/api/counts", json={**where, "reason": "demo"}, timeout=10)
        task.raise_for_status()
        task_id = task.json()["id"]
        counted = row["on_hand"] + 1  # one more than the system holds: a variance
        line = {"sku": row["sku"], "lot": row["lot"], "qty": counted}
        for worker in COUNTERS:  # the count, then the recount by someone else
            r = http.post(
                f"{floor.base}/api/counts/{task_id}/count",
                json={"worker": worker, "lines": [line]},
                timeout=10,
            )
            r.raise_for_status()
        board = requests.Session()
        page = board.get(f"{floor.base}/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        board.post(
            f"{floor.base}/login",
            data={"username": SUPERVISOR, "password": floor.password, "csrf_token": token},
            timeout=10,
        ).raise_for_status()
        csrf = _CSRF.search(board.get(f"{floor.base}/board", timeout=10).text).group(1)
        r = board.post(
            f"{floor.base}/board/api/counts/{task_id}/approve",
            headers={"X-CSRFToken": csrf},
            timeout=10,
        )
        r.raise_for_status()
        done = http.get(f"{floor.base}/api/counts/{task_id}", timeout=10).json()
        self.count = {
            "task": task_id, **where, "sku": row["sku"], "held": row["on_hand"],
            "counted": counted, "counters": list(COUNTERS), "outcome": done.get("outcome"),
        }  # fmt: skip

    def _returns(self, floor: Floor) -> None:
        http = _session(floor)
        while not self.stopping.wait(0.5):
            r = http.get(f"{floor.base}/api/returns", params={"status": "authorised"}, timeout=10)
            r.raise_for_status()
            for rma in r.json()["returns"]:
                units = receive_return(floor.base, self.tokens[rma["warehouse"]], rma)
                self.returns.append(
                    {"rma": rma["rma"], "order": rma["order_id"], "restocked": units}
                )

    def settle(self, floor: Floor, until: float, say=print) -> None:
        # The carrier's refused parcel may come back after the floor is done: wait for it.
        while time.monotonic() < until and not self.returns and not self.errors:
            time.sleep(0.2)
        self.join(until)

    def figures(self, floor: Floor) -> dict[str, Any]:
        resp = floor.api.get(f"{floor.base}/api/stock/accounting", timeout=30)
        resp.raise_for_status()
        return {
            "count": self.count,
            "returns": self.returns,
            "errors": self.errors,
            "accounting": resp.json(),
        }

    def lines(self, f: dict[str, Any]) -> list[str]:
        out = []
        c = f.get("count") or {}
        if c:
            out.append(
                f"  cycle count          {c['location']} {c['sku']}: held {c['held']}, counted "
                f"{c['counted']} by {c['counters'][0]}, recounted {c['counted']} by "
                f"{c['counters'][1]}, {c['outcome']} by the {SUPERVISOR} on the board"
            )
        for r in f.get("returns", []):
            units = f"{r['restocked']} unit" + ("s" if r["restocked"] != 1 else "")
            out.append(
                f"  return restocked     {r['rma']} ({r['order']}): {units} back in bins, "
                "received at the dock on a returns handheld"
            )
        for e in f.get("errors", []):
            out.append(f"  day: failed         {e}")
        acct = f.get("accounting")
        if acct:
            out.append(f"  unit accounting      {acct['summary']}")
            out.append(
                "                       received = shipped + on hand + in transit + scrapped"
            )
            for row in acct["skus"]:
                out.append("                       " + _line(row))
        return out


def _line(row: dict[str, Any]) -> str:
    return line(from_out(row))
