"""A shift's moving parts for `scripts/bench_shift.py`: the shop sending its orders over the
shift, and the floor's fleet working until told to stop.

- `shop_orders`: Shopify `orders/create` bodies for the load site's catalogue
  (scripts/load/floorsite.py: one warehouse, deep stock, so every order ships).
- `PacedShop`: posts them as signed Shopify webhooks (scripts/demo/shopify.py's `Shop`)
  spread evenly over the arrival window, from a few sender threads, and notes when each
  went in and what the server made of it.
- The demo's stages beside the floor (scripts/demo/stages.py), fitted to a shift: the shop's
  receiver stays up (`ShopReceiverUp`), the dock hands over at the load site's one
  warehouse (`Dock`), the local carrier takes every parcel to the door in batches the
  server takes (`ToTheDoor`).
- `FleetProcess`: the fleet's simulated pickers and pack stations (scripts/load/fleet.py's
  `SimDevice`, the documented protocol over Socket.IO) in a process of their own, working
  every screen they get until `stop()`; their round trips and errors come back as the
  fleet's summary.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scripts.carrier_sim import BATCH, CarrierSim, Parcel, journey
from scripts.demo import shopify as shop
from scripts.demo.carrier import CARRIER, Carrier
from scripts.demo.handover import HandOver
from scripts.demo.stages import ShopWebhooks
from scripts.load import floorsite
from scripts.load.fleet import Options, SimDevice, Tally, summary

SENDERS = 4  # threads posting the shop's webhooks (a slow answer does not hold the rest)
FIRST_SHOP_ID = 5_800_000_000_000


def shop_orders(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """`count` Shopify orders of one to three lines of the load site's SKUs, shipping near its
    warehouse, each with the customer's e-mail (the customer is mailed as it moves)."""
    _, lat, lon = floorsite.WAREHOUSE
    placed_at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    out = []
    for n in range(1, count + 1):
        shop_id = FIRST_SHOP_ID + n
        skus = rng.sample(range(floorsite.SKUS), rng.randint(1, 3))
        items = [
            {
                "id": shop_id * 10 + k,
                "title": f"Item {sku}",
                "sku": f"SKU-{sku:05d}",
                "quantity": rng.choice((1, 1, 2)),
                "price": "9.00",
                "requires_shipping": True,
                "gift_card": False,
            }
            for k, sku in enumerate(skus)
        ]
        at = (placed_at + timedelta(seconds=n)).isoformat()
        email = f"customer.{n}@example.com"
        address = {
            "name": f"Customer {n}",
            "address1": f"{rng.randint(1, 999)} Market Street",
            "city": "Newark",
            "zip": "07102",
            "country_code": "US",
            "latitude": round(lat + rng.uniform(-1, 1), 5),
            "longitude": round(lon + rng.uniform(-1, 1), 5),
        }
        out.append(
            {
                "id": shop_id,
                "name": f"#S{n}",
                "email": email,
                "created_at": at,
                "updated_at": at,
                "financial_status": "paid",
                "line_items": items,
                "shipping_address": address,
            }
        )
    return out


@dataclass
class PacedShop:
    """Posts `payloads` as `orders/create` webhooks, order i due at `i * spread / n` seconds
    after `start()`; `placed[i]` is what the server made of order i, `sent_at[i]` when."""

    base: str
    secret: str
    payloads: list[dict[str, Any]]
    spread: float
    seed: int = 1
    placed: list[shop.Placed | None] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    late_s: float = 0.0  # how far behind its schedule the shop fell at worst
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.placed = [None] * len(self.payloads)
        self.sent_at = [0.0] * len(self.payloads)
        self._next = iter(range(len(self.payloads)))
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.started = 0.0
        self.stopping = threading.Event()

    def start(self) -> PacedShop:
        self.started = time.time()
        for k in range(SENDERS):
            t = threading.Thread(target=self._send, args=(k,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def _send(self, k: int) -> None:
        sender = shop.Shop(self.base, self.secret, random.Random(f"{self.seed}-{k}"))
        n = len(self.payloads)
        while not self.stopping.is_set():
            with self._lock:
                i = next(self._next, None)
            if i is None:
                return
            due = self.started + (i * self.spread / n if n else 0)
            if self.stopping.wait(max(0.0, due - time.time())):
                return
            payload = self.payloads[i]
            try:
                _, answer = sender.post("orders/create", payload)
            except Exception as exc:  # said in the accounting: the order never came in
                self.errors.append(f"{payload['name']}: {exc}"[:200])
                continue
            self.sent_at[i] = time.time()
            self.late_s = max(self.late_s, self.sent_at[i] - due)
            if answer["result"] != "created":
                self.errors.append(f"{payload['name']}: the server answered {answer}")
            self.placed[i] = shop.Placed(answer["order"], payload["name"], payload["id"], payload)

    @property
    def done(self) -> bool:
        return all(not t.is_alive() for t in self._threads)

    def sent(self) -> int:
        return sum(1 for at in self.sent_at if at)

    def join(self, timeout: float | None = None) -> None:
        for t in self._threads:
            t.join(timeout)

    def stop(self) -> None:
        self.stopping.set()


class ShopReceiverUp(ShopWebhooks):
    """The shop's receiver, subscribed to every order event, up the whole shift."""

    def _outage(self, floor, say) -> None:
        return None


class Dock(HandOver):
    """Close-outs and truck loads at the load site's one warehouse (one package left on the
    dock once, loaded on the next truck, as in the demo)."""

    def start(self, floor, say=print) -> None:
        code = floorsite.WAREHOUSE[0]
        resp = floor.api.post(
            f"{floor.base}/api/devices",
            json={"name": "dock-1", "role": "packer", "warehouse": code},
            timeout=10,
        )
        resp.raise_for_status()
        self.tokens[code] = resp.json()["devices"][0]["token"]
        self.thread = threading.Thread(target=self._dock, args=(floor, say), daemon=True)
        self.thread.start()


class _Batched(CarrierSim):
    """The carrier's simulator sending a round of any size in batches the server takes."""

    def post(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for i in range(0, len(events), BATCH):
            results += super().post(events[i : i + BATCH])["results"]
        return {"results": results}


class ToTheDoor(Carrier):
    """The local carrier's simulator: every parcel in transit, out for delivery, delivered."""

    def start(self, floor, say=print) -> None:
        api_key = floor.api.headers["Authorization"].removeprefix("Bearer ")
        self.sim = _Batched(floor.base, CARRIER, self.secret, api_key=api_key)
        self.thread = threading.Thread(target=self._carry, args=(say,), daemon=True)
        self.thread.start()

    def plan(self, parcel: Parcel) -> list[dict[str, Any]]:
        self.seen.append(parcel)
        return journey(parcel, self.rng, 0.0, 0.0)


def _fleet(devices, opts: Options, stop, out) -> None:
    """The fleet process: every device connects and works its screens until `stop` is set."""
    out.put(asyncio.run(_work_until(devices, opts, stop)))


async def _work_until(devices: list[tuple[str, str, str]], opts: Options, stop) -> dict[str, Any]:
    tally = Tally(devices=len(devices))
    sims = [SimDevice(n, t, r, opts, tally, i) for i, (n, t, r) in enumerate(devices)]
    started = time.perf_counter()
    far = started + 10**6  # no end of its own: the shift ends it

    async def one(sim: SimDevice) -> None:
        sim.started = started
        try:
            await sim.connect(started)
        except Exception as exc:
            tally.error(f"connect_{type(exc).__name__}")
            return
        await sim.work(started, far)

    tasks = [asyncio.create_task(one(s)) for s in sims]
    while not stop.is_set():
        await asyncio.sleep(0.2)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await asyncio.gather(*(s.close() for s in sims), return_exceptions=True)
    up = [s.connected_at for s in sims if s.connected_at is not None]
    tally.connect_s = up
    tally.all_connected_s = max(up) if len(up) == len(sims) else None
    tally.window_s = time.perf_counter() - started
    return summary(tally)


class FleetProcess:
    """The fleet in a process of its own (spawned: no state of ours leaks into it)."""

    def __init__(self, devices: list[tuple[str, str, str]], opts: Options):
        self.opts = opts  # its url may be set until `start()`
        self.devices = devices
        self.ctx = ctx = multiprocessing.get_context("spawn")
        self._stop = ctx.Event()
        self._out = ctx.Queue()
        self.proc = None

    def start(self) -> FleetProcess:
        args = (self.devices, self.opts, self._stop, self._out)
        self.proc = self.ctx.Process(target=_fleet, args=args, daemon=True)
        self.proc.start()
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.is_alive()

    def stop(self, timeout: float = 30.0) -> dict[str, Any] | None:
        """Stop every device; the fleet's figures (None if it died or did not answer)."""
        self._stop.set()
        if self.proc is None:
            return None
        try:
            result = self._out.get(timeout=timeout)
        except queue.Empty:
            result = None
        self.proc.join(5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)
        return result
