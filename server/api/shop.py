"""Shops: Shopify's webhooks in (/webhooks/shopify/<channel>), channel secrets, what came in,
and the webhook subscriptions and deliveries that tell the shops (under /api)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, request

from server.api import models as m
from server.api.errors import ApiError
from server.api.table import Route, read_bytes, refuse_too_deep, register
from server.capture import channels
from server.capture import shopify as shopify_service
from server.capture.domain.shopify import ShopifyOrder
from server.core.schemas import ChannelSetIn, WebhookSubscriptionIn
from server.notify import webhooks
from server.notify.domain import destinations
from server.store import Store

hooks = Blueprint("webhooks_in", __name__, url_prefix="/webhooks")


def _store() -> Store:
    return current_app.extensions["store"]


def _offer_work() -> None:
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.offer_work()


# ---------------------------------------------------------------- Shopify webhooks in
def shopify_webhook(channel: str) -> dict[str, Any]:
    """Shopify's order webhooks (`orders/create`, `orders/updated`, `orders/cancelled`),
    refunds (`refunds/create`: the lines restocked as `return` authorise a return) and returns
    (`returns/approve` authorises one, `returns/decline` and `returns/cancel` cancel it while
    nothing was received, the other `returns/*` are noted) for a channel, signed with the channel's secret (`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of
    the raw body). A wrong or missing signature is 401 and changes nothing; a resend of a
    webhook id answers as the first; a body that cannot be taken is 422 with every problem and
    is kept (`GET /api/inbound-webhooks?status=rejected`); a `returns/update` whose shape is
    not the one we read is 200 `ignored`, changes nothing and is kept with its problems and
    body. A body nested deeper than 32 arrays or objects is 400, as on every route, and is not
    kept."""
    body = read_bytes()
    refuse_too_deep(body)
    try:
        outcome = shopify_service.receive(
            _store(),
            channel,
            request.headers.get("X-Shopify-Topic", ""),
            request.headers.get("X-Shopify-Webhook-Id") or None,
            request.headers.get("X-Shopify-Hmac-Sha256"),
            body,
        )
    except shopify_service.BadSignature as exc:
        raise ApiError(401, str(exc)) from None
    if outcome.status == "rejected":
        message = f"{len(outcome.problems)} problem(s) in the Shopify order; kept for a person"
        raise ApiError(422, message, "invalid_shopify_order", outcome.problems)
    if outcome.created or outcome.cancelled:
        _offer_work()
    return outcome.answer()


HOOK_ROUTES: list[Route] = [
    Route(
        "POST",
        "/shopify/<channel>",
        shopify_webhook,
        "Take a Shopify order webhook",
        raw_body=ShopifyOrder,
        response=m.ShopifyAnswerOut,
        also=(401,),
        public=True,  # signed by the shop instead of an API key
        headers=(
            (
                "X-Shopify-Topic",
                "orders/create, orders/updated, orders/cancelled, refunds/create or returns/*",
            ),
            ("X-Shopify-Hmac-Sha256", "base64 HMAC-SHA256 of the raw body, the channel's secret"),
            ("X-Shopify-Webhook-Id", "the webhook's id: a resend is applied once"),
        ),
    ),
]
register(hooks, HOOK_ROUTES)


# ---------------------------------------------------------------- under /api
def put_channel(code: str, body: ChannelSetIn) -> dict[str, Any]:
    """Create or change one channel: policy and Shopify secret (write-only); what is left out
    stays. A code that is not 1-64 of A-Z a-z 0-9 . _ - matches no route: 404."""
    return channels.set_channel(
        _store(), code, body.allow_split, body.allow_partial, body.shopify_secret
    )


def list_inbound(query: m.InboundQuery) -> dict[str, Any]:
    """Webhooks the shops sent, newest first; `status=rejected` for those a person must look at."""
    rows = shopify_service.list_inbound(_store(), query.status, query.channel, query.limit)
    return {"webhooks": rows}


def add_subscription(body: WebhookSubscriptionIn) -> tuple[dict[str, Any], int]:
    """Post these order events to a URL, signed (Standard Webhooks); a made secret is shown once.
    A `channel` must be one the server knows (set, or named by an order): else 422 `channel`."""
    try:
        allowed = current_app.config["SETTINGS"].webhooks.allowed_hosts
        sub, made = webhooks.subscribe(
            _store(), body.url, body.events, body.secret, body.channel, allowed
        )
    except webhooks.SubscriptionError as exc:
        raise ApiError(422, str(exc), "invalid_body", exc.problems) from None
    return {**sub, "secret": made}, 201


def subscription_problems(raw: Any, found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What subscribe() would say too, when the body's shape is already refused: one answer
    lists every problem (the URL's address, the secret, an unknown channel)."""
    if not isinstance(raw, dict):
        return []
    more: list[tuple[str, str]] = []
    said = {field for field, _ in found}
    url, secret = raw.get("url"), raw.get("secret")
    allowed = current_app.config["SETTINGS"].webhooks.allowed_hosts
    if "url" not in said and isinstance(url, str):
        more += [("url", why)] if (why := destinations.url_problem(url, allowed)) else []
    if "secret" not in said and isinstance(secret, str):
        more += [("secret", why)] if (why := webhooks.secret_problem(secret)) else []
    channel = raw.get("channel")
    if "channel" not in said and isinstance(channel, str):
        more += [("channel", why)] if (why := webhooks.channel_problem(_store(), channel)) else []
    return more


def list_subscriptions() -> dict[str, Any]:
    """Webhook subscriptions in force (secrets are never returned)."""
    return {"subscriptions": webhooks.list_subscriptions(_store())}


def remove_subscription(sub_id: int) -> dict[str, Any]:
    """Stop posting to a subscription; what it had not delivered is dropped."""
    try:
        dropped = webhooks.unsubscribe(_store(), sub_id)
    except KeyError:
        raise ApiError(404, f"no webhook subscription {sub_id}") from None
    return {"id": sub_id, "dropped": dropped}


def list_deliveries(query: m.DeliveryQuery) -> dict[str, Any]:
    """Webhook deliveries, newest first: `status=dead` is the dead-letter list."""
    rows = webhooks.list_deliveries(
        _store(), query.status, query.subscription, query.order, query.limit
    )
    return {"deliveries": rows}


def retry_delivery(delivery_id: int) -> dict[str, Any]:
    """Send a dead delivery again now, with a fresh retry window and the same webhook-id."""
    try:
        return webhooks.retry(_store(), delivery_id)
    except KeyError:
        raise ApiError(404, f"no webhook delivery {delivery_id}") from None
    except webhooks.NotRetryable as exc:
        raise ApiError(409, str(exc)) from None


API_ROUTES: list[Route] = [
    Route(
        "PUT",
        "/channels/<code:code>",
        put_channel,
        "Set one channel",
        scope="channels:write",
        body=ChannelSetIn,
        response=m.ChannelOut,
    ),
    Route(
        "GET",
        "/inbound-webhooks",
        list_inbound,
        "List webhooks the shops sent",
        query=m.InboundQuery,
        response=m.InboundListOut,
    ),
    Route(
        "POST",
        "/webhook-subscriptions",
        add_subscription,
        "Subscribe a URL to order events",
        scope="webhooks:write",
        body=WebhookSubscriptionIn,
        more_problems=subscription_problems,
        response=m.SubscriptionMadeOut,
        status=201,
    ),
    Route(
        "GET",
        "/webhook-subscriptions",
        list_subscriptions,
        "List webhook subscriptions",
        response=m.SubscriptionListOut,
    ),
    Route(
        "DELETE",
        "/webhook-subscriptions/<id:sub_id>",
        remove_subscription,
        "Remove a webhook subscription",
        scope="webhooks:write",
        response=m.UnsubscribedOut,
        also=(404,),
    ),
    Route(
        "GET",
        "/webhook-deliveries",
        list_deliveries,
        "List webhook deliveries",
        query=m.DeliveryQuery,
        response=m.DeliveryListOut,
    ),
    Route(
        "POST",
        "/webhook-deliveries/<id:delivery_id>/retry",
        retry_delivery,
        "Retry a dead webhook delivery",
        scope="webhooks:write",
        response=m.DeliveryOut,
        also=(404, 409),
    ),
]
