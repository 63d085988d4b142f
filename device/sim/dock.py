"""A simulated dock: a pack station loads a carrier's truck over a real /device link.

For the demo and tests: it connects with a pack station's token, scans
`CMD-DOCK` (sent as the `dock` action, as the device sends every command card),
the carrier's card, each package's tracking barcode, and `CMD-DOCK-DONE`; the
server ships what was loaded and flags what was not as missing. Use a pack
station of its own (one link per token: its connect would close another
device's link with the same token).

    python -m device.sim.dock --url http://127.0.0.1:8800 --token sfd_... \\
        --carrier local SF0000000420 SF0000000437
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterable
from typing import Any

import socketio

from shared.commands import carrier_card, read_card
from shared.protocol import DEVICE_NAMESPACE as NS


def load_truck(
    url: str, token: str, carrier: str, barcodes: Iterable[str], timeout: float = 10.0
) -> dict[str, Any]:
    """Load `barcodes` onto `carrier`'s truck and hand it over; returns each answer and the
    hand-over's message (`{"scans": [(barcode, code, message)], "handover": str}`)."""
    sio = socketio.Client(reconnection=False)
    states: list[dict] = []
    sio.on("state", lambda ev: states.append(ev), namespace=NS)
    sio.connect(
        url, namespaces=[NS], auth={"token": token, "last_seen_seq": 0}, wait_timeout=timeout
    )
    try:

        def action(card: str) -> dict:
            name = read_card(card)
            assert name is not None, card
            msg = {"id": f"dock-{uuid.uuid4().hex[:16]}", "action": name.action}
            return sio.call("action", msg, namespace=NS, timeout=timeout)

        def scan(barcode: str) -> dict:
            msg = {"id": f"dock-{uuid.uuid4().hex[:16]}", "barcode": barcode}
            return sio.call("scan", msg, namespace=NS, timeout=timeout)

        start = action("CMD-DOCK")
        if not start["ok"]:
            raise RuntimeError(f"CMD-DOCK refused: {start['error']['message']}")
        card = scan(carrier_card(carrier))
        if not card["ok"]:
            raise RuntimeError(card["message"])
        scans = []
        for barcode in barcodes:
            r = scan(barcode)
            scans.append((barcode, r["code"], r["message"]))
        seen = len(states)
        done = action("CMD-DOCK-DONE")
        if not done["ok"]:
            raise RuntimeError(f"CMD-DOCK-DONE refused: {done['error']['message']}")
        # The hand-over's message comes in the `state` event that follows the ack.
        for _ in range(int(timeout * 20)):
            if len(states) > seen:
                break
            sio.sleep(0.05)
        message = states[-1]["message"] if len(states) > seen else ""
        return {"scans": scans, "handover": message}
    finally:
        sio.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", required=True, help="a pack station's device token")
    parser.add_argument("--carrier", default="local")
    parser.add_argument("barcodes", nargs="*", help="tracking numbers (or SSCCs) to load")
    args = parser.parse_args()
    print(json.dumps(load_truck(args.url, args.token, args.carrier, args.barcodes), indent=2))


if __name__ == "__main__":
    main()
