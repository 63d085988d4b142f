"""The dock: packed orders are closed out onto the local carrier's manifest and loaded.

A stage (scripts/demo/stages.py), busy while orders are `packed`. Once the server is up
it enrols one dock pack station per warehouse over REST (`POST /api/devices`, each with
its own token: one link per token). Every few seconds, per warehouse, it closes out
what waits (`POST /api/carriers/local/closeouts`: 201 with the manifest, 409 when
nothing waits) and a simulated dock worker loads that manifest's packages onto the
truck over a real Socket.IO link (device/sim/dock.py: CMD-DOCK, the carrier's card,
each tracking number, CMD-DOCK-DONE). Loading ships the package: its order goes
`shipped`, the shop gets `order.shipped` and the customer a mail.

Once in the run the worker leaves one package on the dock: the hand-over flags it
missing, and it is on the next close-out, loaded on the next truck, so every order
still leaves. The summary says which it was.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import requests

from device.sim.dock import load_truck
from scripts.demo import seed
from scripts.demo.stages import Stage

if TYPE_CHECKING:
    from scripts.demo.floor import Floor

CARRIER = "local"
EVERY_SECONDS = 2.0  # how often the dock closes out what is packed


class HandOver(Stage):
    """Close-outs and truck loads at each warehouse's dock, one package left off once."""

    name = "dock hand-over"
    key = "handover"
    busy = ("packed",)

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {}  # warehouse -> its dock station's token
        self.thread: threading.Thread | None = None
        self.done = threading.Event()
        self.loads: list[dict[str, Any]] = []  # one per truck: manifest, loaded, left off
        self.left_off: dict[str, Any] | None = None  # the package left on the dock
        self.error: str | None = None

    def start(self, floor: Floor, say=print) -> None:
        for code, *_ in seed.WAREHOUSES:
            name = f"dock-{code[3].lower()}"
            resp = floor.api.post(
                f"{floor.base}/api/devices",
                json={"name": name, "role": "packer", "warehouse": code},
                timeout=10,
            )
            resp.raise_for_status()
            self.tokens[code] = resp.json()["devices"][0]["token"]
        say(
            f"dock stations enrolled ({', '.join(f'dock-{c[3].lower()}' for c in self.tokens)}): "
            f"packed orders are closed out and loaded onto the {CARRIER} carrier's truck"
        )
        self.thread = threading.Thread(target=self._dock, args=(floor, say), daemon=True)
        self.thread.start()

    def _dock(self, floor: Floor, say) -> None:
        # Its own session: the main thread uses floor.api meanwhile.
        http = requests.Session()
        http.headers.update(dict(floor.api.headers))
        try:
            while not floor.stopping.is_set():
                for warehouse in self.tokens:
                    self._closeout(floor, http, warehouse, say)
                if self.done.is_set() and not self._waiting(floor, http):
                    return
                floor.stopping.wait(EVERY_SECONDS)
        except Exception as exc:  # said in the summary; the demo waits out its timeout
            self.error = f"{type(exc).__name__}: {exc}"
            say(f"  dock: stopped on {self.error}")

    def _waiting(self, floor: Floor, http: requests.Session) -> int:
        resp = http.get(f"{floor.base}/api/stats", timeout=10)
        resp.raise_for_status()
        return resp.json()["orders"].get("packed", 0)

    def _closeout(self, floor: Floor, http: requests.Session, warehouse: str, say) -> None:
        resp = http.post(
            f"{floor.base}/api/carriers/{CARRIER}/closeouts",
            json={"warehouse": warehouse},
            timeout=10,
        )
        if resp.status_code == 409:  # nothing waits
            return
        resp.raise_for_status()
        manifest = resp.json()
        packages = manifest["packages"]
        trackings = [p["tracking"] for p in packages]
        left: list[dict[str, Any]] = []
        if self.left_off is None and (len(packages) >= 2 or len(self.loads) >= 2):
            # The dock worker misses one: flagged missing, it goes on the next truck.
            left = [packages[-1]]
            self.left_off = {**packages[-1], "manifest": manifest["id"]}
            trackings = trackings[:-1]
        result = load_truck(floor.base, self.tokens[warehouse], CARRIER, trackings)
        refused = [(b, code, msg) for b, code, msg in result["scans"] if code != "dock_loaded"]
        self.loads.append(
            {
                "manifest": manifest["id"],
                "warehouse": warehouse,
                "packages": len(packages),
                "loaded": len(trackings) - len(refused),
                "left_off": [p["tracking"] for p in left],
                "refused": refused,
                "handover": result["handover"],
                "csv_url": floor.base + manifest["csv_url"],
                "page_url": f"{floor.base}/board/manifests/{manifest['id']}",
            }
        )
        missing = f", {left[0]['tracking']} ({left[0]['order']}) left on the dock" if left else ""
        say(
            f"  dock: {warehouse} manifest {manifest['id']}: {len(trackings)} of "
            f"{len(packages)} packages loaded{missing}"
        )

    def settle(self, floor: Floor, until: float, say=print) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(max(0.0, until - time.monotonic()))

    def figures(self, floor: Floor) -> dict[str, Any]:
        """The trucks loaded, and where the package left on the dock went (manifests over
        REST: `GET /api/carriers/local/manifests/<id>`)."""
        left = None
        if self.left_off is not None:
            later = [
                load["manifest"]
                for load in self.loads
                if load["manifest"] > self.left_off["manifest"]
                and self._state(floor, load["manifest"], self.left_off["tracking"]) == "loaded"
            ]
            left = {
                "tracking": self.left_off["tracking"],
                "order": self.left_off["order"],
                "missing_on_manifest": self.left_off["manifest"],
                "state_there": self._state(
                    floor, self.left_off["manifest"], self.left_off["tracking"]
                ),
                "loaded_on_manifest": later[0] if later else None,
            }
        return {
            "manifests": len(self.loads),
            "packages_loaded": sum(load["loaded"] for load in self.loads),
            "missing_at_handover": sum(len(load["left_off"]) for load in self.loads),
            "left_on_the_dock": left,
            "scans_refused": sum(len(load["refused"]) for load in self.loads),
            "error": self.error,
            "first_manifest_csv": self.loads[0]["csv_url"] if self.loads else None,
            "first_manifest_page": self.loads[0]["page_url"] if self.loads else None,
            "loads": self.loads,
        }

    def _state(self, floor: Floor, manifest_id: int, tracking: str) -> str | None:
        resp = floor.api.get(
            f"{floor.base}/api/carriers/{CARRIER}/manifests/{manifest_id}.json", timeout=10
        )
        resp.raise_for_status()
        states = {p["tracking"]: p["state"] for p in resp.json()["packages"]}
        return states.get(tracking)

    def lines(self, f: dict[str, Any]) -> list[str]:
        lines = [
            f"  handed over          {f['packages_loaded']} packages on {f['manifests']} "
            f"manifests, loaded at the dock over the device link"
        ]
        left = f["left_on_the_dock"]
        if left:
            where = (
                f"loaded on manifest {left['loaded_on_manifest']}"
                if left["loaded_on_manifest"]
                else "still not loaded"
            )
            lines.append(
                f"  missing at hand-over {f['missing_at_handover']}: {left['tracking']} "
                f"({left['order']}) on manifest {left['missing_on_manifest']}, {where}"
            )
        if f["first_manifest_csv"]:
            lines.append(f"  manifest             {f['first_manifest_csv']}")
            lines.append(f"                       {f['first_manifest_page']} (supervisors)")
        wrong = [f"{f['scans_refused']} scans refused"] if f["scans_refused"] else []
        if f["error"]:
            wrong.append(f"the dock stopped: {f['error']}")
        if wrong:
            lines.append(f"                       but: {', '.join(wrong)}")
        return lines

    def stop(self) -> None:
        self.done.set()
