"""`scanfloor channel` and `scanfloor webhook`: the shops' side of the admin CLI."""

from __future__ import annotations

import sys

import click

from server.capture import channels
from server.cli.options import open_db, settings_options
from server.config import Settings
from server.notify import webhooks


@click.group()
def channel() -> None:
    """Sales channels: shipping policy and the Shopify webhook secret."""


@channel.command("set")
@click.argument("name")
@click.option(
    "--shopify-secret",
    help="the secret Shopify signs this channel's webhooks with ('-' reads it from stdin)",
)
@click.option("--no-shopify-secret", is_flag=True, help="remove the Shopify secret")
@click.option("--allow-split/--no-allow-split", default=None, help="ship from several warehouses")
@click.option(
    "--allow-partial/--no-allow-partial",
    default=None,
    help="ship what is in stock, backorder the rest",
)
@settings_options
def channel_set(
    settings: Settings,
    name: str,
    shopify_secret: str | None,
    no_shopify_secret: bool,
    allow_split: bool | None,
    allow_partial: bool | None,
) -> None:
    """Create or change a channel; what is not given stays as it is."""
    if shopify_secret is not None and no_shopify_secret:
        raise click.UsageError("--shopify-secret and --no-shopify-secret exclude each other")
    if shopify_secret == "-":
        shopify_secret = sys.stdin.readline().strip()
        if not shopify_secret:
            raise click.ClickException("no secret on stdin")
    if no_shopify_secret:
        shopify_secret = ""
    if shopify_secret and not all(0x21 <= ord(c) <= 0x7E for c in shopify_secret):
        raise click.ClickException("the Shopify secret holds only printable ASCII, no spaces")
    store = open_db(settings)
    try:
        got = channels.set_channel(store, name, allow_split, allow_partial, shopify_secret)
    finally:
        store.close()
    yes = {True: "yes", False: "no"}
    click.echo(
        f"channel {got['code']}: split {yes[got['allow_split']]}, "
        f"partial {yes[got['allow_partial']]}, "
        f"Shopify secret {'set' if got['shopify'] else 'not set'}"
    )


@click.group()
def webhook() -> None:
    """Webhook subscriptions: order status changes posted to the shops."""


@webhook.command("add")
@click.argument("url")
@click.option(
    "--events",
    required=True,
    help=f"comma-separated: {','.join(webhooks.EVENTS)}",
)
@click.option(
    "--secret",
    help="signing secret, whsec_ + base64 (default: one is made and printed, this once)",
)
@click.option("--channel", "channel_code", help="only this channel's orders (default: all)")
@settings_options
def webhook_add(
    settings: Settings, url: str, events: str, secret: str | None, channel_code: str | None
) -> None:
    """Subscribe URL to order events, posted signed per Standard Webhooks."""
    wanted = [e.strip() for e in events.split(",") if e.strip()]
    store = open_db(settings)
    try:
        sub, made = webhooks.subscribe(
            store, url, wanted, secret, channel_code, settings.webhooks.allowed_hosts
        )
    except webhooks.SubscriptionError as exc:
        for where, message in exc.problems:
            click.echo(f"  {where}: {message}", err=True)
        raise click.ClickException("the subscription was not made") from None
    finally:
        store.close()
    click.echo(f"subscription {sub['id']}: {sub['url']} ({','.join(sub['events'])})")
    if made:
        click.echo(f"secret (shown once): {made}")


@webhook.command("list")
@settings_options
def webhook_list(settings: Settings) -> None:
    """Subscriptions in force, with their pending and dead deliveries."""
    store = open_db(settings)
    try:
        subs = webhooks.list_subscriptions(store)
    finally:
        store.close()
    if not subs:
        click.echo("no webhook subscriptions")
    for s in subs:
        scope = f" channel {s['channel']}" if s["channel"] else ""
        click.echo(
            f"{s['id']}  {s['url']}  {','.join(s['events'])}{scope}  "
            f"pending {s['pending']}, dead {s['dead']}"
        )


@webhook.command("remove")
@click.argument("sub_id", metavar="ID", type=click.IntRange(1, 2**63 - 1))
@settings_options
def webhook_remove(settings: Settings, sub_id: int) -> None:
    """Stop posting to a subscription; what it had not delivered is dropped."""
    store = open_db(settings)
    try:
        dropped = webhooks.unsubscribe(store, sub_id)
    except KeyError:
        raise click.ClickException(f"no webhook subscription {sub_id}") from None
    finally:
        store.close()
    click.echo(f"subscription {sub_id} removed ({dropped} undelivered dropped)")
