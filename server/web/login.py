"""/login and /logout: a session cookie for the board, CSRF on every form, a rate limit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, redirect, render_template, request, session
from flask_login import LoginManager, login_user, logout_user
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
    db_id, _, stamp = user_id.partition(":")
    if not db_id.isdigit():
        return None
    row = current_app.extensions["store"].one(
        "SELECT id, name, role, password_changed_at FROM users WHERE id = ?", (int(db_id),)
    )
    if row is None or row["password_changed_at"] != stamp:
        return None  # removed, or the password changed since: log in again
    return User(row)


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
    row = store.one(
        "SELECT id, name, role, password_changed_at FROM users WHERE id = ?", (user["id"],)
    )
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    session.permanent = True
    login_user(User(row))
    return redirect(target)


@bp.post("/logout")
def logout() -> Any:
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
