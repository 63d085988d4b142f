"""The supervisors' board at /board."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

bp = Blueprint("web", __name__)


@bp.get("/board")
def board_page() -> str:
    return render_template("board.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
