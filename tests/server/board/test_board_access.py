"""Who may open the board: log-in (session cookie, CSRF, rate limit), roles, the /board socket."""

from __future__ import annotations

import pytest
from floorkit import BOARD_PASSWORD, board_client, csrf_from, first_view, logged_in, place, settle

from server.config import LoginSettings
from server.people import users
from shared.protocol import BOARD_NAMESPACE


@pytest.fixture
def app(floor):
    floor.app.config["TESTING"] = True
    return floor.app


def _login(client, name: str, password: str, csrf: bool = True, next_: str | None = None):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    data = {"username": name, "password": password}
    if csrf:
        data["csrf_token"] = token
    if next_ is not None:
        data["next"] = next_
    return client.post("/login", data=data)


def test_the_board_sends_strangers_to_log_in(app):
    resp = app.test_client().get("/board")
    assert resp.status_code == 302 and resp.headers["Location"] == "/login?next=/board"


def test_a_supervisor_logs_in_and_sees_the_board(app):
    users.add(app.extensions["store"], "sam", "supervisor", BOARD_PASSWORD)
    client = app.test_client()
    resp = _login(client, "sam", BOARD_PASSWORD)
    assert resp.status_code == 302 and resp.headers["Location"] == "/board"
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/board")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Signed in as" in html and "sam" in html
    assert '<meta name="csrf-token" content="' in html and 'content=""' not in html


def test_a_wrong_password_and_a_missing_csrf_token_are_refused(app):
    store = app.extensions["store"]
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    client = app.test_client()
    wrong = _login(client, "sam", "not the password")
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.get_data(
        as_text=True
    )
    assert client.get("/board").status_code == 302
    unknown = _login(client, "nobody", BOARD_PASSWORD)
    assert unknown.status_code == 401
    no_csrf = _login(client, "sam", BOARD_PASSWORD, csrf=False)
    assert no_csrf.status_code == 400 and "CSRF" in no_csrf.get_data(as_text=True)
    assert client.get("/board").status_code == 302  # still not logged in


def test_next_goes_only_to_local_paths(app):
    users.add(app.extensions["store"], "sam", "admin", BOARD_PASSWORD)
    for target, lands in [
        ("/board?x=1", "/board?x=1"),
        ("https://evil.example/", "/board"),
        ("//evil.example/board", "/board"),
        ("/\\evil.example", "/board"),
    ]:
        resp = _login(app.test_client(), "sam", BOARD_PASSWORD, next_=target)
        assert resp.headers["Location"] == lands, target


def test_logout_needs_the_csrf_token_and_ends_the_session(app):
    client = logged_in(app)
    assert client.post("/logout").status_code == 400
    assert client.get("/board").status_code == 200
    token = csrf_from(client.get("/board").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/board").status_code == 302


def test_a_new_password_ends_the_old_sessions(app):
    client = logged_in(app, "sam", "supervisor")
    users.set_password(app.extensions["store"], "sam", "a brand new password")
    assert client.get("/board").status_code == 302


def test_too_many_failed_logins_get_429_with_retry_after(app):
    store = app.extensions["store"]
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    limit = LoginSettings().attempts
    client = app.test_client()
    for _ in range(limit):
        assert _login(client, "sam", "wrong password").status_code == 401
    limited = _login(client, "sam", BOARD_PASSWORD)  # even the right one, for now
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= LoginSettings().window_seconds + 1
    assert "Too many failed log-ins" in limited.get_data(as_text=True)
    # Another user from the same address is not held up.
    users.add(store, "ann", "supervisor", BOARD_PASSWORD)
    assert _login(app.test_client(), "ann", BOARD_PASSWORD).status_code == 302
    # Once the failures leave the window, the right password works again.
    with store.write():
        store.execute("UPDATE login_failures SET at = at - 10000")
    assert _login(client, "sam", BOARD_PASSWORD).status_code == 302


def test_a_picker_cannot_open_the_board_or_its_namespace(floor, app):
    picker = logged_in(app, "pia", "picker")
    page = picker.get("/board")
    assert page.status_code == 403
    assert "no board access" in page.get_data(as_text=True)
    viewer = board_client(app, floor.socketio, "pia", "picker")
    settle()
    assert not viewer.is_connected(BOARD_NAMESPACE)
    assert floor.hub.boards == 0  # never counted in: nothing is built or sent for it


def test_a_device_token_cannot_open_the_board_namespace(floor):
    place(floor.store, "a", [("SKU-B", 1)])
    viewer = floor.socketio.test_client(
        floor.app, namespace=BOARD_NAMESPACE, auth={"token": floor.tokens["picker"]}
    )
    settle()
    assert not viewer.is_connected(BOARD_NAMESPACE)
    assert floor.hub.boards == 0


def test_a_supervisors_session_opens_the_namespace(floor):
    viewer = board_client(floor.app, floor.socketio)
    first_view(viewer)
    assert viewer.is_connected(BOARD_NAMESPACE)
    names = [e["name"] for e in viewer.get_received(BOARD_NAMESPACE)]
    # The snapshot first; on a slow run the board's ticker may have sent a delta after it.
    assert names[:1] == ["snapshot"] and set(names[1:]) <= {"delta"}, names


def test_failed_logins_count_the_name_in_any_case_and_a_good_login_clears_them(app):
    """docs/security.md: the limit is per user name in any case; a good log-in clears it."""
    store = app.extensions["store"]
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    limit = LoginSettings().attempts
    client = app.test_client()
    for _ in range(limit - 1):
        assert _login(client, "SAM", "wrong password").status_code == 401
    assert _login(client, "sam", BOARD_PASSWORD).status_code == 302  # clears the count
    for _ in range(limit - 1):
        assert _login(client, "Sam", "wrong password").status_code == 401
    assert _login(client, "sam", "wrong password").status_code == 401
    assert _login(client, "sam", BOARD_PASSWORD).status_code == 429


def test_a_board_post_with_a_wrong_csrf_token_is_400_json(app):
    client = logged_in(app, "sam", "supervisor")
    resp = client.post("/board/api/orders/SO-000001/cancel", json={}, headers={"X-CSRFToken": "nope"})  # fmt: skip
    assert resp.status_code == 400 and resp.get_json()["error"] == "csrf"
