"""What an open board costs the server while nothing changes on the floor, at full size.

A site of `--orders` open orders (scripts/load/boardsite.py), the server app in one
gevent-patched process, its hub told that one board is open (what the /board namespace's
connect does), and nothing else happening: the process's own CPU time over `--seconds`,
less the same stretch with no board open, is what the board's regular updates cost. The
updates are counted and sized as they are emitted (built once for all boards; each board
more costs only the send). Compare two checkouts with `--code`, alternated:

    .venv/bin/python -m scripts.cost.boardidle                    # this checkout
    .venv/bin/python -m scripts.cost.boardidle --code /tmp/main   # another one's server
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
logging.disable(logging.WARNING)


def run(orders: int, seconds: float) -> dict[str, float]:
    """CPU ms per second with one board open and without, updates sent and their bytes."""
    import gevent

    from scripts.load.boardsite import add_open_orders
    from scripts.load.floorsite import seed_site
    from server.app import create_app
    from server.config import Settings

    with tempfile.TemporaryDirectory(prefix="scanfloor-boardidle-") as tmp:
        site = seed_site(Path(tmp) / "data", pickers=2)
        add_open_orders(site.data_dir / "scanfloor.db", orders)
        app, socketio = create_app(Settings(data_dir=site.data_dir))
        hub = app.extensions["scanfloor.hub"]
        sent: list[int] = []
        emit = hub.socketio.emit

        def counted(event, data=None, *args, **kwargs):
            if kwargs.get("namespace") == "/board":
                sent.append(len(json.dumps(data, default=str)))
            return emit(event, data, *args, **kwargs)

        hub.socketio.emit = counted
        gevent.sleep(2.0)  # start-up's own work settles
        started = time.process_time()
        gevent.sleep(seconds)
        alone = time.process_time() - started
        hub.board_first_view()  # as the board's connect does: its first view
        hub.board_joined()
        gevent.sleep(0.5)
        del sent[:]
        started = time.process_time()
        gevent.sleep(seconds)
        with_board = time.process_time() - started
        hub.board_left()
        hub.stop()
        return {
            "cpu_ms_per_s": 1000 * (with_board - alone) / seconds,
            "updates_per_s": len(sent) / seconds,
            "bytes_per_update": sum(sent) / max(len(sent), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(prog="boardidle", description=__doc__)
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose server runs")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()))  # its `server` before this one's
    got = run(args.orders, args.seconds)
    print(
        f"one board open on a quiet floor of {args.orders:,} open orders: "
        f"{got['cpu_ms_per_s']:.1f} ms of CPU per second, {got['updates_per_s']:.2f} updates/s "
        f"of {got['bytes_per_update']:.0f} bytes ({args.code})"
    )


if __name__ == "__main__":
    main()
