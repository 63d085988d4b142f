"""API keys on /api: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

from flask import current_app, g, request

from server.api.errors import ApiError
from server.services import auth
from server.store import Store

BEARER_SCHEME = "bearerAuth"
HEADER_SCHEME = "apiKeyHeader"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as a bearer token.",
    },
    HEADER_SCHEME: {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
# Either header is enough: a list of alternatives in OpenAPI terms.
SECURITY = [{BEARER_SCHEME: []}, {HEADER_SCHEME: []}]


def presented_key() -> str | None:
    """The key the request carries, from either header."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-API-Key") or None


def require_api_key() -> None:
    """Refuse the request with 401 unless it carries a valid, unrevoked key."""
    store: Store = current_app.extensions["store"]
    key = presented_key()
    name = auth.check_api_key(store, key)
    if name is None:
        why = "no API key given" if key is None else "the API key is not valid"
        raise ApiError(
            401,
            f"{why}: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            headers={"WWW-Authenticate": 'Bearer realm="scanfloor"'},
        )
    g.api_client = name
