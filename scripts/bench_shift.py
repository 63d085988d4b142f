"""A whole shift, end to end (`make bench-shift`): orders in from the shop, out to the door.

    .venv/bin/python scripts/bench_shift.py                       # 10,000 orders, 200 + 20
    .venv/bin/python scripts/bench_shift.py --orders 2000 --pickers 50 --packers 6

It seeds a fresh load site (scripts/load/floorsite.py: one warehouse, deep stock, the
pickers and pack stations enrolled), starts the real server on a free loopback port with
its worker beside it, and then, all at once:

- the shop posts every order as a signed Shopify `orders/create` webhook, spread evenly
  over `--arrive-seconds` (scripts/load/shiftfloor.py's `PacedShop`);
- the fleet's pickers and pack stations (scripts/load/fleet.py, the documented protocol
  over Socket.IO, in a process of their own) work every screen they are sent;
- the demo's stages run beside the floor: the shop's webhook receiver (a real HTTP
  listener on loopback, every signature checked, every delivery recorded), the dock
  closing out packed orders onto the local carrier's manifests and loading its truck
  over a device link, the local carrier's simulator posting signed tracking events until
  each parcel is delivered, and a local SMTP server (scripts/mail_sink.py) for the
  customers' mails.

It ends when every order the shop sent is delivered and every webhook and mail has gone,
and prints the wall time (first webhook to last delivery), orders per minute at each
stage, the backlog every `--every` seconds, and the accounting (scripts/load/shiftcount.py):
every order's final state, every unit, every webhook and every mail. Anything missing or
doubled is printed and the exit status is 1. `--write-docs` puts the figures in
docs/benchmarks.md ("Whole shift").
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

import click

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from scripts.benchdoc import BENCHMARKS_MD, machine, write_section  # noqa: E402
from scripts.demo import procs  # noqa: E402
from scripts.demo import shopify as shop  # noqa: E402
from scripts.demo.customer_mail import CustomerMail  # noqa: E402
from scripts.demo.floor import Floor  # noqa: E402
from scripts.load import floorsite, shiftcount  # noqa: E402
from scripts.load.fleet import Options  # noqa: E402
from scripts.load.shiftfloor import (  # noqa: E402
    Dock,
    FleetProcess,
    PacedShop,
    ShopReceiverUp,
    ToTheDoor,
    shop_orders,
)
from server.capture import channels  # noqa: E402
from server.people import auth  # noqa: E402
from server.store import open_store  # noqa: E402

READY_SECONDS = 300.0  # for the worker's first beat and every device's sign-in (a busy box)
ON_THE_ROAD = ("shipped", "in_transit", "out_for_delivery")
BACKLOG = (  # the backlog table's columns: (heading, statuses)
    ("waiting", ("received", "allocated")),
    ("picking", ("picking",)),
    ("picked", ("picked", "packing")),
    ("packed", ("packed",)),
    ("on the road", ON_THE_ROAD),
    ("delivered", ("delivered",)),
)
# The server's own settings for the run: its worker beside it (planning, deliveries,
# mails), nothing the run does not use.
SERVER_ENV = {"SCANFLOOR_WORKER__WITH_SERVER": "true"}


def seed(data: Path, pickers: int, packers: int, seed_value: int) -> tuple[str, str, list]:
    """The load site, the shop's channel with its Shopify secret, an API key; returns
    (secret, key, devices)."""
    site = floorsite.seed_site(data, pickers, packers, open_orders=0, seed=seed_value)
    secret = shop.new_secret()
    store = open_store(data / "scanfloor.db")
    try:
        channels.set_channel(store, shop.CHANNEL, shopify_secret=secret)
        key = auth.create_api_key(store, "bench-shift")
    finally:
        store.close()
    return secret, key, site.devices


def backlog_row(t: float, sent: int, counts: dict[str, int]) -> dict[str, Any]:
    row: dict[str, Any] = {"t_s": round(t), "sent": sent}
    for heading, statuses in BACKLOG:
        row[heading] = sum(counts.get(s, 0) for s in statuses)
    row["webhooks pending"] = counts.get("webhooks_pending", 0)
    row["mails pending"] = counts.get("mails_pending", 0)
    return row


def run_shift(out: Path, opts: dict[str, Any], say=print) -> dict[str, Any]:
    """Seed, start, run the shift to its end, settle, account; the figures."""
    data = out / "data"
    db = data / "scanfloor.db"
    rng = random.Random(opts["seed"])
    secret, key, devices = seed(data, opts["pickers"], opts["packers"], opts["seed"])
    payloads = shop_orders(rng, opts["orders"])
    floor = Floor(out=out)
    mail = CustomerMail()
    receiver, dock, carrier = ShopReceiverUp(), Dock(), ToTheDoor(opts["seed"])
    floor.stages = [receiver, dock, carrier, mail]
    fleet = paced = None
    try:
        # The fleet's process first: its devices sign in as soon as the server answers.
        fleet = FleetProcess(
            devices,
            Options(url="", think=opts["think"], wrong_rate=opts["wrong_rate"],
                    seed=opts["seed"]),
        )  # fmt: skip
        floor.port = procs.free_port()
        fleet.opts.url = floor.base
        fleet.start()
        env = {k: v for stage in floor.stages for k, v in stage.env(floor).items()}
        floor.server = procs.start_server(data, floor.port, out / "logs" / "server.log",
                                          env | SERVER_ENV)  # fmt: skip
        floor.api.headers["Authorization"] = f"Bearer {key}"
        for stage in floor.stages:
            stage.start(floor, say)
        ready(db, floor, fleet, len(devices), READY_SECONDS)
        say(f"server on {floor.base}, its worker running, {len(devices)} devices signed in: "
            f"{len(payloads)} orders to come over {opts['arrive_seconds']:.0f} s")  # fmt: skip
        paced = PacedShop(floor.base, secret, payloads, opts["arrive_seconds"], opts["seed"])
        paced.start()
        started = paced.started
        load = [os.getloadavg()[0]]
        backlog, end, over = watch(floor, db, paced, fleet, started, opts, say)
        if over:
            say(f"every order delivered, {time.time() - started:.0f} s in: settling")
        else:
            say(f"the shift was not over after {opts['timeout']:.0f} s: accounting as it is")
        until = time.monotonic() + (opts["settle"] if over else min(30.0, opts["settle"]))
        for stage in (receiver, dock, carrier):
            stage.settle(floor, until, say)
        drained = drain(db, mail, until)
        drained_s = time.time() - started
        load.append(os.getloadavg()[0])
        fleet_figures = fleet.stop()
        fleet = None
        floor.placed = [p for p in paced.placed if p is not None]
        figures = account(db, payloads, paced, receiver, mail, carrier, dock, floor,
                          started, end, backlog, fleet_figures, drained)  # fmt: skip
        if not over:
            figures["problems"].insert(0, f"the shift was not over after {opts['timeout']} s")
        return figures | {"drained_s": round(drained_s, 1), "load_average": load}
    finally:
        if paced is not None:
            paced.stop()
        if fleet is not None:
            fleet.stop(5)
        floor.stop()


def ready(db: Path, floor: Floor, fleet: FleetProcess, devices: int, timeout: float) -> None:
    """Wait until the shift can start: the server's worker beats beside it (it plans the
    carts and sends the webhooks and mails) and every device is signed in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with shiftcount.connect(db) as conn:
            others = conn.execute(
                "SELECT COUNT(*) FROM server_processes WHERE pid != ?", (floor.server.pid,)
            ).fetchone()[0]
            linked = conn.execute("SELECT COUNT(*) FROM devices WHERE connected = 1").fetchone()[0]
        if others and linked >= devices:
            return
        if not fleet.alive():
            raise RuntimeError("the fleet's process died")
        time.sleep(0.2)
    raise TimeoutError(f"the worker or the devices were not up within {timeout:.0f} s")


def watch(floor, db, paced, fleet, started, opts, say) -> tuple[list[dict], float, bool]:
    """Until every order the shop sent is delivered (or the timeout): a backlog row every
    `every` seconds; returns the rows, when it ended and whether the shift was over."""
    backlog: list[dict] = []
    deadline = time.monotonic() + opts["timeout"]
    next_row = 0.0
    while True:
        counts = shiftcount.status_counts(db)
        t = time.time() - started
        delivered = counts.get("delivered", 0)
        finished = paced.done and delivered >= paced.sent()
        late = time.monotonic() > deadline
        if t >= next_row or finished or late:
            row = backlog_row(t, paced.sent(), counts)
            backlog.append(row)
            say("  " + ", ".join(f"{k} {v}" for k, v in row.items()))
            next_row += opts["every"]
        if finished or late:
            return backlog, time.time(), finished
        if floor.server.poll() is not None:
            raise RuntimeError(f"the server exited with {floor.server.returncode}")
        if not fleet.alive():
            raise RuntimeError("the fleet's process died")
        time.sleep(min(1.0, opts["every"] / 4))


def drain(db: Path, mail: CustomerMail, until: float) -> bool:
    """Wait until no webhook or mail is pending and the SMTP server has every mail sent."""
    while time.monotonic() < until:
        counts = shiftcount.status_counts(db)
        with shiftcount.connect(db) as conn:
            sent = conn.execute(
                "SELECT COUNT(*) FROM customer_mails WHERE status = 'sent'"
            ).fetchone()[0]
        idle = not counts["webhooks_pending"] and not counts["mails_pending"]
        if idle and mail.sink.count >= sent:
            return True
        time.sleep(0.3)
    return False


def rates(db: Path, started: float) -> list[dict[str, Any]]:
    """Orders per minute at each stage, over the span from its first order to its last; then
    the webhooks delivered and the mails sent, the same way (counted in `orders`)."""
    rows = []
    for stage, times in (shiftcount.reached(db) | shiftcount.messages_out(db)).items():
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        rows.append(
            {
                "stage": stage,
                "orders": len(times),
                "first_s": round(times[0] - started, 1) if times else None,
                "last_s": round(times[-1] - started, 1) if times else None,
                "per_min": round(len(times) / span * 60) if span else None,
            }
        )
    return rows


def account(db, payloads, paced, receiver, mail, carrier, dock, floor, started, end,
            backlog, fleet_figures, drained) -> dict[str, Any]:  # fmt: skip
    """The figures and the accounting of a finished shift."""
    order_ids = [p.id for p in paced.placed if p is not None]
    reached = shiftcount.reached(db)
    last_delivery = reached["delivered"][-1] if reached["delivered"] else end
    with mail.sink.lock:
        messages = list(mail.sink.messages)
    accounts = {
        "orders": shiftcount.orders_account(db, payloads, paced.placed),
        "units": shiftcount.units_account(db),
        "webhooks": shiftcount.webhook_account(db, receiver.receiver, order_ids),
        "mails": shiftcount.mail_account(db, messages, order_ids),
    }
    problems = [f"{name}: {p}" for name, (_, ps) in accounts.items() for p in ps]
    problems += [f"shop: {e}" for e in paced.errors]
    if not drained:
        problems.append("webhooks or mails still pending when the wait ended")
    if fleet_figures is None:
        problems.append("the fleet did not report")
    hand = dock.figures(floor)
    return {
        "wall_s": round(last_delivery - started, 1),
        "arrival_s": round(max(paced.sent_at) - started, 1) if paced.sent() else None,
        "shop_late_s": round(paced.late_s, 1),
        "stages": rates(db, started),
        "backlog": backlog,
        "accounts": {name: figures for name, (figures, _) in accounts.items()},
        "fleet": {k: v for k, v in (fleet_figures or {}).items() if k != "windows"},
        "manifests": hand["manifests"],
        "missing_at_handover": hand["missing_at_handover"],
        "carrier_events": sum(carrier.results.values()),
        "problems": problems,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """Rows as a Markdown table (also how the console shows them)."""
    heads = list(rows[0])
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join("" if r[h] is None else str(r[h]) for h in heads) + " |"
              for r in rows]  # fmt: skip
    return "\n".join(lines)


def report(f: dict[str, Any], opts: dict[str, Any]) -> str:
    """What a person reads at the end of a shift."""
    a, fl = f["accounts"], f["fleet"]
    lines = [
        f"whole shift: {opts['orders']} orders, {opts['pickers']} pickers, "
        f"{opts['packers']} pack stations, orders arriving over {opts['arrive_seconds']:.0f} s",
        f"wall time            {f['wall_s']:.1f} s from the first webhook to the last delivery "
        f"(last order in at {f['arrival_s']} s, the shop at worst {f['shop_late_s']} s late); "
        f"the last webhook and mail gone at {f['drained_s']:.1f} s",
        "",
        table(f["stages"]),
        "",
        table(f["backlog"]),
        "",
        f"orders               {a['orders']['taken']} of {a['orders']['sent']} taken; "
        f"final: {', '.join(f'{k} {v}' for k, v in sorted(a['orders']['final'].items()))}",
        f"units                {a['units']['ordered']} ordered, {a['units']['picked']} picked, "
        f"{a['units']['packed']} packed, {a['units']['left_stock']} left the stock, "
        f"{a['units']['packages']} packages",
        f"webhooks             {a['webhooks']['status_changes']} status changes, "
        f"{a['webhooks']['delivered']} delivered, {a['webhooks']['taken_by_receiver']} taken by "
        f"the receiver ({a['webhooks']['retried']} retried, {a['webhooks']['duplicates']} twice)",
        f"mails                {a['mails']['written']} written, {a['mails']['sent']} sent, "
        f"{a['mails']['taken_by_smtp_server']} taken by the SMTP server",
        f"dock and carrier     {f['manifests']} manifests ({f['missing_at_handover']} package "
        f"missing at hand-over, on the next truck), {f['carrier_events']} tracking events",
    ]
    if fl:
        lines.append(
            f"fleet                {fl['scans']} scans, p50 {fl['p50_ms']:.0f} ms, p99 "
            f"{fl['p99_ms']:.0f} ms, max {fl['max_ms']:.0f} ms, {fl['wrong_scans']} wrong, "
            f"{fl['errors']} errors {fl['error_kinds'] or ''}".rstrip()
        )
    lines.append(
        f"the box              load average {f['load_average'][0]:.1f} at the start, "
        f"{f['load_average'][1]:.1f} at the end (2 cores: anything else running shows here)"
    )
    lines.append(f"accounting           {'whole' if not f['problems'] else 'NOT WHOLE'}")
    lines += [f"  {p}" for p in f["problems"]]
    return "\n".join(lines)


def doc_section(f: dict[str, Any], opts: dict[str, Any], text: str) -> str:
    cmd = "make bench-shift" if opts["full"] else (
        f"make bench-shift SHIFT_ARGS=\"--orders {opts['orders']} --pickers {opts['pickers']} "
        f"--packers {opts['packers']}\""
    )  # fmt: skip
    return (
        "## Whole shift\n\n"
        f"`{cmd}` (scripts/bench_shift.py), one run on {machine()}, "
        f"{time.strftime('%Y-%m-%d')}; the fleet, the shop, the dock, the carrier, the "
        "receiver and the SMTP server on the same box (its load average is in the figures).\n\n"
        f"```\n{text}\n```\n"
    )


def _stop_on(signum: int, _frame: object) -> None:
    # Unwinds to run_shift's `finally`: the fleet, the server and its worker, the stages stop.
    raise SystemExit(128 + signum)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--orders", default=10_000, show_default=True, type=click.IntRange(1, 200_000))
@click.option("--pickers", default=200, show_default=True, type=click.IntRange(1, 5_000))
@click.option("--packers", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--arrive-seconds", type=click.FloatRange(0), help="orders come in over this "
              "long [default: 0.03 s per order]")  # fmt: skip
@click.option("--every", default=30.0, show_default=True, help="seconds between backlog rows")
@click.option("--think", default=0.0, show_default=True, help="mean seconds between scans")
@click.option("--wrong-rate", default=0.02, show_default=True, help="share of wrong scans")
@click.option("--timeout", default=1800.0, show_default=True, help="seconds for the shift")
@click.option("--settle", default=900.0, show_default=True, help="seconds to drain after it")
@click.option("--seed", "seed_value", default=1, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), help="folder for data and logs")
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@click.option("--write-docs", is_flag=True, help="put the figures in docs/benchmarks.md")
def main(orders, pickers, packers, arrive_seconds, every, think, wrong_rate, timeout, settle,
         seed_value, out, as_json, write_docs) -> None:  # fmt: skip
    """Run a whole shift end to end and account for every order, unit, webhook and mail."""
    import tempfile

    opts = {
        "orders": orders, "pickers": pickers, "packers": packers,
        "arrive_seconds": orders * 0.03 if arrive_seconds is None else arrive_seconds,
        "every": every, "think": think, "wrong_rate": wrong_rate, "timeout": timeout,
        "settle": settle, "seed": seed_value,
        "full": (orders, pickers, packers) == (10_000, 200, 20),
    }  # fmt: skip
    out = out or Path(tempfile.mkdtemp(prefix="scanfloor-shift-"))
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda s: click.echo(s, err=True)) if as_json else click.echo
    signal.signal(signal.SIGTERM, _stop_on)  # SIGINT already raises KeyboardInterrupt
    figures = run_shift(out, opts, say)
    text = report(figures, opts)
    click.echo(json.dumps(figures, indent=1) if as_json else text)
    if write_docs:
        write_section(BENCHMARKS_MD, "## Whole shift", doc_section(figures, opts, text))
    sys.exit(1 if figures["problems"] else 0)


if __name__ == "__main__":
    main()
