"""A carrier that drives the demo: signed tracking events for shipped packages, over HTTP.

It talks to the server only as a real carrier does: `POST /api/carriers/<carrier>/events`,
signed with the carrier's `events_secret` (Standard Webhooks). What it carries is either
a list of tracking numbers, or read over REST with an API key: the packages of this
carrier in orders that are `shipped` and that it has said nothing about yet.

Each package gets a journey, one step per round; a round's events go in signed batches,
stamped with the moment they are sent, and the rounds are `pause` seconds apart:

- most: `in_transit` (the sorting hub) -> `out_for_delivery` (the depot in the ship-to's
  city) -> `delivered` (at the ship-to: postcode, city, country, lat/lon when the order
  has them, and how it was handed over);
- a share `exceptions`: `in_transit` -> `exception` (reason `delayed` mostly, else
  `address_problem` or `damaged`), and it stays held up;
- a share `returns`: `in_transit` -> `out_for_delivery` -> `returned` (reason `refused`).

Event ids are `<carrier>-<tracking>-<step>`: a batch sent again after a lost answer is
taken once. A connection error or a 5xx is tried again (a real carrier retries); any
other refusal stops the run with the server's message.

Use it from Python (`CarrierSim(url, "local", secret, api_key=key).run()`) or as a
command: `python -m scripts.carrier_sim --help` (also `scanfloor carrier-sim`).
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
import requests
from standardwebhooks import Webhook

BATCH = 100  # events per signed request (the server takes up to 500)
EXCEPTION_REASONS = ("delayed", "delayed", "delayed", "address_problem", "damaged")
HANDED_OVER = ("handed to the recipient", "left at the front door", "left with a neighbour")


class CarrierRefused(RuntimeError):
    """The server refused a batch (not a retryable failure): its status and message."""


@dataclass
class Parcel:
    """A package the carrier has: its tracking number, and its order's ship-to when known."""

    tracking: str
    order: str | None = None
    warehouse: str | None = None
    ship_to: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """What a run did: parcels by where their journey ended, and the server's answers."""

    parcels: int = 0
    journeys: Counter = field(default_factory=Counter)  # delivered / exception / returned
    results: Counter = field(default_factory=Counter)  # accepted / duplicate / ...
    requests: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "parcels": self.parcels,
            "journeys": dict(self.journeys),
            "results": dict(self.results),
            "requests": self.requests,
        }


def journey(parcel: Parcel, rng: random.Random, exceptions: float, returns: float) -> list[dict]:
    """The steps one parcel will take: type, place and reason of each event."""
    to = parcel.ship_to
    country = {"country": to["country"]} if to.get("country") else {}
    hub = {"text": f"sorting hub for {parcel.warehouse}" if parcel.warehouse else "sorting hub"}
    depot = {"text": "delivery depot", **country}
    if to.get("city"):
        depot["city"] = to["city"]
    door = {k: to[k] for k in ("postcode", "city", "lat", "lon") if to.get(k) is not None}
    door = {**door, **country, "text": rng.choice(HANDED_OVER)}
    roll = rng.random()
    steps = [{"type": "in_transit", "place": hub}]
    if roll < exceptions:
        steps.append({"type": "exception", "place": hub, "reason": rng.choice(EXCEPTION_REASONS)})
    elif roll < exceptions + returns:
        steps.append({"type": "out_for_delivery", "place": depot})
        steps.append({"type": "returned", "place": hub, "reason": "refused"})
    else:
        steps.append({"type": "out_for_delivery", "place": depot})
        steps.append({"type": "delivered", "place": door})
    return steps


class CarrierSim:
    """One carrier posting tracking events to one server."""

    def __init__(
        self,
        base_url: str,
        carrier: str,
        secret: str,
        api_key: str | None = None,
        exceptions: float = 0.1,
        returns: float = 0.05,
        seed: int | None = None,
        timeout: float = 10.0,
        retries: int = 5,
        session: requests.Session | None = None,
    ):
        if not 0 <= exceptions + returns <= 1 or exceptions < 0 or returns < 0:
            raise ValueError("exceptions and returns are shares: each >= 0, together <= 1")
        self.base_url = base_url.rstrip("/")
        self.carrier = carrier
        self.webhook = Webhook(secret)
        self.api_key = api_key
        self.exceptions, self.returns = exceptions, returns
        self.rng = random.Random(seed)
        self.timeout, self.retries = timeout, retries
        self.http = session or requests.Session()

    # ------------------------------------------------------------ what it carries
    def shipped_parcels(self, limit: int = 1000) -> list[Parcel]:
        """This carrier's packages in shipped orders it has said nothing about (REST, API key)."""
        if not self.api_key:
            raise ValueError("reading shipped orders needs an API key (or give tracking numbers)")
        auth = {"Authorization": f"Bearer {self.api_key}"}
        listed = self._get("/api/orders", auth, params={"status": "shipped", "limit": limit})
        parcels = []
        for row in listed["orders"]:
            order = self._get(f"/api/orders/{row['id']}", auth)
            for pkg in order["packages"]:
                if pkg.get("carrier", "local") == self.carrier and not pkg.get("tracking_events"):
                    parcels.append(
                        Parcel(pkg["tracking"], order["id"], order["warehouse"], order["ship_to"])
                    )
        return parcels

    def _get(self, path: str, headers: dict[str, str], **kwargs: Any) -> dict[str, Any]:
        resp = self.http.get(self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)
        if resp.status_code != 200:
            raise CarrierRefused(f"GET {path}: {resp.status_code} {resp.text[:300]}")
        return resp.json()

    # ------------------------------------------------------------ driving
    def run(
        self,
        parcels: Iterable[Parcel | str] | None = None,
        pause: float = 1.0,
        say: Callable[[str], None] = lambda _: None,
    ) -> Summary:
        """Play every parcel's journey, round by round, `pause` seconds apart."""
        todo = [
            p if isinstance(p, Parcel) else Parcel(p)
            for p in (self.shipped_parcels() if parcels is None else parcels)
        ]
        plans = {p.tracking: journey(p, self.rng, self.exceptions, self.returns) for p in todo}
        summary = Summary(parcels=len(todo))
        summary.journeys.update(steps[-1]["type"] for steps in plans.values())
        rounds = max((len(s) for s in plans.values()), default=0)
        for step in range(rounds):
            if step:
                time.sleep(pause)
            at = datetime.now(UTC).isoformat(timespec="seconds")
            events = [
                {"id": f"{self.carrier}-{tracking}-{step + 1}", "tracking": tracking, "at": at,
                 **steps[step]}
                for tracking, steps in plans.items()
                if step < len(steps)
            ]  # fmt: skip
            for i in range(0, len(events), BATCH):
                answer = self.post(events[i : i + BATCH])
                summary.requests += 1
                summary.results.update(r["result"] for r in answer["results"])
            say(f"{self.carrier}: round {step + 1}/{rounds}, {len(events)} events")
        return summary

    def post(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        """Send one signed batch; retried on a connection error or a 5xx, as carriers do."""
        body = json.dumps({"events": events}, separators=(",", ":"))
        url = f"{self.base_url}/api/carriers/{self.carrier}/events"
        msg_id = f"msg_{uuid.uuid4().hex}"
        for attempt in range(self.retries + 1):
            signed_at = datetime.now(UTC)
            headers = {
                "Content-Type": "application/json",
                "webhook-id": msg_id,
                "webhook-timestamp": str(int(signed_at.timestamp())),
                "webhook-signature": self.webhook.sign(msg_id, signed_at, body),
            }
            try:
                resp = self.http.post(url, data=body, headers=headers, timeout=self.timeout)
            except requests.ConnectionError:
                resp = None
            if resp is not None and resp.status_code < 500:
                if resp.status_code != 200:
                    raise CarrierRefused(f"{resp.status_code}: {resp.text[:500]}")
                return resp.json()
            if attempt < self.retries:
                time.sleep(min(0.2 * 2**attempt, 5.0))
        raise CarrierRefused(f"the server at {self.base_url} did not take the events")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--url", default="http://127.0.0.1:8800", show_default=True, help="the server")
@click.option("--carrier", default="local", show_default=True, help="the carrier's name")
@click.option(
    "--secret",
    envvar="SCANFLOOR_CARRIER_SECRET",
    required=True,
    help="the carrier's events_secret (or $SCANFLOOR_CARRIER_SECRET)",
)
@click.option(
    "--api-key",
    envvar="SCANFLOOR_API_KEY",
    help="to read the shipped orders over REST (or $SCANFLOOR_API_KEY)",
)
@click.option(
    "--tracking",
    "trackings",
    multiple=True,
    help="carry these tracking numbers instead of reading shipped orders (repeat)",
)
@click.option("--exceptions", default=0.1, show_default=True, help="share held up (delayed, ...)")
@click.option("--returns", default=0.05, show_default=True, help="share refused and returned")
@click.option(
    "--pause",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="seconds between rounds",
)
@click.option("--seed", type=int, help="the same seed plays the same journeys")
def main(
    url: str,
    carrier: str,
    secret: str,
    api_key: str | None,
    trackings: tuple[str, ...],
    exceptions: float,
    returns: float,
    pause: float,
    seed: int | None,
) -> None:
    """Post signed tracking events for shipped packages, as a carrier would."""
    try:
        sim = CarrierSim(url, carrier, secret, api_key, exceptions, returns, seed)
        summary = sim.run(trackings or None, pause, say=lambda line: click.echo(line, err=True))
    except (ValueError, CarrierRefused, requests.RequestException) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary.as_dict(), sort_keys=True))


if __name__ == "__main__":
    main(prog_name="scanfloor carrier-sim")
