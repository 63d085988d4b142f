"""Stock that moves between warehouses in the demo: one transfer, planned and received.

A stage (scripts/demo/stages.py), run concurrently with the floor:

- once the orders are in, one transfer is planned over REST (`POST /api/transfers`): the
  first of `GET /api/transfers/suggestions` if there is one (`"source": "suggestion"`),
  else by hand, two units of the SKU WH-EAST has most free of, to WH-WEST;
- its order (channel `transfer`, pinned to the sender) is picked, packed and handed over
  by the floor like any order; once it is in transit, a dock handheld of the receiving
  warehouse (`inbound-e` or `inbound-w`, enrolled over REST) receives it over a real
  /device link: `CMD-TRANSFER`, the TR number, each unit, the bin the server suggests,
  `CMD-TRANSFER-DONE`;
- the summary prints it: TR number, units, from → to, received;
- a replenishment before a pick (the seed's reserve bin, scripts/demo/seed.py): a picker
  finds a face empty that should hold an order's units, the short pick's units wait for an
  urgent move from reserve, a handheld makes it (reserve bin, each unit, the face) and the
  held pick is picked; the summary prints each move made (`GET /api/replenishment/moves`)
  and the orders that waited for it (their timelines: the short pick's `replenishing`);
- the reorder suggestions: once the orders are in (each order's units are reserved when it
  is captured, so the demand history is whole by then), a process beside the floor runs the
  forecast once on the demo's database (`python -m scripts.demo.moves DATA_DIR`: started
  with the floor, it imports the library and fits each model once, then waits for the
  orders to be in; then it does what `scanfloor replen forecast` does, as of tomorrow: the
  history ends the day before the forecast, and every demo order was placed today); the
  summary prints the top suggestions
  read back over REST (`GET /api/replenishment/suggestions`) and the board's
  /board/forecast address.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import socketio

from scripts.demo import seed
from scripts.demo.stages import Threaded
from shared.protocol import DEVICE_NAMESPACE as NS

if TYPE_CHECKING:
    from scripts.demo.floor import Floor

BY_HAND = ("WH-EAST", "WH-WEST", 2)  # from, to, units: when nothing is suggested
TOP = 5  # reorder suggestions in the summary


def _session(floor: Floor) -> requests.Session:
    http = requests.Session()  # each thread its own: the main thread uses floor.api
    http.headers["Authorization"] = floor.api.headers["Authorization"]
    return http


def plan(floor: Floor, http: requests.Session, avoid: set[str]) -> dict[str, Any]:
    """Plan one transfer: the first suggestion, else BY_HAND of the SKU the sender has most
    free of (none of `avoid`); returns the transfer as the server answers it."""
    r = http.get(f"{floor.base}/api/transfers/suggestions", timeout=10)
    r.raise_for_status()
    suggested = r.json()["suggestions"]
    if suggested:
        s = suggested[0]
        body = {
            "from_warehouse": s["from_warehouse"], "to_warehouse": s["to_warehouse"],
            "lines": [{"sku": s["sku"], "qty": s["qty"]}], "source": "suggestion",
        }  # fmt: skip
    else:
        sender, receiver, qty = BY_HAND
        r = http.get(f"{floor.base}/api/stock", params={"warehouse": sender}, timeout=10)
        r.raise_for_status()
        free: dict[str, int] = {}
        for row in r.json()["stock"]:
            free[row["sku"]] = free.get(row["sku"], 0) + row["on_hand"] - row["reserved"]
        sku = max((s for s in free if s not in avoid), key=lambda s: (free[s], s))
        body = {
            "from_warehouse": sender, "to_warehouse": receiver,
            "lines": [{"sku": sku, "qty": qty}], "source": "manual",
        }  # fmt: skip
    body["request_id"] = f"demo-{uuid.uuid4().hex[:12]}"
    r = http.post(f"{floor.base}/api/transfers", json=body, timeout=10)
    if r.status_code != 201:
        raise RuntimeError(f"POST /api/transfers {r.status_code}: {r.text[:300]}")
    return r.json()


def receive_transfer(url: str, token: str, made: dict[str, Any], timeout: float = 10.0) -> int:
    """Receive a transfer in transit on a handheld link by its TR number, every unit shipped
    shelved in the bin the scan's answer suggests; returns the units received."""
    sio = socketio.Client(reconnection=False)
    sio.connect(
        url, namespaces=[NS], auth={"token": token, "last_seen_seq": 0}, wait_timeout=timeout
    )

    def call(event: str, **msg: Any) -> dict:
        return sio.call(event, {"id": f"tr-{uuid.uuid4().hex[:16]}", **msg}, namespace=NS, timeout=timeout)  # fmt: skip

    def ok(answer: dict, what: str) -> dict:
        if not answer.get("ok"):
            raise RuntimeError(f"{what}: {answer.get('message') or answer.get('error')}")
        return answer

    try:
        ok(call("action", action="transfer"), "CMD-TRANSFER")
        ok(call("scan", barcode=made["transfer"]), made["transfer"])
        units = 0
        for line in made["lines"]:
            for _ in range(line["shipped"] - line["received"]):
                unit = ok(call("scan", barcode=line["sku"]), line["sku"])
                bin_ = unit["state"]["expect"]["barcodes"][0]  # the bin the server suggests
                ok(call("scan", barcode=bin_), bin_)
                units += 1
        ok(call("action", action="transfer_done"), "CMD-TRANSFER-DONE")
        return units
    finally:
        sio.disconnect()


class Moves(Threaded):
    """One transfer between the warehouses, planned early, received at the other dock."""

    name = "stock moves"
    key = "moves"

    def __init__(self) -> None:
        super().__init__()
        self.transfer: dict[str, Any] = {}
        self.received: int | None = None
        self.forecast: subprocess.Popen | None = None
        self.forecast_took: float | None = None

    def start(self, floor: Floor, say=print) -> None:
        say(
            "a transfer between the warehouses is planned, and the forecast run, once orders are in"
        )
        self.run_jobs(floor, self._transfer, self._forecast)

    def _forecast(self, floor: Floor) -> None:
        # Started at once: it imports the forecasting library and fits each model once while
        # the orders come in (seconds of CPU, at nice 3), then waits for the word to go.
        log = (floor.out / "logs" / "forecast.log").open("wb")
        self.forecast = subprocess.Popen(
            [sys.executable, "-m", "scripts.demo.moves", str(floor.out / "data")],
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            if not self.wait_allocated(floor):
                return
            started = time.monotonic()
            self.forecast.communicate(b"go\n")
            rc = self.forecast.returncode
        finally:
            log.close()
        self.forecast_took = round(time.monotonic() - started, 1)
        if rc != 0:
            raise RuntimeError(f"the forecast exited with {rc}: see {log.name}")

    def _transfer(self, floor: Floor) -> None:
        if not self.wait_allocated(floor):
            return
        http = _session(floor)
        # Not a SKU of the bin the cycle count takes (day.py: WH-EAST's first unreserved row).
        rows = http.get(f"{floor.base}/api/stock", params={"warehouse": "WH-EAST"}, timeout=10)
        rows.raise_for_status()
        counted = next((r for r in rows.json()["stock"] if r["reserved"] == 0 and r["on_hand"]), {})
        # Nor the SKU reserve holds (reserve is never allocated: it would not ship).
        made = plan(floor, http, {counted.get("sku", ""), seed.REPLEN_SKU})
        self.transfer = made
        r = http.post(
            f"{floor.base}/api/devices",
            json={"name": f"inbound-{made['to_warehouse'][3].lower()}", "role": "packer",
                  "warehouse": made["to_warehouse"]},
            timeout=10,
        )  # fmt: skip
        r.raise_for_status()
        token = r.json()["devices"][0]["token"]
        while not self.stopping.is_set():  # until the sender's dock hands it over
            got = http.get(f"{floor.base}/api/transfers/{made['transfer']}", timeout=10).json()
            if got["status"] == "in_transit":
                break
            self.stopping.wait(0.5)
        else:
            return
        self.received = receive_transfer(floor.base, token, got)
        self.transfer = http.get(
            f"{floor.base}/api/transfers/{made['transfer']}", timeout=10
        ).json()

    def settle(self, floor: Floor, until: float, say=print) -> None:
        # The transfer may still be on the truck when the floor is done: wait for it.
        while time.monotonic() < until and self.received is None and not self.errors:
            time.sleep(0.2)
        while time.monotonic() < until and self.forecast_took is None and not self.errors:
            time.sleep(0.2)
        if self.forecast_took is None and not self.errors:
            self.errors.append("forecast: still running when the wait ended")
        self.join(until)

    def figures(self, floor: Floor) -> dict[str, Any]:
        t = self.transfer
        return {
            "transfer": {
                "transfer": t.get("transfer"), "order": t.get("order_id"),
                "from": t.get("from_warehouse"), "to": t.get("to_warehouse"),
                "source": t.get("source"), "status": t.get("status"),
                "lines": [{k: x[k] for k in ("sku", "qty", "shipped", "received", "short")}
                          for x in t.get("lines", [])],
                "in_transit": t.get("in_transit"), "received_by": t.get("received_by"),
            } if t else {},
            "replenishment": replenished(floor),
            "forecast": self._suggestions(floor),
            "forecast_s": self.forecast_took,
            "board_forecast": f"{floor.base}/board/forecast",
            "errors": self.errors,
        }  # fmt: skip

    def _suggestions(self, floor: Floor) -> list[dict[str, Any]]:
        if self.forecast_took is None:
            return []
        r = floor.api.get(f"{floor.base}/api/replenishment/suggestions", timeout=10)
        r.raise_for_status()
        keep = ("sku", "warehouse", "reorder_point", "reorder_qty", "overstock", "model")
        return [{k: row[k] for k in keep} for row in r.json()["suggestions"][:TOP]]

    def stop(self) -> None:
        self.stopping.set()
        if self.forecast is not None and self.forecast.poll() is None:
            self.forecast.kill()
            self.forecast.wait()

    def lines(self, f: dict[str, Any]) -> list[str]:
        out = []
        t = f.get("transfer") or {}
        if t:
            units = ", ".join(f"{x['qty']} {x['sku']}" for x in t["lines"])
            got = sum(x["received"] for x in t["lines"])
            out.append(
                f"  transfer             {t['transfer']} ({t['order']}, {t['source']}): {units}, "
                f"{t['from']} → {t['to']}, {t['status']}: {got} received"
                + (f" by {t['received_by']}" if t["received_by"] else "")
                + f", {t['in_transit']} in transit"
            )
        for m in f.get("replenishment", []):
            waited = ", ".join(m["waited"]) or "no order"
            out.append(
                f"  replenishment        {m['units']} {m['sku']} {m['from']} → {m['to']} by "
                f"{m['by']}, {'urgent' if m['urgent'] else 'not urgent'} ({m['reason']}): "
                f"{waited} waited for it, then {'picked' if m['then_picked'] else 'not picked'}"
            )
        if f.get("forecast_s") is not None:
            out.append(
                f"  reorder suggestions  forecast in {f['forecast_s']} s beside the floor; "
                f"the top {len(f['forecast'])} (board: {f['board_forecast']}):"
            )
            for s in f["forecast"]:
                out.append(
                    f"                       {s['sku']} {s['warehouse']}: reorder point "
                    f"{s['reorder_point']:g}, reorder {s['reorder_qty']}"
                    + (", overstock" if s["overstock"] else "")
                    + f" ({s['model']})"
                )
        for e in f.get("errors", []):
            out.append(f"  moves: failed        {e}")
        return out


def replenished(floor: Floor) -> list[dict[str, Any]]:
    """The moves to pick faces made (`GET /api/replenishment/moves?status=done`), oldest first,
    each with the shop's orders that waited for it (a short pick at its face answered
    `replenishing`, from the orders' timelines) and whether they were picked after it."""
    r = floor.api.get(
        f"{floor.base}/api/replenishment/moves", params={"status": "done"}, timeout=10
    )
    r.raise_for_status()
    moves = r.json()["moves"][::-1]
    if not moves:
        return []
    timelines = {p.shop_number: floor.order(p.id)["timeline"] for p in floor.placed}
    out = []
    for m in moves:
        waited, picked = [], []
        for number, timeline in timelines.items():
            at = next(
                (i for i, e in enumerate(timeline)
                 if e["event"] == "short_pick" and e["detail"].get("outcome") == "replenishing"
                 and e["detail"].get("location") == m["face"] and e["detail"].get("sku") == m["sku"]),
                None,
            )  # fmt: skip
            if at is not None:
                waited.append(number)
                picked.append(any(e["status"] == "picked" for e in timeline[at:]))
        out.append(
            {
                "sku": m["sku"],
                "from": m["reserve"],
                "to": m["face"],
                "units": m["moved"],
                "by": m["worker"],
                "urgent": bool(m["urgent"]),
                "reason": m["reason"],
                "waited": waited,
                "then_picked": bool(picked) and all(picked),
            }  # fmt: skip
        )
    return out


def forecast(data: Path) -> dict[str, int]:
    """`scanfloor replen forecast` on the demo's database with the default settings, as of
    tomorrow, so that today's orders are the history; returns the SKUs per warehouse."""
    from server.config import ForecastSettings
    from server.inventory import forecasting
    from server.store import open_store

    store = open_store(data / "scanfloor.db", migrate=False)
    try:
        tomorrow = datetime.now(UTC).date() + timedelta(days=1)
        return forecasting.run(store, ForecastSettings(), today=tomorrow)
    finally:
        store.close()


def warm() -> None:
    """Import the forecasting library and fit each model once on a short made-up series, so
    that the forecast itself, once the orders are in, pays for neither."""
    from server.inventory.domain import demand

    for name in ("CrostonSBA", "SES", "SeasonalES"):
        demand.fit(name, [0.0, 1.0, 0.0, 2.0] * 7, 7)


if __name__ == "__main__":
    os.nice(3)  # beside the floor: the handhelds' scans a little ahead
    warm()
    if sys.stdin.readline().strip() == "go":  # the orders are in (Moves._forecast)
        print(forecast(Path(sys.argv[1])))
