"""Carriers' tracking events in: POST /api/carriers/<carrier>/events, signed per carrier."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from pydantic import ValidationError
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from server.api import models as m
from server.api.errors import ApiError, validation_problems
from server.api.table import Route, read_bytes, read_json
from server.config import Settings
from server.core.schemas import CarrierEventsIn, TrackingBatchIn, TrackingEventIn
from server.shipping import tracking


def carrier_events(carrier: str) -> dict[str, Any]:
    """Tracking events from a carrier: one event, or `{"events": [...]}` (up to 500), signed
    per Standard Webhooks with the carrier's `events_secret`: `webhook-signature` is `v1,` +
    base64 HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the
    base64-decoded part of the secret after `whsec_`; `webhook-timestamp` (Unix seconds) must
    be within 5 minutes of the server's clock. A carrier that is not configured (or has no
    `events_secret`) is 404; a missing, wrong or stale signature is 401; a body with problems
    is 422 listing every one; in each case nothing is written. A batch is applied in one
    transaction and answers 200 with one result per event (`unknown_tracking` and
    `wrong_carrier` events are not kept, the others are); a single event with an unknown
    tracking number is 404, one of another carrier's package 409. The same event id again is
    answered `duplicate` and changes nothing."""
    settings: Settings = current_app.config["SETTINGS"]
    conf = settings.carriers.get(carrier)
    if conf is None or not conf.events_secret:
        raise ApiError(404, f"no carrier {carrier!r} takes tracking events here")
    body = read_bytes()  # 415 not JSON, 413 too big
    try:
        Webhook(conf.events_secret).verify(body, dict(request.headers), json_parse=False)
    except (WebhookVerificationError, ValueError):  # ValueError: a garbled header
        raise ApiError(
            401, f"the events are not signed with carrier {carrier}'s events_secret"
        ) from None
    raw, _ = read_json()  # 400 malformed
    batch = isinstance(raw, dict) and "events" in raw
    try:
        parsed = (TrackingBatchIn if batch else TrackingEventIn).model_validate_json(body)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise ApiError(
            422, f"{len(problems)} problem(s) in the events", problems=problems
        ) from None
    events = parsed.events if isinstance(parsed, TrackingBatchIn) else [parsed]
    results = tracking.receive(current_app.extensions["store"], carrier, events)
    if not batch and results[0].result == "unknown_tracking":
        raise ApiError(404, f"no package has tracking number {results[0].tracking}")
    if not batch and results[0].result == "wrong_carrier":
        raise ApiError(409, f"package {results[0].tracking} is not carried by {carrier}")
    accepted = sum(r.result == "accepted" for r in results)
    hub = current_app.extensions.get("scanfloor.hub")
    if accepted and hub is not None:
        hub.board_changed(full=True)  # the board's carrier counts moved
    return {"results": [r.answer() for r in results], "accepted": accepted}


ROUTES: list[Route] = [
    Route(
        "POST",
        "/carriers/<carrier>/events",
        carrier_events,
        "Take a carrier's tracking events",
        raw_body=CarrierEventsIn,
        response=m.TrackingAnswerOut,
        also=(400, 401, 404, 409),
        public=True,  # signed by the carrier instead of an API key
        headers=(
            ("webhook-id", "the message's id (any string the carrier makes; signed)"),
            ("webhook-timestamp", "Unix seconds when it was signed: within 5 minutes of ours"),
            (
                "webhook-signature",
                "v1,<base64 HMAC-SHA256 of webhook-id.webhook-timestamp.body, keyed with the "
                "carrier's events_secret> (space-separated, several allowed)",
            ),
        ),
    ),
]
