"""The route table: one entry per endpoint drives registration, request decoding and OpenAPI."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BaseConverter, IntegerConverter, Map

from server.api.auth import require_api_key
from server.api.errors import ApiError, validation_problems
from server.core.schemas import CODE_IN_PATH, DEVICE_NAME_PATTERN, MAX_ID


class IdConverter(IntegerConverter):
    """`<id:name>`: a row id, 1 to 2^63-1; any other number is 404 before a query runs."""

    def __init__(self, map: Map) -> None:
        super().__init__(map, min=1, max=MAX_ID)


class DeviceNameConverter(BaseConverter):
    """`<device:name>`: a device's name, as enrolment takes it (anything else is 404)."""

    regex = DEVICE_NAME_PATTERN.strip("^$")


class CodeConverter(BaseConverter):
    """`<code:code>`: a channel's (or another) code as one path segment, without "/"."""

    regex = CODE_IN_PATH.strip("^$")


# Every variable part of every route (REST, board API, pages) goes through one of these.
CONVERTERS: dict[str, type[BaseConverter]] = {
    "id": IdConverter,
    "device": DeviceNameConverter,
    "code": CodeConverter,
}


@dataclass(frozen=True)
class Route:
    """An endpoint: the Flask rule, its view, the models it takes and answers with."""

    method: str
    path: str  # a Flask rule, relative to /api: "/orders/<order_id>"
    view: Callable[..., Any]
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other statuses the view may answer (200 on a repeat, 404, 409)
    public: bool = False
    # The API key scope it needs (server/people/auth.py SCOPES); by default `read` for a
    # GET and nothing else: a write route must name its scope or registering it fails.
    scope: str | None = None
    invalid: str = "invalid_body"  # the `error` word of a 422 for this route's body
    # On an invalid body: (raw JSON, problems so far) -> more problems, so one answer lists all.
    more_problems: Callable[[Any, list[tuple[str, str]]], list[tuple[str, str]]] | None = None
    # A body documented but read by the view itself (a signed webhook: the signature covers
    # the raw bytes), and request headers documented as parameters: (name, description).
    raw_body: type[BaseModel] | None = None
    headers: tuple[tuple[str, str], ...] = ()
    # What a success answers with: JSON (`response`), or a document the view returns as a
    # Flask Response (`text/csv`, `text/html`).
    media: str = "application/json"
    # Other media a success may be asked for (`Accept`, or the view's own `format` query),
    # each a document the view returns as a Flask Response: `("text/csv",)`.
    also_media: tuple[str, ...] = ()

    @property
    def endpoint(self) -> str:
        return self.view.__name__

    @property
    def needs(self) -> str | None:
        """The scope a key needs here (None: a public route)."""
        if self.public:
            return None
        if self.scope is not None:
            return self.scope
        if self.method == "GET":
            return "read"
        raise ValueError(f"{self.method} {self.path} names no API key scope")


# No body the API takes nests deeper than a few levels. json.loads gives up on a
# `[[[[...` bomb at Python's recursion limit; anything deeper than this is refused too.
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a decoded JSON value (a scalar is 0)."""
    depth, level = 0, [(value, 1)]
    while level:
        node, d = level.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            depth = max(depth, d)
            level.extend((v, d + 1) for v in node if isinstance(v, (dict, list)))
    return depth


def _cut_at_the_limit(data: bytes) -> bool:
    """A chunked body werkzeug stopped reading at max_content_length, with more to come.

    With no Content-Length, werkzeug reads up to the limit and returns what it has,
    silently cut. One byte more from the server's input (gevent's ends the stream at
    the last chunk) tells a body of exactly the limit from a longer one.
    """
    limit = request.max_content_length
    if limit is None or request.content_length is not None or len(data) < limit:
        return False
    if not request.environ.get("wsgi.input_terminated"):
        return False  # werkzeug read nothing from an unterminated stream
    return bool(request.environ["wsgi.input"].read(1))


def read_bytes() -> bytes:
    """The JSON body's bytes as sent: 415 if not JSON, 413 if too big."""
    if not request.is_json:
        got = request.mimetype or "no content type"
        raise ApiError(415, f"send the body as application/json, not {got}")
    data = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if _cut_at_the_limit(data):
        raise RequestEntityTooLarge()
    return data


def _too_deep() -> ApiError:
    return ApiError(
        400, f"the body is nested deeper than {MAX_JSON_DEPTH} arrays or objects", "malformed_json"
    )


def read_json() -> tuple[Any, bytes]:
    """The body as JSON and as bytes: 415 if not JSON, 413 if too big, 400 if malformed."""
    data = read_bytes()
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", "malformed_json") from None
    except RecursionError:
        raise _too_deep() from None
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise _too_deep()
    return raw, data


def refuse_too_deep(data: bytes) -> None:
    """400 for a body nested deeper than the limit, as read_json; a body that is not JSON at
    all is left to the caller (a shop's webhook keeps it for a person)."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return
    except RecursionError:
        raise _too_deep() from None
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise _too_deep()


def whole_numbers(value: Any) -> tuple[Any, bool]:
    """The JSON value with every integral float (`3.0`, `1e2`) as an int, and whether any was.

    JSON has one number type: to JSON Schema, and so to the OpenAPI document, `3.0` is
    an integer. Taken as one, it still meets every bound; `3.5` or `"3"` are still refused.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value), True
    if isinstance(value, dict):
        items = [(k, *whole_numbers(v)) for k, v in value.items()]
        return {k: v for k, v, _ in items}, any(c for _, _, c in items)
    if isinstance(value, list):
        pairs = [whole_numbers(v) for v in value]
        return [v for v, _ in pairs], any(c for _, c in pairs)
    return value, False


def decode_body(route: Route) -> BaseModel:
    """The body validated against the route's model, or a 422 listing every problem."""
    assert route.body is not None
    raw, data = read_json()
    raw, changed = whole_numbers(raw)
    if changed:
        data = json.dumps(raw).encode()
    try:
        # From the JSON text, strictly: an ISO string is a date, "3" is not a quantity.
        return route.body.model_validate_json(data)
    except ValidationError as exc:
        problems = validation_problems(exc)
        if route.more_problems is not None:
            problems += route.more_problems(raw, problems)
        message = f"{len(problems)} problem(s) in the request body"
        raise ApiError(422, message, route.invalid, problems) from None


def decode_query(model: type[BaseModel]) -> BaseModel:
    """The query string validated against its model, or a 422."""
    # Every parameter is one value: `?warehouse=A&warehouse=B` is not quietly read as A.
    repeated = sorted(k for k, values in request.args.lists() if len(values) > 1)
    if repeated:
        problems = [(k, "given more than once: give it once") for k in repeated]
        raise ApiError(422, "the query string does not fit", "invalid_query", problems)
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise ApiError(422, "the query string does not fit", "invalid_query", problems) from None


def refuse_query_string() -> None:
    """A route that documents no query parameter takes none: any is a 422, as an unknown body
    field is, so `?dry_run=1` on a write is refused rather than ignored."""
    if request.args:
        problems = [(k, "this route takes no query parameters") for k in sorted(request.args)]
        raise ApiError(422, "the query string does not fit", "invalid_query", problems)


def to_response(result: Any, status: int) -> tuple[Response, int]:
    """A view's result (model, dict or list, optionally with a status) as JSON."""
    if isinstance(result, tuple):
        result, status = result
    if isinstance(result, Response):  # a document (CSV, a printable page): as the view made it
        return result, status
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json")
    return jsonify(result), status


def _wrap(route: Route) -> Callable[..., tuple[Response, int]]:
    scope = route.needs

    @wraps(route.view)
    def handler(**path_args: Any) -> tuple[Response, int]:
        if scope is not None:
            require_api_key(scope)
        kwargs = dict(path_args)
        if route.query is not None:
            kwargs["query"] = decode_query(route.query)
        elif scope is not None:  # a public route's callers (probes, carriers, shops) are not ours
            refuse_query_string()
        if route.body is not None:
            kwargs["body"] = decode_body(route)
        return to_response(route.view(**kwargs), route.status)

    return handler


def register(bp: Blueprint, routes: Sequence[Route]) -> None:
    """Add every route of the table to the blueprint."""
    for route in routes:
        bp.add_url_rule(
            route.path, endpoint=route.endpoint, view_func=_wrap(route), methods=[route.method]
        )
