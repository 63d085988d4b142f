"""What runs beside the demo floor, each plugged in at the same points: a stage.

The floor (server, devices, printers, network proxies) is run.py's; a stage adds one
thing the shop or the customer sees and says in the summary how it went. `run.stages()`
lists them; adding one there is all it takes. Its points, in the order the demo calls them:

- `env(floor)`: settings for the server process, before it starts (short webhook retries,
  an SMTP server's port, a carrier simulator's URL); `floor.port` and `floor.base` are
  already chosen.
- `start(floor, say)`: once the server is up, before the orders come in.
- `busy`: order statuses that are still this stage's work: the demo waits until no
  order is in `run.BUSY` or in a stage's `busy` (a dock hand-over adds `packed`, a
  carrier simulator `shipped`, `in_transit`, `out_for_delivery`, and `exception` when
  it clears its exceptions itself). The summary says
  "shipped" and "delivered" are not part of the run while no stage takes `packed`
  and `shipped` orders on.
- `settle(floor, until, say)`: once every order has settled and the devices are
  stopped, wait (until the monotonic time `until`) for the stage's own queue to drain.
  Stages with `carries_news` (the shop's webhooks, the customers' mails) settle last.
- `figures(floor)`: its figures for summary.json (from REST where they can be), under
  `key`; `lines(figures)`: its lines in the printed summary.
- `told(floor, order_id)`: what it told about one order, for the order the summary follows;
  `said(floor, order_id)`: the same step by step, {status: what it said when the order
  got there}.
- `stop()`: stop what it started (also on Ctrl-C).

The stages now: the shop's webhook receiver (here), the dock hand-over
(scripts/demo/handover.py, busy `packed`), the local carrier's simulator
(scripts/demo/carrier.py, tracking events until `delivered`) and the customers' SMTP
server (scripts/demo/customer_mail.py), one transfer and the forecast
(scripts/demo/moves.py), and the rest of the day (scripts/demo/day.py).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import requests

from scripts.demo.receiver import ShopReceiver
from scripts.demo.shopify import CHANNEL
from server.notify import webhooks

if TYPE_CHECKING:
    from scripts.demo.floor import Floor


class Stage:
    """One thing beside the floor; every point does nothing unless a stage says otherwise."""

    name = ""
    key = ""
    busy: tuple[str, ...] = ()
    carries_news = False  # settles after the stages that make news (run.settle)

    def env(self, floor: Floor) -> dict[str, str]:
        return {}

    def start(self, floor: Floor, say=print) -> None:
        pass

    def settle(self, floor: Floor, until: float, say=print) -> None:
        pass

    def figures(self, floor: Floor) -> dict[str, Any]:
        return {}

    def lines(self, figures: dict[str, Any]) -> list[str]:
        return []

    def told(self, floor: Floor, order_id: str) -> str | None:
        return None

    def said(self, floor: Floor, order_id: str) -> dict[str, str]:
        return {}

    def stop(self) -> None:
        pass


class Threaded(Stage):
    """A stage whose work runs in threads of its own beside the floor. A job's exception is
    kept in `errors` for the summary, and the floor runs on."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.errors: list[str] = []

    def run_jobs(self, floor: Floor, *jobs) -> None:
        for job in jobs:
            t = threading.Thread(target=self._guarded, args=(job, floor), daemon=True)
            t.start()
            self.threads.append(t)

    def _guarded(self, job, floor: Floor) -> None:
        try:
            job(floor)
        except Exception as exc:  # the summary says it; the floor runs on
            self.errors.append(f"{job.__name__.strip('_')}: {exc}")

    def wait_allocated(self, floor: Floor) -> bool:
        """Wait until the shop's orders are in and the worker has allocated them all (none
        left `received`): what is free or reserved is then the floor's for the day. False
        when the stage is stopping first."""
        while not self.stopping.is_set():
            if floor.placed and not floor.shop_numbers("received"):
                return True
            self.stopping.wait(0.3)
        return False

    def join(self, until: float) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(max(0.0, until - time.monotonic()))


# The delivery worker's retries, short enough to finish within the demo (the defaults
# wait 5 s, then twice as long each time, up to an hour).
FAST_RETRIES = {
    "SCANFLOOR_WEBHOOKS__RETRY_BASE_SECONDS": "0.2",
    "SCANFLOOR_WEBHOOKS__RETRY_MAX_SECONDS": "1",
    "SCANFLOOR_WEBHOOKS__TIMEOUT_SECONDS": "2",
    "SCANFLOOR_WEBHOOKS__POLL_SECONDS": "0.1",
    # The shop's receiver runs on loopback beside the demo: allowed by name, as a shop's own
    # receiver inside the network would be (docs/security.md).
    "SCANFLOOR_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]',
}
# Once the first order is being picked, the shop's receiver is down: nothing listens,
# then it answers 503 while it comes back; then it takes deliveries again.
OUTAGE = (("closed", 4.0), ("busy", 2.0))


def status_changes(timeline: list[dict[str, Any]]) -> list[str]:
    """The statuses an order went through, from its timeline: each change is one webhook
    event (`order.<status>`); timeline entries that keep the status are not."""
    changes: list[str] = []
    for entry in timeline:
        if not changes or entry["status"] != changes[-1]:
            changes.append(entry["status"])
    return changes


FIGURES = (
    "events", "delivered", "retried", "failed_attempts", "dead", "pending",
    "not_queued", "lost", "unexpected", "out_of_order", "ids_differ", "other_events",
)  # fmt: skip


def check_order(
    timeline: list[dict[str, Any]], rows: list[dict[str, Any]], got: list[tuple[str, str]]
) -> Counter:
    """One order's webhooks, checked: `timeline` from `GET /api/orders/<id>`, `rows` its
    deliveries from `GET /api/webhook-deliveries` (oldest first), `got` the (webhook-id,
    event) the receiver took, in the order they first came. Every status change must be
    queued (else `not_queued`), delivered and taken (else `lost`), in order (else
    `out_of_order`), as the messages the server says it delivered (else `ids_differ`).
    Events that are no status change (`return.received`) are counted apart (`other_events`)."""
    wanted = [f"order.{s}" for s in status_changes(timeline)]
    want = Counter(wanted)
    events = [event for _, event in got if event.startswith("order.")]
    delivered = [d for d in rows if d["status"] == "delivered"]
    return Counter(
        events=len(wanted),
        delivered=sum(d["event"].startswith("order.") for d in delivered),
        other_events=sum(not d["event"].startswith("order.") for d in delivered),
        retried=sum(d["attempts"] > 1 for d in delivered),
        failed_attempts=sum(max(0, d["attempts"] - 1) for d in rows),
        dead=sum(d["status"] == "dead" for d in rows),
        pending=sum(d["status"] == "pending" for d in rows),
        not_queued=(want - Counter(d["event"] for d in rows)).total(),
        lost=(want - Counter(events)).total(),
        unexpected=(Counter(events) - want).total(),
        out_of_order=int(Counter(events) == want and events != wanted),
        ids_differ=int([m for m, _ in got] != [d["msg_id"] for d in delivered]),
    )


class ShopWebhooks(Stage):
    """The shop's webhook receiver, subscribed to every order event; down for a while."""

    name = "shop webhooks"
    key = "webhooks"
    carries_news = True

    def __init__(self) -> None:
        self.receiver: ShopReceiver | None = None
        self.subscription: int | None = None
        self.thread: threading.Thread | None = None
        self.settling = threading.Event()  # the floor is done: an outage not begun never will
        self.down_seconds = 0.0

    def env(self, floor: Floor) -> dict[str, str]:
        return FAST_RETRIES

    def start(self, floor: Floor, say=print) -> None:
        secret = webhooks.new_secret()
        self.receiver = ShopReceiver(secret, floor.out / "logs" / "shop-receiver.jsonl")
        self.receiver.set_mode("up")
        resp = floor.api.post(
            f"{floor.base}/api/webhook-subscriptions",
            json={
                "url": self.receiver.url,
                "events": list(webhooks.EVENTS),
                "secret": secret,
                "channel": CHANNEL,  # the shop's own orders: not the transfer's
            },
            timeout=10,
        )
        resp.raise_for_status()
        self.subscription = resp.json()["id"]
        say(
            f"shop's webhook receiver on {self.receiver.url}, subscribed to every event of "
            f"its channel's orders "
            f"({len(webhooks.EVENTS)}), signatures checked (Standard Webhooks)"
        )
        self.thread = threading.Thread(target=self._outage, args=(floor, say), daemon=True)
        self.thread.start()

    def _outage(self, floor: Floor, say) -> None:
        assert self.receiver is not None
        first = self.receiver.when_first("order.picking")
        deadline = time.monotonic() + 120
        while not first.wait(0.1):
            if floor.stopping.is_set() or self.settling.is_set() or time.monotonic() > deadline:
                return
        what = {"closed": "down (nothing listens)", "busy": "back but answering 503"}
        for mode, seconds in OUTAGE:
            self.receiver.set_mode(mode)  # type: ignore[arg-type]
            say(f"  shop: webhook receiver {what[mode]} for {seconds:.0f} s")
            if floor.stopping.wait(seconds):
                return
            self.down_seconds += seconds
        waiting = self.pending(floor)
        self.receiver.set_mode("up")
        say(f"  shop: webhook receiver up again ({waiting} deliveries waiting for it)")

    def pending(self, floor: Floor) -> int:
        """Deliveries to the receiver not yet made, from `GET /api/webhook-subscriptions`."""
        # Its own request, not floor.api's session: the outage thread asks too.
        url = f"{floor.base}/api/webhook-subscriptions"
        resp = requests.get(url, headers=dict(floor.api.headers), timeout=10)
        resp.raise_for_status()
        subs = {s["id"]: s for s in resp.json()["subscriptions"]}
        return subs[self.subscription]["pending"]

    def settle(self, floor: Floor, until: float, say=print) -> None:
        """Wait for the outage to end and the outbox to drain (bounded by `until`)."""
        self.settling.set()
        if self.thread is not None:
            self.thread.join(max(0.0, until - time.monotonic()))
        while (left := self.pending(floor)) and time.monotonic() < until:
            time.sleep(0.2)
        if left:
            say(f"  shop: {left} webhook deliveries still pending when the wait ended")

    def _deliveries(self, floor: Floor, order_id: str) -> list[dict[str, Any]]:
        resp = floor.api.get(
            f"{floor.base}/api/webhook-deliveries",
            params={"order": order_id, "subscription": self.subscription, "limit": 1000},
            timeout=10,
        )
        resp.raise_for_status()
        return resp.json()["deliveries"][::-1]  # oldest first

    def figures(self, floor: Floor) -> dict[str, Any]:
        """Deliveries (REST) and what the receiver took, checked per order against the
        order's timeline (REST): every status change arrived, once each, in order."""
        assert self.receiver is not None
        r = self.receiver
        fig: Counter = Counter()
        for placed in floor.placed:
            timeline = floor.order(placed.id)["timeline"]
            got = [(m, r.taken[m]["type"]) for m in r.arrived.get(placed.id, [])]
            fig += check_order(timeline, self._deliveries(floor, placed.id), got)
        return {
            **{k: fig[k] for k in FIGURES},
            "duplicates": r.duplicates,
            "answered_503": r.refused,
            "bad_signatures": r.bad_signatures,
            "receiver_down_s": self.down_seconds,
            "receiver_log": str(r.log),
        }

    def lines(self, f: dict[str, Any]) -> list[str]:
        lost = f["lost"] + f["not_queued"]
        retried = (
            f"{f['retried']} retried after the shop's receiver was down"
            if f["receiver_down_s"]
            else "the shop's receiver was not down this run"
        )
        lines = [f"  webhooks delivered   {f['delivered']} ({retried}), {lost} lost"]
        wrong = [
            f"{f[k]} {k.replace('_', ' ')}"
            for k in (
                "dead",
                "pending",
                "unexpected",
                "out_of_order",
                "ids_differ",
                "bad_signatures",
            )
            if f[k]
        ]
        if wrong:
            lines.append(f"                       but: {', '.join(wrong)}")
        return lines

    def told(self, floor: Floor, order_id: str) -> str | None:
        assert self.receiver is not None
        got = [self.receiver.taken[m]["type"] for m in self.receiver.arrived.get(order_id, [])]
        steps = status_changes(floor.order(order_id)["timeline"])
        if got == [f"order.{s}" for s in steps]:
            return f"the shop was told each step: {len(got)} signed webhooks, in order"
        return f"the shop got {len(got)} webhooks for {len(steps)} steps"

    def said(self, floor: Floor, order_id: str) -> dict[str, str]:
        assert self.receiver is not None
        got = [self.receiver.taken[m]["type"] for m in self.receiver.arrived.get(order_id, [])]
        return {event.removeprefix("order."): f"webhook {event}" for event in got}

    def stop(self) -> None:
        if self.receiver is not None:
            self.receiver.stop()
