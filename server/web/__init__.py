"""The browser side: the supervisors' board at /board, and /login."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template
from flask_login import current_user

from server.web import login
from server.web.access import SUPERVISORS, roles_required

bp = Blueprint("web", __name__)


@bp.get("/board")
@roles_required(*SUPERVISORS)
def board_page() -> str:
    return render_template("board.html", user=current_user)


def init_app(app: Flask) -> None:
    login.init_app(app)
    app.register_blueprint(bp)
