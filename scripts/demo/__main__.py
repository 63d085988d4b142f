"""`scanfloor demo` (also `python -m scripts.demo`, `make demo`): run the demo floor."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import click

from scripts.demo import run, try_handheld


def _stop_on(signum: int, _frame: object) -> None:
    # Unwinds to the `finally` that stops the server, devices, printers and proxies.
    raise SystemExit(128 + signum)


def _numbers(shop_numbers: list[str]) -> str:
    """(#1068, #1069, #1070): which orders, by the numbers people know them by."""
    return f"({', '.join(shop_numbers)})" if shop_numbers else ""


def _places(a: dict) -> str:
    """How the orders' addresses were placed on the map."""
    parts = [f"{a['given']} by the shop's coordinates", f"{a['postcode']} by postcode"]
    parts.append(f"{a['city']} by city {_numbers(a['by_city'])}".rstrip())
    parts.append(f"{a['none']} not placed {_numbers(a['not_placed'])}".rstrip())
    return ", ".join(parts)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="folder for data, logs and labels"
)
@click.option(
    "--orders",
    "orders_count",
    default=30,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="orders to send",
)
@click.option("--seed", "seed_value", default=7, show_default=True, help="random seed")
@click.option(
    "--wrong-rate",
    default=0.05,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="share of wrong scans by the workers",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="seconds to wait for packing",
)
@click.option(
    "--serve", is_flag=True, help="keep the server running afterwards, to look at the board"
)
@click.option(
    "--seed-only", is_flag=True, help="only seed a site in OUT/data (catalogue, devices, orders)"
)
def demo(
    out: Path | None,
    orders_count: int,
    seed_value: int,
    wrong_rate: float,
    timeout: float,
    serve: bool,
    seed_only: bool,
) -> None:
    """Run the demo floor: seed, real server, simulated devices, virtual printers."""
    out = out or Path("demo-out") / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and any(out.iterdir()):
        raise click.ClickException(f"{out} is not empty; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    if seed_only:
        run.seed_only(out, seed_value, orders_count, say=click.echo)
        return
    t0 = time.monotonic()
    floor = run.Floor(out=out)
    signal.signal(signal.SIGTERM, _stop_on)  # SIGINT already raises KeyboardInterrupt
    try:
        run.setup(floor, seed_value, orders_count, wrong_rate, say=click.echo)
        run.disturb(floor, say=click.echo)
        run.wait_until_packed(floor, timeout, say=click.echo)
        for proc in floor.devices:
            run.procs.stop(proc)
        run.settle(floor, say=click.echo)
        figures = run.summary(floor)
        figures["png_previews"] = run.previews(floor)
        figures["seconds"] = round(time.monotonic() - t0, 1)
        (out / "summary.json").write_text(json.dumps(figures, indent=2))
        o = figures["orders"]
        click.echo("")
        click.echo("scanfloor demo — summary")
        click.echo(
            f"  orders in            {figures['orders_from_shopify']} through the signed "
            "Shopify webhook"
        )
        click.echo(f"  orders packed        {figures['packed']}")
        click.echo(
            f"  orders shipped       {figures['shipped']}"
            + ("" if figures["handed_over_in_run"] else " (no dock hand-over in this run)")
        )
        click.echo(
            f"  orders delivered     {figures['delivered']}"
            + ("" if figures["carried_in_run"] else " (no carrier in this run)")
            + "".join(f", {o[s]} {s}" for s in ("returned", "exception") if o.get(s))
        )
        click.echo(
            f"  orders backordered   {o.get('backordered', 0)} {_numbers(figures['backordered'])}"
        )
        if o.get("cancelled"):
            click.echo(f"  orders cancelled     {o['cancelled']} {_numbers(figures['cancelled'])}")
        click.echo(f"  addresses placed     {_places(figures['addresses'])}")
        click.echo(f"  scans                {figures['scans']}")
        click.echo(f"  wrong scans caught   {figures['wrong_scans']}")
        click.echo(f"  labels printed       {figures['labels_printed']}")
        click.echo(
            f"  packages weighed     {figures['packages_weighed']}, "
            f"{figures['packages_held']} held for their weight"
        )
        click.echo(
            f"  walking              {figures['walk_m_per_pick']} m per pick on {figures['pick_lists']} batched "
            f"lists ({figures['walk_m_per_pick_one_order_per_list']} m with one order per list)"
        )
        click.echo(
            f"  network cuts survived: {figures['network_cuts_survived']}, "
            f"scans lost: {figures['scans_lost']} "
            f"({figures['scans_offline']} scans made offline)"
        )
        click.echo(
            f"  scan round trip      p50 {figures['rtt_p50_ms']} ms, p99 {figures['rtt_p99_ms']} ms"
        )
        click.echo(
            f"  labels               {figures['labels_dir']} (.zpl, {figures['png_previews']} .png previews)"
        )
        for stage in floor.stages:
            for line in stage.lines(figures.get(stage.key, {})):
                click.echo(line)
        if figures["followed"]:
            f = figures["followed"]
            click.echo(
                f"  one order            {f['shop_number']} ({f['order']}): {' → '.join(f['steps'])}"
            )
            for told in f["told"]:
                click.echo(f"                       {told}")
            for step in f["step_by_step"]:
                said = "; ".join(step["told"]) or "-"
                click.echo(f"                         {step['status']:<17} {said}")
            click.echo(f"  tracking page        {f['tracking_url']}")
        click.echo(f"  board                {floor.base}/board ({floor.login})")
        click.echo(
            f"  took                 {figures['seconds']} s; figures in {out / 'summary.json'}"
        )
        if serve:
            click.echo(f"\nBoard: {floor.base}/board ({floor.login}) — Ctrl-C to stop")
            for line in _put_work(out, floor):
                click.echo(line)
            if figures["followed"]:
                f = figures["followed"]
                click.echo(f"Tracking page of {f['shop_number']}: {f['tracking_url']}")
            handheld = try_handheld.enrol(floor)
            click.echo(
                f"Handheld: {try_handheld.command(handheld)}   "
                f"(in a second terminal: {try_handheld.NAME}, a picker's screen; "
                "type or paste barcodes, Enter after each)"
            )
            while floor.server.poll() is None:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        floor.stop()


def _put_work(out: Path, floor: run.Floor) -> list[str]:
    """How to put more work on the served board: the CLI on the demo's data, or REST with the
    demo's API key; `demo-out/latest` points at the newest run."""
    data = out / "data"
    latest = out.parent / "latest"
    if out.parent.name == "demo-out" and (latest.is_symlink() or not latest.exists()):
        latest.unlink(missing_ok=True)
        latest.symlink_to(out.name)
        data = latest / "data"
    key = floor.api.headers.get("Authorization", "").removeprefix("Bearer ")
    return [
        f"API key: {key}",
        "Put work on the board (then it shows as pick lists):",
        f"  .venv/bin/scanfloor import --data-dir {data} ORDERS.csv"
        f" && .venv/bin/scanfloor allocate --data-dir {data}",
        f"  curl -X POST {floor.base}/api/orders -H 'Authorization: Bearer {key}'"
        " -H 'Content-Type: application/json' -d @ORDER.json",
        "  (ORDERS.csv as docs/examples/orders.csv, with SKUs of the demo's catalogue;"
        " see docs/board.md)",
    ]


if __name__ == "__main__":
    demo(prog_name="scanfloor demo")
