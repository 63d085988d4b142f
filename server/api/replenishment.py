"""Replenishment under /api: a face's min and max per SKU, the moves that refill faces, the
buyer's reorder suggestions from the demand forecast, and the reorder policies (per SKU and
per ABC class) they are worked out with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from flask import Response, current_app, request
from pydantic import BaseModel, Field

from server.api.auth import actor
from server.api.errors import ApiError
from server.api.models import Query
from server.api.table import Route
from server.core.schemas import MAX_UNITS, Body, Code
from server.inventory import forecasting, policies, replenishing, replenishment
from server.store import Store


# ---------------------------------------------------------------- models
class LimitsIn(Body):
    """What a pick face should hold of a SKU: refilled from reserve below `min`, up to `max`."""

    warehouse: Code
    location: Code = Field(description="a pick face (not a reserve bin)")
    sku: Code
    min: int = Field(ge=0, le=MAX_UNITS, description="a move is made when the face holds less")
    max: int = Field(ge=1, le=MAX_UNITS, description="a move brings the face up to this")


class LimitsQuery(Query):
    warehouse: Code | None = None


class MoveQuery(Query):
    status: Literal["open", "done", "cancelled"] | None = None
    warehouse: Code | None = None


class FaceLimitOut(BaseModel):
    warehouse: str
    location: str
    sku: str
    min: int
    max: int
    on_hand: int = Field(description="what the face holds of the SKU now (every lot)")


class LimitOut(FaceLimitOut):
    task: int | None = Field(description="the face's open move, if it needs one now")


class LimitListOut(BaseModel):
    limits: list[FaceLimitOut]


class MoveOut(BaseModel):
    id: int
    warehouse: str
    sku: str
    name: str
    lot: str
    reserve: str = Field(description="the reserve bin the units come from")
    face: str = Field(description="the pick face they go to")
    qty: int = Field(description="units planned")
    carried: int = Field(description="units scanned at the reserve bin so far")
    moved: int | None = Field(description="units moved, once done")
    urgent: bool = Field(description="picks wait for it (a short pick): handed out first")
    reason: str
    status: Literal["open", "done", "cancelled"]
    stage: Literal["reserve", "item", "face", "done"]
    device: str | None = Field(description="the handheld working it now")
    worker: str | None
    created_at: str
    done_at: str | None
    held_orders: list[str] = Field([], description="orders whose units wait for this move")


class MoveListOut(BaseModel):
    moves: list[MoveOut]


class SuggestionQuery(Query):
    warehouse: Code | None = None
    sku: Code | None = None
    only: Literal["reorder", "overstock"] | None = Field(
        None, description="only SKUs to reorder now, or only overstock"
    )
    format: Literal["json", "csv"] | None = Field(
        None, description="`csv`: the same rows as CSV (as `Accept: text/csv` asks)"
    )


class SuggestionOut(BaseModel):
    warehouse: str
    sku: str
    name: str
    abc: str = Field(description="the SKU's class in the warehouse by units sold (A: most)")
    pattern: Literal["smooth", "intermittent", "erratic", "lumpy", "none"] = Field(
        description="the demand pattern (Syntetos-Boylan) that chose the model"
    )
    model: Literal["SeasonalES", "SES", "CrostonSBA", "none"]
    daily: float = Field(description="forecast units per day (mean over the horizon)")
    sigma: float = Field(description="one-day-ahead forecast error (root mean square)")
    position: int = Field(description="units on hand less reserved, every bin of the warehouse")
    lead_time_days: float
    service_level: float
    cover_target_days: float = Field(description="days of demand a reorder adds")
    safety_stock: float
    reorder_point: float = Field(description="demand over the lead time + safety stock")
    reorder_qty: int = Field(description="units to order now (0: none)")
    cover_days: float | None = Field(description="days the position lasts (null: no demand)")
    overstock: bool = Field(description="cover above `forecast.overstock_days`")
    reorder: bool = Field(description="reorder_qty > 0")
    day: str = Field(description="the last day of history the forecast saw")
    computed_at: str


class SuggestionListOut(BaseModel):
    suggestions: list[SuggestionOut]


class PolicyIn(Body):
    """A SKU's or a class's own reorder policy: each key given wins over the configuration's;
    a key left out (or null) is the configuration's. At least one key."""

    lead_time_days: float | None = Field(
        None, gt=0, le=365, description="days from a reorder to the goods on the shelf"
    )
    service_level: float | None = Field(
        None, ge=0.5, lt=1, description="the chance of not running out before a reorder arrives"
    )
    cover_days: float | None = Field(
        None, ge=0, le=365, description="days of forecast demand a reorder adds"
    )
    overstock_days: float | None = Field(
        None, gt=0, le=3660, description="more days of cover than this is overstock"
    )


class PolicyValues(BaseModel):
    lead_time_days: float | None
    service_level: float | None
    cover_days: float | None
    overstock_days: float | None


class PolicyOut(BaseModel):
    scope: Literal["sku", "class"]
    name: str = Field(description="the SKU, or the class's letter")
    set: PolicyValues = Field(description="set over REST or the CLI (null: not set here)")
    config: PolicyValues = Field(description="the configuration's (null: the class's)")
    set_by: str | None
    set_at: str | None
    suggestions: int = Field(description="stored suggestions worked out with this policy")


class PolicyListOut(BaseModel):
    classes: list[PolicyOut]
    skus: list[PolicyOut] = Field(description="every SKU with a policy of its own")


# ---------------------------------------------------------------- views
def _store() -> Store:
    return current_app.extensions["store"]


def _offer_work(warehouse: str | None = None) -> None:
    """Idle pickers may take a new move; the board shows it."""
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.offer_work(warehouse)


def set_limits(body: LimitsIn) -> dict[str, Any]:
    """Set a face's min and max for a SKU; a face already below the new min gets its move."""
    try:
        out = replenishment.set_limits(
            _store(), body.warehouse, body.location, body.sku, body.min, body.max, actor()
        )
    except replenishment.ReplenError as exc:
        raise ApiError(422, str(exc), "invalid_limits", exc.problems) from None
    if out["task"] is not None:
        _offer_work(body.warehouse)
    return out


def list_limits(query: LimitsQuery) -> dict[str, Any]:
    """Every face's min and max, with what it holds."""
    return {"limits": replenishment.limits(_store(), query.warehouse)}


def list_moves(query: MoveQuery) -> dict[str, Any]:
    """Moves to pick faces, newest first (at most 500)."""
    return {"moves": replenishment.tasks(_store(), query.status, query.warehouse)}


def get_move(task_id: int) -> dict[str, Any]:
    """One move, with the orders held for it."""
    try:
        return replenishment.get(_store(), task_id)
    except KeyError:
        raise ApiError(404, f"no move {task_id}") from None


def cancel_move(task_id: int) -> dict[str, Any]:
    """Drop an open move no handheld holds: nothing moves, its held orders are allocated again."""
    try:
        out = replenishing.cancel(_store(), task_id, actor())
    except KeyError:
        raise ApiError(404, f"no move {task_id}") from None
    except replenishment.ReplenConflict as exc:
        raise ApiError(409, str(exc)) from None
    _offer_work(out["warehouse"])
    return out


def list_suggestions(query: SuggestionQuery) -> dict[str, Any] | Response:
    """The last forecast's reorder suggestions, as JSON or CSV."""
    store = _store()
    for kind, code, table, col in (
        ("warehouse", query.warehouse, "warehouses", "code"),
        ("SKU", query.sku, "products", "sku"),
    ):
        if (
            code is not None
            and store.one(f"SELECT 1 FROM {table} WHERE {col} = ?", (code,)) is None
        ):
            raise ApiError(404, f"unknown {kind} {code}")
    rows = forecasting.suggestions(store, query.warehouse, query.sku, query.only)
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    if query.format == "csv" or (query.format is None and best == "text/csv"):
        return Response(
            forecasting.to_csv(rows),
            mimetype="text/csv",
            headers={"Content-Disposition": 'attachment; filename="suggestions.csv"'},
        )
    return {"suggestions": rows}


def _forecast_settings() -> Any:
    return current_app.config["SETTINGS"].forecast


def list_policies() -> dict[str, Any]:
    """Every class's reorder policy and every SKU's own."""
    return policies.listing(_store(), _forecast_settings())


@contextmanager
def _policy_refusals() -> Iterator[None]:
    """An unknown SKU or class (or, to clear, no policy of its own): 404; bad values: 422."""
    try:
        yield
    except policies.UnknownPolicy as exc:
        raise ApiError(404, str(exc)) from None
    except policies.PolicyError as exc:
        raise ApiError(422, str(exc), "invalid_policy", exc.problems) from None


def _policy_views(scope: str, arg: str, docs: tuple[str, str, str]) -> list[Callable[..., Any]]:
    """The GET, PUT and DELETE views of one scope's policies (`sku` or `class`), whose path
    names the SKU or class `arg`. Each is named as its endpoint and OpenAPI operation
    (`get_sku_policy`, `set_sku_policy`, `clear_sku_policy`) and documented with `docs`."""

    def get(**path: str) -> dict[str, Any]:
        with _policy_refusals():
            return policies.view(_store(), _forecast_settings(), scope, path[arg])

    def put(body: PolicyIn, **path: str) -> dict[str, Any]:
        values = body.model_dump()
        with _policy_refusals():
            return policies.set_policy(
                _store(), _forecast_settings(), scope, path[arg], values, actor()
            )

    def delete(**path: str) -> dict[str, Any]:
        with _policy_refusals():
            return policies.clear(_store(), _forecast_settings(), scope, path[arg], actor())

    views: list[Callable[..., Any]] = [get, put, delete]
    for view, verb, doc in zip(views, ("get", "set", "clear"), docs, strict=True):
        view.__name__ = view.__qualname__ = f"{verb}_{scope}_policy"
        view.__doc__ = doc
    return views


def _policy_routes() -> list[Route]:
    out = [
        Route(
            "GET",
            "/replenishment/policies",
            list_policies,
            "List the reorder policies of every class and of SKUs with their own",
            response=PolicyListOut,
        )
    ]
    for scope, path, arg, what, docs in (
        ("sku", "skus", "sku", "a SKU", (
            "A SKU's own reorder policy: set here and in the configuration.",
            "Set a SKU's reorder policy; its stored suggestions are worked out again at once.",
            "Drop a SKU's policy set here: the configuration's again.",
        )),
        ("class", "classes", "name", "an ABC class", (
            "An ABC class's reorder policy: set here and in the configuration.",
            "Set a class's reorder policy; its SKUs' stored suggestions are worked out again.",
            "Drop a class's policy set here: the configuration's again.",
        )),
    ):  # fmt: skip
        get, put, delete = _policy_views(scope, arg, docs)
        full = f"/replenishment/policies/{path}/<code:{arg}>"
        out += [
            Route("GET", full, get, f"Get {what}'s reorder policy", response=PolicyOut,
                  also=(404,)),
            Route("PUT", full, put, f"Set {what}'s reorder policy (over the configuration's)",
                  scope="stock:write", body=PolicyIn, response=PolicyOut, also=(404,),
                  invalid="invalid_policy"),
            Route("DELETE", full, delete,
                  f"Clear {what}'s reorder policy (back to the configuration's)",
                  scope="stock:write", response=PolicyOut, also=(404,)),
        ]  # fmt: skip
    return out


API_ROUTES = [
    Route(
        "PUT",
        "/replenishment/limits",
        set_limits,
        "Set a pick face's min and max for a SKU",
        scope="stock:write",
        body=LimitsIn,
        response=LimitOut,
        invalid="invalid_limits",
    ),
    Route(
        "GET",
        "/replenishment/limits",
        list_limits,
        "List the pick faces' min and max",
        query=LimitsQuery,
        response=LimitListOut,
    ),
    Route(
        "GET",
        "/replenishment/moves",
        list_moves,
        "List moves to pick faces",
        query=MoveQuery,
        response=MoveListOut,
    ),
    Route(
        "GET",
        "/replenishment/moves/<id:task_id>",
        get_move,
        "Get a move to a pick face",
        response=MoveOut,
        also=(404,),
    ),
    Route(
        "GET",
        "/replenishment/suggestions",
        list_suggestions,
        "List reorder suggestions from the demand forecast (JSON, or CSV)",
        query=SuggestionQuery,
        response=SuggestionListOut,
        also=(404,),
        also_media=("text/csv",),
    ),
    Route(
        "POST",
        "/replenishment/moves/<id:task_id>/cancel",
        cancel_move,
        "Cancel an open move no handheld holds",
        scope="stock:write",
        response=MoveOut,
        also=(404, 409),
    ),
    *_policy_routes(),
]
