"""Cycle counts under /api: ask for a count, hand one in, approve or reject, schedule, accuracy."""

from __future__ import annotations

from typing import Any, Literal

from flask import current_app, g
from pydantic import BaseModel, Field

from server.api.errors import ApiError
from server.api.models import Query
from server.api.table import Route
from server.core.schemas import MAX_UNITS, Body, Code, Lot, OptText, Text
from server.inventory import counts
from server.store import Store

Stage = Literal["count", "recount", "approval", "done"]


# ---------------------------------------------------------------- models
class CountTaskIn(Body):
    """A bin to count: a supervisor's request (an open task for the bin is returned as is)."""

    warehouse: Code
    location: Code
    reason: OptText = ""


class CountLineIn(Body):
    sku: Code
    lot: Lot = ""
    qty: int = Field(ge=0, le=MAX_UNITS, description="units counted")


class CountIn(Body):
    """A count made without a handheld (on paper): who counted, and what they found per SKU and
    lot. Anything in the bin not listed counts as none."""

    worker: Text = Field(description="who counted; a recount must be another worker")
    lines: list[CountLineIn] = Field(max_length=1000)


class ScheduleIn(Body):
    warehouse: Code | None = Field(None, description="one warehouse; absent: every warehouse")


class CountQuery(Query):
    status: Literal["open", "done"] | None = None
    stage: Stage | None = None
    warehouse: Code | None = None


class AccuracyQuery(Query):
    warehouse: Code | None = None


class CountLineOut(BaseModel):
    round: int = Field(description="1: the first count, 2: the recount")
    sku: str
    lot: str
    expected: int = Field(description="what the system held when the count was handed in")
    counted: int
    worker: str | None


class CountTaskOut(BaseModel):
    id: int
    warehouse: str
    location: str
    sku: str = Field(description="the SKU that raised it (a short pick); empty: the whole bin")
    reason: str
    source: Literal["supervisor", "short_pick", "schedule"]
    stage: Stage
    status: Literal["open", "done"]
    outcome: Literal["matched", "adjusted", "approved", "rejected"] | None
    first_worker: str | None
    second_worker: str | None
    decided_by: str | None
    device: str | None = Field(description="the handheld counting it now")
    created_at: str
    done_at: str | None
    lines: list[CountLineOut] = []


class CountTaskListOut(BaseModel):
    counts: list[CountTaskOut]


class HandInOut(BaseModel):
    task: int
    outcome: Literal["matched", "adjusted", "recount", "approval"]
    location: str


class ScheduleOut(BaseModel):
    created: int
    by_class: dict[str, int]
    warehouses: list[str]
    """The warehouses that got new tasks."""


class BinAccuracy(BaseModel):
    warehouse: str
    location: str
    counts: int
    accurate: int
    accuracy: float | None


class SkuAccuracy(BaseModel):
    sku: str
    lines: int
    accurate: int
    units_off: int
    accuracy: float | None


class AccuracyOut(BaseModel):
    bins: list[BinAccuracy]
    skus: list[SkuAccuracy]


# ---------------------------------------------------------------- views
def _store() -> Store:
    return current_app.extensions["store"]


def _actor() -> str:
    return f"key:{g.get('api_client', '?')}"


def _offer_work(warehouse: str | None = None) -> None:
    """Idle pickers may take the count; the board shows it."""
    hub = current_app.extensions.get("scanfloor.hub")
    if hub is not None:
        hub.offer_work(warehouse)


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, counts.CountError):
        return ApiError(422, str(exc), "invalid_count", exc.problems)
    return ApiError(409, str(exc))


def create_count(body: CountTaskIn) -> tuple[dict[str, Any], int]:
    """Ask for a bin to be counted: a picker with no pick list gets it on the handheld."""
    try:
        task, made = counts.create(_store(), body.warehouse, body.location, body.reason, _actor())
    except counts.CountError as exc:
        raise _refused(exc) from None
    _offer_work(body.warehouse)
    return task, 201 if made else 200


def list_counts(query: CountQuery) -> dict[str, Any]:
    """Count tasks, newest first (at most 500)."""
    return {"counts": counts.tasks(_store(), query.status, query.stage, query.warehouse)}


def get_count(task_id: int) -> dict[str, Any]:
    """One count task with the lines of each round (expected and counted: for supervisors)."""
    try:
        return counts.get(_store(), task_id)
    except KeyError:
        raise ApiError(404, f"no count {task_id}") from None


def hand_in_count(task_id: int, body: CountIn) -> dict[str, Any]:
    """Hand in a count made on paper, judged as the handheld's: within tolerance the bin is set
    at once; over it a recount by another worker, then a supervisor's approval."""
    found: dict[tuple[str, str], int] = {}
    for line in body.lines:
        found[(line.sku, line.lot)] = found.get((line.sku, line.lot), 0) + line.qty
    store = _store()
    try:
        with store.write():
            result = counts.hand_in(store, task_id, found, body.worker)
    except KeyError:
        raise ApiError(404, f"no count {task_id}") from None
    except (counts.CountError, counts.CountConflict) as exc:
        raise _refused(exc) from None
    _offer_work()
    return result


def _decide(task_id: int, approve: bool) -> dict[str, Any]:
    try:
        task = counts.decide(_store(), task_id, approve, _actor())
    except KeyError:
        raise ApiError(404, f"no count {task_id}") from None
    except counts.CountConflict as exc:
        raise _refused(exc) from None
    _offer_work(task["warehouse"])
    return task


def approve_count(task_id: int) -> dict[str, Any]:
    """Approve a recount that still differs: the bin is set to it (stock moves, re-allocation)."""
    return _decide(task_id, True)


def reject_count(task_id: int) -> dict[str, Any]:
    """Reject a recount that still differs: the bin keeps what the system held."""
    return _decide(task_id, False)


def schedule_counts(body: ScheduleIn) -> dict[str, Any]:
    """Make the counts the ABC schedule says are due (config `[counts]`)."""
    try:
        result = counts.schedule(_store(), body.warehouse)
    except counts.CountError as exc:
        raise _refused(exc) from None
    _offer_work(body.warehouse)
    return result


def count_accuracy(query: AccuracyQuery) -> dict[str, Any]:
    """How often a first count found what the system held, per bin and per SKU."""
    return counts.accuracy(_store(), query.warehouse)


API_ROUTES = [
    Route(
        "POST",
        "/counts",
        create_count,
        "Ask for a bin to be counted",
        scope="stock:write",
        body=CountTaskIn,
        response=CountTaskOut,
        status=201,
        also=(200,),
        invalid="invalid_count",
    ),
    Route(
        "GET",
        "/counts",
        list_counts,
        "List count tasks",
        query=CountQuery,
        response=CountTaskListOut,
    ),
    Route(
        "GET",
        "/counts/accuracy",
        count_accuracy,
        "Count accuracy per bin and per SKU",
        query=AccuracyQuery,
        response=AccuracyOut,
    ),
    Route(
        "POST",
        "/counts/schedule",
        schedule_counts,
        "Make the counts the schedule says are due",
        scope="stock:write",
        body=ScheduleIn,
        response=ScheduleOut,
        invalid="invalid_count",
    ),
    Route(
        "GET",
        "/counts/<id:task_id>",
        get_count,
        "Get a count task",
        response=CountTaskOut,
        also=(404,),
    ),
    Route(
        "POST",
        "/counts/<id:task_id>/count",
        hand_in_count,
        "Hand in a count made without a handheld",
        scope="stock:write",
        body=CountIn,
        response=HandInOut,
        also=(404, 409),
        invalid="invalid_count",
    ),
    Route(
        "POST",
        "/counts/<id:task_id>/approve",
        approve_count,
        "Approve a recount that still differs",
        scope="stock:write",
        response=CountTaskOut,
        also=(404, 409),
    ),
    Route(
        "POST",
        "/counts/<id:task_id>/reject",
        reject_count,
        "Reject a recount that still differs",
        scope="stock:write",
        response=CountTaskOut,
        also=(404, 409),
    ),
]
