"""Who may see what in the browser: log-in sessions (Flask-Login) and roles.

Pages and JSON routes under /board take `@roles_required(...)`; the /board Socket.IO
namespace asks `board_socket_allowed()` at connect. Only people log in here: a device
token or an API key opens nothing in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import jsonify, redirect, render_template, request, url_for
from flask_login import UserMixin, current_user

from server.people.users import SUPERVISORS

__all__ = ["SUPERVISORS", "User", "board_socket_allowed", "current_actor", "roles_required"]


class User(UserMixin):
    """A logged-in person. The session names the user, the user's session epoch and when the
    password last changed: a log-out, a new password, a new role (each raises the epoch) or
    removing the user ends every session at once (server/people/users.py)."""

    def __init__(self, row: dict[str, Any]):
        self.db_id = row["id"]
        self.name = row["name"]
        self.role = row["role"]
        self.epoch = row["session_epoch"]
        self.stamp = row["password_changed_at"]

    def get_id(self) -> str:
        return f"{self.db_id}:{self.epoch}:{self.stamp}"


def _wants_json() -> bool:
    return request.path.startswith("/board/api") or request.is_json


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view for these roles only: a page sends strangers to /login and others to a 403
    page; a JSON route under /board/api answers 401 or 403 JSON."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                if _wants_json():
                    return jsonify(error="unauthorized", message="log in at /login first"), 401
                return redirect(url_for("login.login_page", next=request.full_path.rstrip("?")))
            if current_user.role not in roles:
                message = f"{current_user.name} ({current_user.role}) may not open this"
                if _wants_json():
                    return jsonify(error="forbidden", message=message), 403
                return render_template("no_access.html", user=current_user, roles=roles), 403
            return view(*args, **kwargs)

        return guarded

    return decorate


def current_actor() -> str:
    """The logged-in user's name, for audit rows ("anonymous" outside a session)."""
    if current_user and current_user.is_authenticated:
        return current_user.name
    return "anonymous"


def board_socket_allowed() -> bool:
    """May this Socket.IO connection open /board? Only a supervisor's or admin's session."""
    return bool(current_user and current_user.is_authenticated and current_user.role in SUPERVISORS)
