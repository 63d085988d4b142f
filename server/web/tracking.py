"""The customer's public tracking page at /track/<token>: no login, the unguessable link is
the key (128 random bits made when the order is captured, see orders.new_track_token)."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template

from server.notify import customer_view

bp = Blueprint("tracking", __name__)


@bp.get("/track/<token>")
def track_page(token: str) -> tuple[str, int, dict[str, str]]:
    view = customer_view.by_token(current_app.extensions["store"], token)
    headers = {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",  # the link is the key: never pass it on
        "X-Robots-Tag": "noindex",
    }
    if view is None:
        return render_template("track_missing.html"), 404, headers
    return render_template("track.html", **view), 200, headers


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
