"""What a handheld's connect costs the server in CPU, by open orders, on two versions side by side.

    .venv/bin/python -m scripts.load.connect_cost --open-orders 60000 --compare main .

One site is seeded (scripts/load/floorsite.py: one warehouse, nine pickers to a packer,
four open orders per picker, carts planned) and `--open-orders` more open orders added
in bulk (scripts/load/boardsite.py), then copied fresh for each run. Each run opens its
copy with one version's code (a git ref exported, or `.` for this checkout) in its own
process and runs, for every idle picker, the connect's one write as the server runs it
(`DeviceNamespace._link_up`: the device online, its next work handed out, its first
screen drawn and queued) in a write transaction, and times it in CPU seconds of that
process (`time.process_time`), which another process's load on a shared machine moves
far less than wall time. Runs alternate between the versions. Prints one JSON line per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is in scripts/load/)


def measure(db: Path) -> dict[str, Any]:
    """In this process, with the `server` package first on sys.path: every idle picker's
    connect write on the site in `db`, timed; what the migrations took apart."""
    from server.realtime.device import DeviceNamespace
    from server.store import open_store
    from shared.protocol import ConnectAuth

    started = time.process_time()
    store = open_store(db, synchronous="NORMAL")  # migrates a copy made by older code
    migrate_s = time.process_time() - started
    open_lists = store.one("SELECT COUNT(*) AS n FROM pick_lists WHERE status = 'open'")["n"]
    pickers = store.all("SELECT * FROM devices WHERE role = 'picker' ORDER BY id")
    server = SimpleNamespace(store=store, hub=SimpleNamespace(instance="connect-cost"))
    creds = ConnectAuth(token="connect-cost-token")
    cpu_ms: list[float] = []
    given = 0
    for device in pickers:
        before = time.process_time()
        with store.write():
            if DeviceNamespace._link_up(server, device["id"], device, creds) is not None:
                given += 1
        cpu_ms.append(1000 * (time.process_time() - before))
    store.close()
    cpu_ms.sort()
    return {
        "open_lists": open_lists,
        "connects": len(cpu_ms),
        "handed_a_list": given,
        "cpu_ms_median": round(statistics.median(cpu_ms), 3),
        "cpu_ms_p90": round(cpu_ms[int(0.9 * (len(cpu_ms) - 1))], 3),
        "cpu_ms_max": round(cpu_ms[-1], 3),
        "cpu_s_total": round(sum(cpu_ms) / 1000, 3),
        "migrate_cpu_s": round(migrate_s, 3),
    }


def run_on(code: Path, template_db: Path) -> dict[str, Any]:
    """One run: a fresh copy of the site measured by `code`'s server in a process of its own."""
    with tempfile.TemporaryDirectory(prefix="scanfloor-connect-cost-") as tmp:
        db = Path(tmp) / "scanfloor.db"
        shutil.copyfile(template_db, db)
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--measure", str(db)],
            cwd=code,
            env={**os.environ, "PYTHONPATH": str(code)},
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str]) -> None:
    import click

    @click.command()
    @click.option("--devices", default=300, show_default=True, help="handhelds on the site")
    @click.option("--open-orders", default=60_000, show_default=True, help="added in bulk")
    @click.option("--rounds", default=2, show_default=True, help="runs per version")
    @click.option("--compare", "refs", multiple=True, default=("main", "."), show_default=True)
    @click.option("--site", type=click.Path(exists=True, path_type=Path),
                  help="a site seeded before (its scanfloor.db), instead of seeding one")  # fmt: skip
    def cli(
        devices: int, open_orders: int, rounds: int, refs: tuple[str, ...], site: Path | None
    ) -> None:
        sys.path.insert(0, str(ROOT))
        from scripts.load import floorfeel

        with tempfile.TemporaryDirectory(prefix="scanfloor-connect-cost-") as tmp:
            db = site
            if db is None:
                seeded = floorfeel.seed_template(Path(tmp), devices, 4, open_orders)
                db = seeded.data_dir / "scanfloor.db"
            with contextlib.ExitStack() as stack:
                codes = {
                    r: stack.enter_context(floorfeel.code_of(None if r == "." else r)) for r in refs
                }
                for n in range(rounds):
                    for ref in refs:
                        res = run_on(codes[ref], db)
                        load = os.getloadavg()[0]
                        line = {"code": ref, "round": n + 1, **res, "loadavg_1m": load}
                        print(json.dumps(line), flush=True)

    cli.main(argv, standalone_mode=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(Path(sys.argv[2]))))
    else:
        main(sys.argv[1:])
