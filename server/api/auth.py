"""API keys on /api: `Authorization: Bearer <key>` or `X-API-Key: <key>`."""

from __future__ import annotations

from flask import current_app, g, request

from server.api.errors import ApiError
from server.people import auth
from server.store import Store

BEARER_SCHEME = "bearerAuth"
HEADER_SCHEME = "apiKeyHeader"
SECURITY_SCHEMES = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key as a bearer token. Each operation names the key scope it "
        "needs (`x-required-scope`); `scanfloor api-key NAME --scope SCOPE` makes one.",
    },
    HEADER_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key in its own header; scopes as for bearerAuth.",
    },
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


def require_api_key(scope: str) -> None:
    """Refuse the request with 401 unless it carries a valid, unrevoked, unexpired key,
    and with 403 unless that key has `scope`."""
    store: Store = current_app.extensions["store"]
    found = auth.check_api_key(store, presented_key())
    if found.row is None:
        raise ApiError(
            401,
            f"{found.problem}: send `Authorization: Bearer <key>` or `X-API-Key: <key>`",
            headers={"WWW-Authenticate": 'Bearer realm="scanfloor"'},
        )
    if not found.allows(scope):
        raise ApiError(
            403,
            f"the API key {found.name} lacks the scope {scope} this route needs "
            f"(it has: {found.row['scopes']}); make a key with `scanfloor api-key NAME "
            f"--scope {scope}`",
            "missing_scope",
        )
    g.api_client = found.name


def actor() -> str:
    """Who acts through this request, as the audit log names an API key: `key:NAME`."""
    return f"key:{g.get('api_client', '?')}"
