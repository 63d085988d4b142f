"""JSON errors for /api: one exception to raise, handlers that turn HTTP errors into ErrorOut."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from server.core.schemas import ErrorOut, Problem

# The `error` word a client can switch on, by HTTP status.
ERROR_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    500: "internal_error",
}


class ApiError(Exception):
    """An error a handler answers with: status, error word, message, and the problems found."""

    def __init__(
        self,
        status: int,
        message: str,
        error: str | None = None,
        problems: Iterable[tuple[str, str]] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.headers = headers or {}
        self.status = status
        self.error = error or ERROR_CODES.get(status, "error")
        self.message = message
        self.problems = list(problems)

    def response(self) -> tuple[Response, int]:
        """The JSON response for this error."""
        body = ErrorOut(
            error=self.error,
            message=self.message,
            problems=[Problem(field=f, message=m) for f, m in self.problems],
        )
        response = jsonify(body.model_dump(mode="json"))
        response.headers.update(self.headers)
        return response, self.status


@contextmanager
def refusals(*kinds: type[Exception]) -> Iterator[None]:
    """A use case's refusal that carries its own HTTP status (`status`: 404, 409, 422), the
    same it gives the board, answered with that status and its sentence, and with its
    `problems` ((field, why): what a 422 lists) when it has them."""
    try:
        yield
    except kinds as exc:
        problems = getattr(exc, "problems", ())
        raise ApiError(exc.status, str(exc), problems=problems) from None  # type: ignore[attr-defined]


def field_path(loc: Sequence[str | int]) -> str:
    """A pydantic error location as a client writes it: `lines[0].qty`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def validation_problems(exc: ValidationError) -> list[tuple[str, str]]:
    """Every problem pydantic found, as (field, message)."""
    return [(field_path(err["loc"]), err["msg"]) for err in exc.errors()]


def _is_api() -> bool:
    return request.path == "/api" or request.path.startswith(("/api/", "/webhooks/"))


def init_errors(bp: Blueprint) -> None:
    """Register the handlers: ApiError everywhere, HTTP errors as JSON under /api only."""

    @bp.app_errorhandler(ApiError)
    def _api_error(exc: ApiError) -> tuple[Response, int]:
        return exc.response()

    @bp.app_errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if not _is_api():
            return exc  # the board and static files keep Flask's own pages
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 413:
            message = "the request body is larger than this server accepts"
        response, status = ApiError(status, message).response()
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response, status
