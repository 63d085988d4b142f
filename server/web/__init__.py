"""The supervisors' board at /board, and its JSON routes under /board/api."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template

from server.web import board_api
from server.web.access import SUPERVISORS, roles_required

bp = Blueprint("web", __name__)


@bp.get("/board")
@roles_required(*SUPERVISORS)
def board_page() -> str:
    return render_template("board.html")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(board_api.bp)
