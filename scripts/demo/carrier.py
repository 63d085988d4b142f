"""The local carrier: its simulator posts signed tracking events until each parcel arrives.

A stage (scripts/demo/stages.py), busy while orders are `shipped`, `in_transit`,
`out_for_delivery` or `exception` (every exception it plays is cleared later). The
server is started with the carrier's `events_secret`; the simulator
(scripts/carrier_sim.py) reads the shipped orders' local packages over REST and posts
their events to `POST /api/carriers/local/events`, signed as a real carrier signs them,
one round every `PAUSE` seconds: `in_transit` -> `out_for_delivery` -> `delivered`.
Two parcels go otherwise, so the shop and the customer see those too: the second
parcel is held up (`exception`, reason `delayed`) and then delivered, the fourth is
refused at the door and `returned`.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scripts.carrier_sim import CarrierSim, Parcel, journey
from scripts.demo.stages import Stage
from server.notify import webhooks

if TYPE_CHECKING:
    from scripts.demo.floor import Floor

CARRIER = "local"
PAUSE = 0.5  # seconds between the carrier's rounds
# Which shop order's parcel (0-based, in the order they ship) goes otherwise; a transfer's
# parcel (no customer to tell) always goes to the door.
DELAYED, REFUSED = 1, 3


class Carrier(Stage):
    """The local carrier's simulator, posting signed events for every shipped parcel."""

    name = "local carrier"
    key = "carrier"
    busy = ("shipped", "in_transit", "out_for_delivery", "exception")

    def __init__(self, seed: int = 7) -> None:
        self.secret = webhooks.new_secret()
        self.rng = random.Random(seed)
        self.sim: CarrierSim | None = None
        self.thread: threading.Thread | None = None
        self.done = threading.Event()
        self.plans: dict[str, list[dict[str, Any]]] = {}  # tracking -> steps not yet posted
        self.seen: list[Parcel] = []
        self.customers = 0  # shop orders' parcels seen
        self.delayed: list[Parcel] = []
        self.floor: Floor | None = None
        self.ended: dict[str, str] = {}  # tracking -> how its journey ended
        self.results: Counter = Counter()
        self.requests = 0
        self.error: str | None = None

    def env(self, floor: Floor) -> dict[str, str]:
        return {f"SCANFLOOR_CARRIERS__{CARRIER.upper()}__EVENTS_SECRET": self.secret}

    def start(self, floor: Floor, say=print) -> None:
        self.floor = floor
        api_key = floor.api.headers["Authorization"].removeprefix("Bearer ")
        self.sim = CarrierSim(floor.base, CARRIER, self.secret, api_key=api_key)
        say(
            f"{CARRIER} carrier's simulator posts signed tracking events for shipped parcels "
            f"to {floor.base}/api/carriers/{CARRIER}/events"
        )
        self.thread = threading.Thread(target=self._carry, args=(say,), daemon=True)
        self.thread.start()

    def plan(self, parcel: Parcel) -> list[dict[str, Any]]:
        """One parcel's steps: to the door, except the shop orders' DELAYED-th and
        REFUSED-th."""
        self.seen.append(parcel)
        hub, depot, door = journey(parcel, self.rng, 0.0, 0.0)  # in transit, out, delivered
        shop = self.floor is not None and any(p.id == parcel.order for p in self.floor.placed)
        n = self.customers if shop else -1
        self.customers += shop
        if n == DELAYED:
            self.delayed.append(parcel)
            held = {"type": "exception", "place": hub["place"], "reason": "delayed"}
            return [hub, held, depot, door]
        if n == REFUSED:
            return [hub, depot, {"type": "returned", "place": hub["place"], "reason": "refused"}]
        return [hub, depot, door]

    def _carry(self, say) -> None:
        assert self.sim is not None
        try:
            while True:
                for parcel in self.sim.shipped_parcels():
                    if parcel.tracking not in self.plans and parcel.tracking not in self.ended:
                        self.plans[parcel.tracking] = self.plan(parcel)
                if not self.plans:
                    if self.done.is_set():
                        return
                    time.sleep(PAUSE)
                    continue
                self._round(say)
                time.sleep(PAUSE)
        except Exception as exc:  # said in the summary; the demo waits out its timeout
            self.error = f"{type(exc).__name__}: {exc}"
            say(f"  carrier: stopped on {self.error}")

    def _round(self, say) -> None:
        """Each parcel's next step, in one signed batch, stamped now."""
        assert self.sim is not None
        at = datetime.now(UTC).isoformat(timespec="seconds")
        events = []
        for tracking, steps in list(self.plans.items()):
            step = steps.pop(0)
            events.append(
                {"id": f"{CARRIER}-{tracking}-{step['type']}", "tracking": tracking, "at": at}
                | step
            )
            if not steps:
                del self.plans[tracking]
                self.ended[tracking] = step["type"]
            if step["type"] in ("exception", "returned"):
                say(f"  carrier: {tracking} {step['type']}: {step['reason']}")
        answer = self.sim.post(events)
        self.requests += 1
        self.results.update(r["result"] for r in answer["results"])

    def settle(self, floor: Floor, until: float, say=print) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(max(0.0, until - time.monotonic()))
        if self.plans:
            say(f"  carrier: {len(self.plans)} parcels still on the road when the wait ended")

    def figures(self, floor: Floor) -> dict[str, Any]:
        numbers = {p.id: p.shop_number for p in floor.placed}
        by_order = {p.tracking: numbers.get(p.order, p.order) for p in self.seen}
        return {
            "parcels": len(self.seen),
            "journeys": dict(Counter(self.ended.values())),
            "delayed_then_delivered": [by_order[p.tracking] for p in self.delayed],
            "returned": [by_order[t] for t, end in self.ended.items() if end == "returned"],
            "on_the_road": len(self.plans),
            "events": dict(self.results),
            "requests": self.requests,
            "error": self.error,
        }

    def lines(self, f: dict[str, Any]) -> list[str]:
        j = f["journeys"]
        line = (
            f"  carrier              {f['parcels']} parcels, {sum(f['events'].values())} signed "
            f"tracking events: {j.get('delivered', 0)} delivered"
        )
        if f["delayed_then_delivered"]:
            line += f" ({f['delayed_then_delivered'][0]} delayed on the way)"
        if j.get("returned"):
            line += f", {j['returned']} returned ({', '.join(f['returned'])} refused)"
        lines = [line]
        wrong = [f"{n} {r}" for r, n in sorted(f["events"].items()) if r != "accepted"]
        if f["on_the_road"]:
            wrong.append(f"{f['on_the_road']} still on the road")
        if f["error"]:
            wrong.append(f"the carrier stopped: {f['error']}")
        if wrong:
            lines.append(f"                       but: {', '.join(wrong)}")
        return lines

    def stop(self) -> None:
        self.done.set()
