"""The demo's floor as one object: the server, the devices, printers and proxies, the stages.

The stages (scripts/demo/stages.py and beside it) take it as an argument, and run.py makes it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import requests

from device.sim.netproxy import NetProxy
from device.sim.zpl_printer import ZplPrinterSim
from scripts.demo import procs
from scripts.demo import shopify as shop

SUPERVISOR = "supervisor"  # the board's log-in the demo makes (role supervisor)


def carries(floor: Floor, status: str) -> bool:
    """Whether a stage of this run takes orders on from `status` (it is in its `busy`)."""
    return any(status in stage.busy for stage in floor.stages)


@dataclass
class Outage:
    device: str
    mode: str
    seconds: float
    started: float = 0.0
    ended: float = 0.0


@dataclass
class Floor:
    out: Path
    port: int = 0
    server: object = None
    devices: list = field(default_factory=list)
    printers: list[ZplPrinterSim] = field(default_factory=list)
    proxies: dict[str, NetProxy] = field(default_factory=dict)
    outages: list[Outage] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    stages: list = field(default_factory=list)  # the run's Stage objects (stages.py)
    api: requests.Session = field(default_factory=requests.Session)  # with the API key
    placed: list[shop.Placed] = field(default_factory=list)
    password: str = ""  # the supervisor's, for the board

    @property
    def login(self) -> str:
        return f"log in as {SUPERVISOR} / {self.password}"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def order(self, order_id: str) -> dict:
        """One order with its timeline, from `GET /api/orders/<id>`."""
        resp = self.api.get(f"{self.base}/api/orders/{order_id}", timeout=10)
        resp.raise_for_status()
        return resp.json()

    def shop_numbers(self, status: str) -> list[str]:
        """The shop numbers (#1043) of the orders in a status, from `GET /api/orders`."""
        resp = self.api.get(
            f"{self.base}/api/orders", params={"status": status, "limit": 1000}, timeout=10
        )
        resp.raise_for_status()
        return sorted(o["shop_number"] or o["id"] for o in resp.json()["orders"])

    def stop(self) -> None:
        self.stopping.set()
        for stage in self.stages:
            stage.stop()
        for proc in self.devices:
            procs.stop(proc)
        if self.server is not None:
            procs.stop(self.server)
        for p in self.printers:
            p.stop()
        for proxy in self.proxies.values():
            proxy.stop()
