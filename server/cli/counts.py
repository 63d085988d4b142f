"""`scanfloor counts`: ask for a bin to be counted, make the scheduled counts, list, decide."""

from __future__ import annotations

import getpass
import json

import click

from server.cli.options import open_db, settings_options, work_arrived
from server.config import Settings
from server.inventory import counts as counting
from server.inventory.domain.counts import CountClass, Tolerance


def _configure(settings: Settings) -> None:
    c = settings.counts
    counting.configure(
        Tolerance(c.max_variance_units, c.max_variance_pct),
        tuple(CountClass(x.name, x.share, x.every_days) for x in c.classes),
        c.pick_days,
    )


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("counts")
def counts() -> None:
    """Cycle counts: ask for one, make the scheduled ones, list them, approve or reject."""


@counts.command("add")
@click.argument("location")
@click.option("--warehouse", required=True, help="the warehouse code: WH-EAST")
@click.option("--reason", default="", help="why, shown on the board")
@settings_options
def add(settings: Settings, location: str, warehouse: str, reason: str) -> None:
    """Ask for bin LOCATION to be counted (an open task for the bin is kept as it is)."""
    store = open_db(settings)
    try:
        try:
            task, made = counting.create(store, warehouse, location, reason, _actor())
        except counting.CountError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    click.echo(f"count {task['id']}: bin {location} {'asked' if made else 'already asked'}")


@counts.command("schedule")
@click.option("--warehouse", default=None, help="one warehouse (default: every warehouse)")
@settings_options
def schedule(settings: Settings, warehouse: str | None) -> None:
    """Make the counts the ABC schedule says are due (`[counts]` in the config)."""
    _configure(settings)
    store = open_db(settings)
    try:
        try:
            result = counting.schedule(store, warehouse)
        except counting.CountError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    by_class = ", ".join(f"{k}: {v}" for k, v in result["by_class"].items()) or "none due"
    click.echo(f"{result['created']} count(s) made ({by_class})")


@counts.command("list")
@click.option("--status", type=click.Choice(["open", "done"]), default=None)
@click.option("--stage", type=click.Choice(["count", "recount", "approval", "done"]), default=None)
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def list_(settings: Settings, status: str | None, stage: str | None, as_json: bool) -> None:
    """Count tasks, newest first."""
    store = open_db(settings)
    try:
        rows = counting.tasks(store, status, stage)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['warehouse']:<10} {r['location']:<12} {r['stage']:<9} "
            f"{r['outcome'] or '':<9} {r['source']}"
        )


def _decide(settings: Settings, task_id: int, approve: bool) -> None:
    store = open_db(settings)
    try:
        try:
            task = counting.decide(store, task_id, approve, _actor())
        except KeyError:
            raise click.ClickException(f"no count {task_id}") from None
        except counting.CountConflict as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    click.echo(f"count {task_id}: {task['outcome']}")


@counts.command("approve")
@click.argument("task_id", type=int)
@settings_options
def approve(settings: Settings, task_id: int) -> None:
    """Approve a recount that still differs: the bin is set to it."""
    _decide(settings, task_id, True)


@counts.command("reject")
@click.argument("task_id", type=int)
@settings_options
def reject(settings: Settings, task_id: int) -> None:
    """Reject a recount that still differs: the bin keeps what the system held."""
    _decide(settings, task_id, False)
