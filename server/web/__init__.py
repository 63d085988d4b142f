"""The browser side: the supervisors' board at /board, its JSON routes under /board/api,
the forecast page at /board/forecast (its JSON routes in forecast_api.py), the manifests' printable pages at
/board/manifests/<id>, and /login."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, current_app, render_template
from flask_login import current_user

from server.shipping import manifests
from server.web import board_api, forecast_api, headers, login
from server.web.access import SUPERVISORS, roles_required

bp = Blueprint("web", __name__)


@bp.get("/board")
@roles_required(*SUPERVISORS)
def board_page() -> str:
    settings = current_app.config.get("SETTINGS")
    at_risk = settings.board.at_risk_minutes if settings is not None else 60
    data_dir = str(settings.data_dir) if settings is not None else "var"
    return render_template(
        "board.html", user=current_user, at_risk_minutes=at_risk, data_dir=data_dir
    )


@bp.get("/board/forecast")
@roles_required(*SUPERVISORS)
def forecast_page() -> str:
    """Reorder suggestions and a chart per SKU: demand history, forecast, stock, reorder point."""
    return render_template("forecast.html", user=current_user)


@bp.get("/board/manifests/<id:manifest_id>")
@roles_required(*SUPERVISORS)
def manifest_page(manifest_id: int) -> str:
    """A manifest as the printable page the driver signs, for a supervisor at the board (the
    same page as `GET /api/carriers/<carrier>/manifests/<id>` with an API key)."""
    found = manifests.get(current_app.extensions["store"], manifest_id)
    if found is None:
        abort(404)
    return render_template("manifest.html", m=found, rows=manifests.rows(found))


def init_app(app: Flask) -> None:
    headers.init_app(app)  # a CSP header on every HTML page; /favicon.ico
    login.init_app(app)
    app.register_blueprint(bp)
    app.register_blueprint(board_api.bp)
    app.register_blueprint(forecast_api.bp)
