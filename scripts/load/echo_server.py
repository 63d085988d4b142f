"""The ceiling: a bare Flask-SocketIO ack echo, run beside the real server in the floor benchmark.

Same stack as `scanfloor-server` (Flask-SocketIO, gevent, websocket, the same
ping settings), same namespace and event names, and replies of the same shape,
but no database and no floor: a scan is answered at once with a fixed screen
that asks for the same bin again. What the fleet measures against this is what
the stack itself can do on this machine; the real server is judged against it.

    .venv/bin/python scripts/load/echo_server.py --port 8899 [--gc-as-server]

`--gc-as-server` sets the collector up as a serving process does (server/runtime/loopwatch.py:
the thresholds, a freeze at start and once the sign-ins settle): without it the echo's own
full collections (124-166 ms every ~6 s at 1,500 links, measured) are most of its p99.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402

from flask import Flask, request  # noqa: E402
from flask_socketio import Namespace, SocketIO  # noqa: E402

NS = "/device"
STATE = {
    "screen": "pick_location",
    "instruction": "Go to 01-01-1",
    "detail": "Pick 1 x Item 1 from 01-01-1",
    "expect": {"kind": "location", "barcodes": ["L01011"]},
    "pick_list_id": 1,
}


class EchoNamespace(Namespace):
    def __init__(self, namespace: str, connects: list[int]):
        super().__init__(namespace)
        self.connects = connects

    def on_connect(self, auth: object = None) -> bool:
        # Like the real server: the first screen goes out once the connect is complete.
        self.connects[0] += 1
        sid = request.sid
        self.socketio.start_background_task(
            self.socketio.emit,
            "state",
            {"seq": 1, "message": "Connected", "state": STATE},
            namespace=NS,
            to=sid,
        )
        return True

    def on_scan(self, data: dict) -> dict:
        return {
            "id": data.get("id"),
            "ok": True,
            "code": "location_ok",
            "message": "Good",
            "duplicate": False,
            "state": STATE,
            "event_seq": 1,
        }

    def on_seen(self, data: dict) -> dict:
        return {"id": data.get("id"), "ok": True}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="echo_server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--gc-as-server", action="store_true", help="the server's GC settings")
    args = parser.parse_args(argv)
    app = Flask(__name__)
    connects = [0]

    @app.get("/api/health")
    def health() -> dict:
        return {"ok": True}

    socketio = SocketIO(app, async_mode="gevent", ping_interval=2.0, ping_timeout=3.0)
    socketio.on_namespace(EchoNamespace(NS, connects))
    if args.gc_as_server:
        import sys
        from pathlib import Path

        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from server.config import GcSettings
        from server.runtime import loopwatch

        logging.basicConfig(level=logging.INFO, format="%(message)s")  # its gc.freeze lines
        loopwatch.settle(GcSettings(), lambda: connects[0])
    socketio.run(app, host=args.host, port=args.port, log_output=False)


if __name__ == "__main__":
    main()
