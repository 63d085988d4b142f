"""The forecast page's JSON routes under /board/api: the stored reorder suggestions with their
charts and the policy each is worked out with, the same rows as CSV, and a supervisor setting
or clearing a SKU's or a class's reorder policy (server/inventory/policies.py, as REST and the
CLI do). As the board's other routes: for supervisors, a POST carries the page's CSRF token,
each change is audited with who made it, and bad input gets a 4xx `{"error": sentence}` and
changes nothing."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from server.board.supervise import Refused
from server.config import ForecastSettings
from server.inventory import forecasting, policies
from server.store import Store
from server.web.access import SUPERVISORS, current_actor, roles_required

bp = Blueprint("board_forecast", __name__, url_prefix="/board/api")
MAX_CHARTS = 60  # SKUs charted on the forecast page at once: reorders first
MAX_TEXT = 200  # the longest warehouse code echoed back in a refusal


def _store() -> Store:
    return current_app.extensions["store"]


def _settings() -> ForecastSettings:
    settings = current_app.config.get("SETTINGS")
    return settings.forecast if settings is not None else ForecastSettings()


@bp.errorhandler(Refused)
def _refused(e: Refused) -> tuple[Response, int]:
    return jsonify(error=str(e)), e.status


def _forecast_rows(series: bool) -> list[dict[str, Any]]:
    """The stored suggestions the query asks for (`?warehouse=`, `?only=reorder|overstock`)."""
    store = _store()
    unknown = sorted(set(request.args) - {"warehouse", "only"})
    if unknown:
        raise Refused(400, f"unknown parameter(s) {', '.join(unknown)}")
    warehouse = request.args.get("warehouse") or None
    only = request.args.get("only") or None
    if only not in (None, "reorder", "overstock"):
        raise Refused(400, "only must be reorder or overstock")
    if (
        warehouse is not None
        and store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse[:MAX_TEXT],)) is None
    ):
        raise Refused(404, f"unknown warehouse {warehouse[:MAX_TEXT]}")
    return forecasting.suggestions(store, warehouse, only=only, series=series)


@bp.get("/forecast")
@roles_required(*SUPERVISORS)
def forecast() -> Response:
    """The last forecast per SKU with its history and forecast per day, for the forecast
    page's charts (at most MAX_CHARTS, reorders first), each with its policy in force key by
    key and where each key comes from; and every class's policy."""
    store = _store()
    with store.read():
        rows = _forecast_rows(series=True)
        shown = rows[:MAX_CHARTS]
        classes = policies.on_page(store, _settings(), shown)
        warehouses = [r["code"] for r in store.all("SELECT code FROM warehouses ORDER BY code")]
    return jsonify(
        suggestions=shown,
        total=len(rows),
        limit=MAX_CHARTS,
        warehouses=warehouses,
        classes=classes,
        keys=[{"key": k, "label": policies.LABELS[k]} for k in policies.KEYS],
    )


@bp.get("/forecast.csv")
@roles_required(*SUPERVISORS)
def forecast_csv() -> Response:
    """The same suggestions as CSV (as `GET /api/replenishment/suggestions?format=csv`)."""
    return Response(
        forecasting.to_csv(_forecast_rows(series=False)),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="scanfloor-suggestions.csv"'},
    )


def _whose(scope: str, name: str) -> str:
    return f"{name}'s" if scope == "sku" else f"class {name}'s"


@bp.post("/forecast/policies/<any(sku, class):scope>/<code:name>")
@roles_required(*SUPERVISORS)
def set_policy(scope: str, name: str) -> Response:
    """Set a SKU's or a class's reorder policy (body: any of the policy keys, a number each,
    null or left out for the configuration's); its stored suggestions are worked out again."""
    body = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(body, dict):
        raise Refused(400, "the body must be a JSON object of policy keys")
    try:
        out = policies.set_policy(_store(), _settings(), scope, name, body, current_actor())
    except policies.UnknownPolicy as exc:
        raise Refused(404, str(exc)) from None
    except policies.PolicyError as exc:
        told = "; ".join(f"{policies.LABELS.get(f, f)}: {why}" for f, why in exc.problems)
        raise Refused(422, f"{_whose(scope, name)} policy was not set: {told}") from None
    given = ", ".join(f"{policies.LABELS[k]} {v:g}" for k, v in out["set"].items() if v is not None)
    return jsonify(ok=True, policy=out, done=f"{_whose(scope, name)} policy set: {given}")


@bp.post("/forecast/policies/<any(sku, class):scope>/<code:name>/clear")
@roles_required(*SUPERVISORS)
def clear_policy(scope: str, name: str) -> Response:
    """Drop a SKU's or a class's policy set here: the configuration's again."""
    try:
        out = policies.clear(_store(), _settings(), scope, name, current_actor())
    except policies.UnknownPolicy as exc:
        raise Refused(404, str(exc)) from None
    done = f"{_whose(scope, name)} policy cleared: the configuration's again"
    return jsonify(ok=True, policy=out, done=done)
