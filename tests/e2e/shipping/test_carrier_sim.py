"""The carrier simulator against the real server process: signed events over HTTP move the
shipped orders to delivered, held up or returned, and the shops hear every new status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from floorkit import small_catalogue
from shopkit import Receiver
from standardwebhooks import Webhook
from trackkit import CARRIER_SECRET, ship

from scripts.carrier_sim import CarrierRefused, CarrierSim
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.notify import webhooks
from server.people import auth
from server.store import open_store

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[3]
HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CARRIED = ["order.in_transit", "order.out_for_delivery", "order.delivered"]
CARRIED += ["order.exception", "order.returned"]
ENV = {
    "SCANFLOOR_CARRIERS__LOCAL__EVENTS_SECRET": CARRIER_SECRET,
    "SCANFLOOR_WEBHOOKS__POLL_SECONDS": "0.05",
    "SCANFLOOR_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]',  # the receiver, on loopback
}


@pytest.fixture
def receiver():
    r = Receiver().up()
    yield r
    r.down()


@pytest.fixture
def site(tmp_path, receiver):
    """A site with 12 orders shipped in one box each, and a shop subscribed to the carriers'
    statuses; returns (data dir, API key, our order ids)."""
    data = tmp_path / "data"
    store = open_store(data / "scanfloor.db")
    cat = small_catalogue()
    cat["stock"][1]["on_hand"] = 100  # SKU-B in WH-EAST
    catalogue.load(store, CatalogueIn.model_validate(cat))
    key = auth.create_api_key(store, "e2e")
    webhooks.subscribe(store, receiver.url, CARRIED, HOOK_SECRET, allowed_hosts=["127.0.0.1"])
    oids = [ship(store, f"C{n}")[0] for n in range(12)]
    store.close()
    return data, key, oids


def test_the_simulator_carries_every_shipped_order(site, server_proc, receiver):
    data, key, oids = site
    base = server_proc(data, env=ENV)
    sim = CarrierSim(
        base, "local", CARRIER_SECRET, api_key=key, exceptions=0.25, returns=0.2, seed=7
    )
    parcels = sim.shipped_parcels()  # read over REST, as `run()` does when given none
    assert sorted(p.order for p in parcels) == sorted(oids)
    summary = sim.run(parcels, pause=0.05)
    ends = summary.journeys
    assert summary.parcels == 12 and sum(ends.values()) == 12
    assert ends["exception"] and ends["returned"] and ends["delivered"]  # seed 7 plays all three
    sent = 3 * ends["delivered"] + 3 * ends["returned"] + 2 * ends["exception"]
    assert summary.results == Counter(accepted=sent) and summary.requests == 3

    api = requests.Session()
    api.headers["Authorization"] = f"Bearer {key}"
    orders = {oid: api.get(f"{base}/api/orders/{oid}").json() for oid in oids}
    assert Counter(o["status"] for o in orders.values()) == ends
    for order in orders.values():
        [pkg] = order["packages"]
        assert pkg["tracking_status"] == order["status"]
        assert pkg["tracking_events"][0]["type"] == "in_transit"
        if order["status"] == "delivered":
            door = pkg["tracking_events"][-1]["place"]
            assert (door["postcode"], door["city"]) == (
                order["ship_to"]["postcode"],
                order["ship_to"]["city"],
            )
        if order["status"] == "exception":
            assert order["timeline"][-1]["detail"]["reason"] in (
                "delayed",
                "address_problem",
                "damaged",
            )

    # Every new status reached the shop, signed, in order per order.
    deadline = time.monotonic() + 15
    while len(receiver.taken()) < sent:
        assert time.monotonic() < deadline, (len(receiver.taken()), sent)
        time.sleep(0.05)
    seen: dict[str, list[str]] = {}
    for hit in receiver.taken():
        Webhook(HOOK_SECRET).verify(hit.body, hit.headers)
        seen.setdefault(hit.payload["data"]["id"], []).append(hit.payload["type"])
    assert sorted(seen) == sorted(oids)
    for oid, types in seen.items():
        end = orders[oid]["status"]
        path = (
            ["in_transit", "exception"]
            if end == "exception"
            else ["in_transit", "out_for_delivery", end]
        )
        assert types == [f"order.{s}" for s in path]

    # Nothing left to carry; the same journeys sent again (a carrier's resend) change nothing.
    assert sim.shipped_parcels() == []
    trackings = [p.tracking for p in parcels]  # the same parcels, the same seed, the same ids
    again = CarrierSim(base, "local", CARRIER_SECRET, exceptions=0.25, returns=0.2, seed=7)
    assert again.run(trackings, pause=0).results == Counter(duplicate=sent)
    assert {oid: api.get(f"{base}/api/orders/{oid}").json()["status"] for oid in oids} == {
        oid: o["status"] for oid, o in orders.items()
    }


def test_a_wrong_secret_is_refused_and_the_command_runs(site, server_proc):
    data, key, oids = site
    base = server_proc(data, env=ENV)
    wrong = "whsec_8r5VbHqjbH8KuVYtHXkA1tLd6pSa0Bv3uG1fC2m7oQk="
    with pytest.raises(CarrierRefused, match="401"):
        CarrierSim(base, "local", wrong, api_key=key).run(pause=0)
    out = subprocess.run(
        [str(Path(sys.executable).parent / "scanfloor"), "carrier-sim", "--url", base, "--api-key", key,
         "--exceptions", "0", "--returns", "0", "--pause", "0"],
        env={**os.environ, "SCANFLOOR_CARRIER_SECRET": CARRIER_SECRET},
        cwd=REPO,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "parcels": 12,
        "journeys": {"delivered": 12},
        "results": {"accepted": 36},
        "requests": 3,
    }
