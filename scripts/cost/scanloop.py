"""CPU per scan of the scan path alone, in one process: robust on a machine others load.

Pickers (20 by default) work a seeded site at once through Flask-SocketIO's test client
in a gevent-patched process (so scans share group commits, as when serving): every scan
is the handler, the use case, its statements, its share of the commit, the WAL's sync
and checkpoints (threads of the same process), and the reply's encoding, without the
network and the fleet. The process's own CPU time (`time.process_time`) over the scans
is the figure; other processes on the machine do not move it much, unlike wall time.
Compare two checkouts with `--code`:

    .venv/bin/python -m scripts.cost.scanloop                    # this checkout
    .venv/bin/python -m scripts.cost.scanloop --code /work/main  # another one's server
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
logging.disable(logging.WARNING)  # the example secret key, said once per round


def run(scans: int, rounds: int, pickers: int) -> list[float]:
    """CPU ms per scan of each round of `scans` scans (a fresh site per round), made by
    `pickers` handhelds at once (their scans share group commits, as on a busy floor)."""
    import gevent

    from scripts.load.floorsite import seed_site
    from server.app import create_app
    from server.config import Settings
    from shared.protocol import DEVICE_NAMESPACE as NS

    def work(client, n: int, first: int) -> int:
        """Scan what the screen asks for, `n` times (a fresh tote where it asks for one)."""
        deadline, state = time.monotonic() + 30, None
        while state is None and time.monotonic() < deadline:
            got = [e for e in client.get_received(NS) if e["name"] == "state"]
            state = got[-1]["args"][0]["state"] if got else None
            gevent.sleep(0.005)
        assert state is not None, "no first screen"
        done = 0
        while done < n and state["screen"] != "idle":
            if state["screen"] == "pick_tote":
                barcode = f"TOTE-{first + done:06d}"
            else:
                barcode = state["expect"]["barcodes"][0]
            msg = {"id": f"s{done}", "barcode": barcode}
            state = client.emit("scan", msg, namespace=NS, callback=True)["state"]
            done += 1
        return done

    figures = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="scanfloor-scanloop-") as tmp:
            per_picker = max(40, scans // pickers // 3)
            site = seed_site(Path(tmp) / "data", pickers, open_orders=pickers * per_picker)
            app, socketio = create_app(Settings(data_dir=site.data_dir))
            clients = [
                socketio.test_client(app, namespace=NS, auth={"token": t, "last_seen_seq": 0})
                for _, t, role in site.devices
                if role == "picker"
            ]
            started = time.process_time()
            jobs = [
                gevent.spawn(work, c, scans // len(clients), 100_000 * (i + 1))
                for i, c in enumerate(clients)
            ]
            gevent.joinall(jobs, raise_error=True)
            took = time.process_time() - started
            done = sum(j.value for j in jobs)
            for c in clients:
                c.disconnect(namespace=NS)
            figures.append(1000 * took / max(done, 1))
            print(f"{done} scans, {figures[-1]:.3f} ms CPU per scan", flush=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(prog="scanloop", description=__doc__)
    parser.add_argument("--scans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pickers", type=int, default=20)
    parser.add_argument("--code", default=str(ROOT), help="the checkout whose server runs")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.code).resolve()))  # its `server` before this one's
    figures = run(args.scans, args.rounds, args.pickers)
    print(
        f"median {statistics.median(figures):.3f} ms CPU per scan, "
        f"{args.pickers} pickers at once ({args.code})"
    )


if __name__ == "__main__":
    main()
