"""/login and /logout: a session cookie for the board, CSRF on every form, a rate limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect

from server.people import users
from server.web.access import User

bp = Blueprint("login", __name__)
csrf = CSRFProtect()
login_manager = LoginManager()
login_manager.login_view = "login.login_page"
login_manager.session_protection = "basic"


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    """Every request: the session's user, if that session was not ended since."""
    db_id, _, rest = user_id.partition(":")
    epoch, _, stamp = rest.partition(":")
    if not (db_id.isdigit() and epoch.isdigit()) or len(db_id) > 19 or len(epoch) > 19:
        return None  # a cookie from before sessions had epochs: log in again
    row = users.session_user(current_app.extensions["store"], int(db_id), int(epoch), stamp)
    return None if row is None else User(row)


def safe_next(target: str | None) -> str:
    """Where to go after log-in: a path on this site only, else the board."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/board"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/board"
    return target


def _limit() -> users.LoginLimit:
    cfg = current_app.config["SETTINGS"].login
    return users.LoginLimit(attempts=cfg.attempts, window_seconds=cfg.window_seconds)


@bp.get("/login")
def login_page() -> Any:
    return render_template("login.html", next=safe_next(request.args.get("next")), error=None)


@bp.post("/login")
def login_submit() -> Any:
    store = current_app.extensions["store"]
    name = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = safe_next(request.form.get("next"))
    address = request.remote_addr or "?"
    limit = _limit()
    wait = users.retry_after(store, name, address, limit)
    if wait:
        error = f"Too many failed log-ins for {name or 'this user'}: try again in {wait} s."
        page = render_template("login.html", next=target, error=error, name=name)
        return page, 429, {"Retry-After": str(wait)}
    user = users.verify(store, name, password) if name and password else None
    if user is None:
        users.note_failure(store, name, address, limit)
        page = render_template(
            "login.html", next=target, error="Wrong user name or password.", name=name
        )
        return page, 401
    users.clear_failures(store, name, address)
    row = users.session_row(store, user["id"])
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    session.permanent = True
    login_user(User(row))
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
    """End every session of this user, server-side: a copy of the cookie opens nothing."""
    if current_user.is_authenticated:
        users.end_sessions(current_app.extensions["store"], current_user.db_id)
    logout_user()
    session.clear()
    return redirect("/login")


def _csrf_refused(err: CSRFError) -> Any:
    if request.path.startswith("/board/api") or request.is_json:
        return {"error": "csrf", "message": f"refused: {err.description}"}, 400
    return render_template("login.html", next="/board", error=f"Refused: {err.description}"), 400


def init_app(app: Flask) -> None:
    settings = app.config["SETTINGS"]
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.http.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.login.session_hours),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    app.register_error_handler(CSRFError, _csrf_refused)
    app.register_blueprint(bp)


def csrf_exempt(*blueprints: Blueprint) -> None:
    """Blueprints that authenticate every request otherwise (API keys, signatures): no CSRF."""
    for blueprint in blueprints:
        csrf.exempt(blueprint)
