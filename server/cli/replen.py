"""`scanfloor replen`: set a pick face's min and max, list faces and moves, cancel a move; the
demand forecast, the reorder suggestions from it and the reorder policies they follow."""

from __future__ import annotations

import getpass
import json

import click

from server.cli.options import open_db, settings_options, work_arrived
from server.config import Settings
from server.inventory import forecasting, policies, replenishing, replenishment


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@click.group("replen")
def replen() -> None:
    """Replenishment: a pick face's min and max per SKU, and the moves from reserve."""


@replen.command("limit")
@click.argument("location")
@click.argument("sku")
@click.option("--warehouse", required=True, help="the warehouse code: WH-EAST")
@click.option("--min", "min_qty", type=int, required=True, help="a move is made below this")
@click.option("--max", "max_qty", type=int, required=True, help="a move refills up to this")
@settings_options
def limit(
    settings: Settings, location: str, sku: str, warehouse: str, min_qty: int, max_qty: int
) -> None:
    """Set pick face LOCATION's min and max for SKU (a face below the new min gets its move)."""
    store = open_db(settings)
    try:
        try:
            out = replenishment.set_limits(
                store, warehouse, location, sku, min_qty, max_qty, _actor()
            )
        except replenishment.ReplenError as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    if out["task"] is not None:
        work_arrived(settings)
    move = f"; move {out['task']} open" if out["task"] is not None else ""
    click.echo(f"{location} {sku}: min {min_qty}, max {max_qty} (holds {out['on_hand']}){move}")


@replen.command("limits")
@click.option("--warehouse", default=None, help="one warehouse (default: every warehouse)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def limits(settings: Settings, warehouse: str | None, as_json: bool) -> None:
    """Every face's min and max, with what it holds."""
    store = open_db(settings)
    try:
        rows = replenishment.limits(store, warehouse)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['warehouse']:<10} {r['location']:<12} {r['sku']:<16} "
            f"min {r['min']:>5}  max {r['max']:>5}  holds {r['on_hand']:>5}"
        )


@replen.command("moves")
@click.option("--status", type=click.Choice(["open", "done", "cancelled"]), default=None)
@click.option("--warehouse", default=None, help="one warehouse (default: every warehouse)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def moves(settings: Settings, status: str | None, warehouse: str | None, as_json: bool) -> None:
    """Moves to pick faces, newest first."""
    store = open_db(settings)
    try:
        rows = replenishment.tasks(store, status, warehouse)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['warehouse']:<10} {r['reserve']:<10} -> {r['face']:<10} "
            f"{r['sku']:<14} {r['qty']:>5}  {r['status']:<9} {'urgent' if r['urgent'] else ''}"
        )


@replen.command("cancel")
@click.argument("task_id", type=int)
@settings_options
def cancel(settings: Settings, task_id: int) -> None:
    """Cancel an open move no handheld holds: nothing moves, held orders are allocated again."""
    store = open_db(settings)
    try:
        try:
            replenishing.cancel(store, task_id, _actor())
        except KeyError:
            raise click.ClickException(f"no move {task_id}") from None
        except replenishment.ReplenConflict as exc:
            raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    work_arrived(settings)
    click.echo(f"move {task_id}: cancelled")


@replen.command("forecast")
@click.option("--json", "as_json", is_flag=True, help="print the suggestions as JSON")
@settings_options
def forecast(settings: Settings, as_json: bool) -> None:
    """Forecast every SKU's demand now and store the reorder suggestions (as the worker does
    every `forecast.every_hours`), then print them."""
    store = open_db(settings)
    try:
        forecasting.run(store, settings.forecast)
        rows = forecasting.suggestions(store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        cover = "-" if r["cover_days"] is None else f"{r['cover_days']:.0f}d"
        flag = " OVERSTOCK" if r["overstock"] else ""
        click.echo(
            f"{r['warehouse']:<10} {r['sku']:<16} {r['abc']} {r['pattern']:<12} "
            f"{r['daily']:>7.2f}/day  stock {r['position']:>6}  reorder point "
            f"{r['reorder_point']:>7.1f}  order {r['reorder_qty']:>6}  cover {cover}{flag}"
        )


def _policy_line(p: dict) -> str:
    def one(key: str) -> str:
        if p["set"][key] is not None:
            return f"{p['set'][key]:g} (set)"
        return "class's" if p["config"][key] is None else f"{p['config'][key]:g}"

    return (
        f"{p['scope']:<5} {p['name']:<16} lead {one('lead_time_days')}  service "
        f"{one('service_level')}  cover {one('cover_days')}  overstock {one('overstock_days')}"
    )


@replen.command("policy")
@click.argument("name")
@click.option("--class", "is_class", is_flag=True, help="NAME is an ABC class's letter, not a SKU")
@click.option("--lead-time-days", type=float, default=None, help="days from a reorder to the shelf")
@click.option("--service-level", type=float, default=None, help="0.5 to below 1")
@click.option("--cover-days", type=float, default=None, help="days of demand a reorder adds")
@click.option("--overstock-days", type=float, default=None, help="more cover is overstock")
@click.option("--clear", is_flag=True, help="drop the policy set here: the configuration's again")
@settings_options
def policy(
    settings: Settings, name: str, is_class: bool, lead_time_days: float | None,
    service_level: float | None, cover_days: float | None, overstock_days: float | None,
    clear: bool,
) -> None:  # fmt: skip
    """Set (or with --clear drop) SKU NAME's or class NAME's reorder policy, over the
    configuration's; the stored suggestions it touches are worked out again at once."""
    values = {
        "lead_time_days": lead_time_days, "service_level": service_level,
        "cover_days": cover_days, "overstock_days": overstock_days,
    }  # fmt: skip
    if clear and any(v is not None for v in values.values()):
        raise click.ClickException("--clear takes no policy value")
    scope = "class" if is_class else "sku"
    store = open_db(settings)
    try:
        if clear:
            out = policies.clear(store, settings.forecast, scope, name, _actor())
        else:
            out = policies.set_policy(store, settings.forecast, scope, name, values, _actor())
    except (policies.UnknownPolicy, policies.PolicyError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        store.close()
    click.echo(f"{_policy_line(out)}; {out['suggestions']} suggestion(s) worked out again")


@replen.command("policies")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@settings_options
def list_policies(settings: Settings, as_json: bool) -> None:
    """Every class's reorder policy and every SKU's own: set here, or else the configuration's."""
    store = open_db(settings)
    try:
        out = policies.listing(store, settings.forecast)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for p in (*out["classes"], *out["skus"]):
        click.echo(_policy_line(p))
