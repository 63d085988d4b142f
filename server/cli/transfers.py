"""`scanfloor transfers`: suggest moves between warehouses, plan one, list them, show one,
cancel one before it ships, settle the units its receiver set aside."""

from __future__ import annotations

import getpass
import json

import click

from server.cli.options import open_db, settings_options, work_arrived
from server.config import Settings
from server.inventory import transfer_actions as actions
from server.inventory import transfers as use


def _line(text: str) -> tuple[str, int]:
    sku, _, qty = text.rpartition("=")
    if not sku or not qty.isdigit() or int(qty) < 1:
        raise click.BadParameter(f"{text!r}: write SKU=QTY, e.g. SKU-A=5")
    return sku, int(qty)


@click.group("transfers")
def transfers() -> None:
    """Transfers between warehouses: suggested, planned, in transit, received."""


@transfers.command("suggest")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def suggest(settings: Settings, as_json: bool) -> None:
    """Moves that would serve waiting orders and safety stock from other warehouses' spare."""
    store = open_db(settings)
    try:
        found = use.suggestions(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([s.__dict__ for s in found], indent=2))
        return
    if not found:
        click.echo("no transfer suggested")
    for s in found:
        click.echo(
            f"move {s.qty} of {s.sku} from {s.from_warehouse} to {s.to_warehouse} (needs {s.need})"
        )


@transfers.command("plan")
@click.argument("from_warehouse")
@click.argument("to_warehouse")
@click.argument("lines", nargs=-1, required=True)
@click.option("--suggested", is_flag=True, help="it accepts a suggestion (source: suggestion)")
@settings_options
def plan(
    settings: Settings,
    from_warehouse: str,
    to_warehouse: str,
    lines: tuple[str, ...],
    suggested: bool,
) -> None:
    """Plan a transfer of LINES (SKU=QTY ...) from FROM_WAREHOUSE to TO_WAREHOUSE."""
    wanted = [_line(x) for x in lines]
    store = open_db(settings)
    try:
        try:
            made, _ = use.plan(
                store, from_warehouse, to_warehouse, wanted, f"cli:{getpass.getuser()}",
                "suggestion" if suggested else "manual",
            )  # fmt: skip
        except use.TransferError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    click.echo(
        f"{made['transfer']} ({made['order_id']}) {from_warehouse} -> {to_warehouse}: {made['status']}"
    )


@transfers.command("list")
@click.option("--status", type=click.Choice(["planned", "in_transit", "received", "cancelled"]))
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def list_(settings: Settings, status: str | None, as_json: bool) -> None:
    """Transfers, newest first, with their units in transit."""
    store = open_db(settings)
    try:
        rows = use.listed(store, status)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for t in rows:
        units = sum(x["qty"] for x in t["lines"])
        click.echo(
            f"{t['transfer']}  {t['from_warehouse']} -> {t['to_warehouse']}  {t['status']:<10} "
            f"{units} planned, {t['in_transit']} in transit"
        )


@transfers.command("show")
@click.argument("ref")
@settings_options
def show(settings: Settings, ref: str) -> None:
    """One transfer (TR-000001 or its order id), SKU by SKU, as JSON."""
    store = open_db(settings)
    try:
        found = use.get(store, ref)
    finally:
        store.close()
    if found is None:
        raise click.ClickException(f"no transfer {ref}")
    click.echo(json.dumps(found, indent=2))


@transfers.command("cancel")
@click.argument("ref")
@click.option("--reason", default="", help="why, for the audit log and the order's timeline")
@settings_options
def cancel(settings: Settings, ref: str, reason: str) -> None:
    """Cancel transfer REF before it ships: reservations released, picked units put away."""
    store = open_db(settings)
    try:
        try:
            done = actions.cancel(store, ref, f"cli:{getpass.getuser()}", reason)
        except actions.Refused as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    if done["already"]:
        click.echo(f"{done['transfer']} was already cancelled")
        return
    click.echo(
        f"{done['transfer']} cancelled: {done['released']} unit(s) released, "
        f"{len(done['putaway_tasks'])} put-away task(s) at {done['from_warehouse']}"
    )


@transfers.command("over")
@click.argument("ref")
@click.argument("sku")
@click.argument("decision", type=click.Choice(["accept", "reject"]))
@click.option("--lot", default="", help="the lot of the set-aside units (none: not lot-tracked)")
@click.option("--bin", "bin_", default=None, help="accept: the bin of the receiving warehouse")
@click.option("--units", type=int, default=None, help="settle only this many (none: all)")
@click.option("--reject-rest", is_flag=True, help="accept --units into --bin and reject the others")
@click.option("--note", default="", help="a note for the audit log")
@settings_options
def over(
    settings: Settings,
    ref: str,
    sku: str,
    decision: str,
    lot: str,
    bin_: str | None,
    units: int | None,
    reject_rest: bool,
    note: str,
) -> None:
    """Settle the units of SKU set aside when receiving REF: accept them into --bin, or reject;
    all of them, or --units of them (the rest stay set aside, or --reject-rest)."""
    store = open_db(settings)
    try:
        try:
            got = actions.settle(
                store, ref, sku, lot, decision, bin_, f"cli:{getpass.getuser()}", note,
                units, "reject" if reject_rest else "keep",
            )  # fmt: skip
        except actions.Refused as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    done = got["settled"]
    if done["accepted"]:
        work_arrived(settings)
    what = f"{sku}{f' lot {lot}' if lot else ''}"
    said = []
    if done["accepted"]:
        said.append(f"{done['accepted']} accepted into {bin_}")
    if done["rejected"]:
        said.append(f"{done['rejected']} rejected")
    click.echo(
        f"{got['transfer']}: set-aside {what}: {', '.join(said)}; "
        f"{done['set_aside']} still set aside"
    )
