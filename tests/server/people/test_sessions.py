"""Sessions end server-side: a log-out, a new password, a new role or removing the user ends
every session of that user at once, and a copy of the cookie taken before opens nothing."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from floorkit import BOARD_PASSWORD, csrf_from, logged_in

from server.cli.main import main
from server.people import users


def _copy(client):
    """A second browser holding a copy of this client's session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    return cookie.value


def _opens(app, cookie: str) -> tuple[int, int]:
    """What the copied cookie gets from the board page and a board JSON route."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other.get("/board").status_code, other.get("/board/api/audit").status_code


def test_a_copied_cookie_opens_nothing_after_logout(app):
    client = logged_in(app, "sam", "supervisor")
    elsewhere = logged_in(app, "sam", "supervisor")  # the same user on another tablet
    copied = _copy(client)
    assert _opens(app, copied) == (200, 200)
    token = csrf_from(client.get("/board").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert _opens(app, copied) == (302, 401)
    assert elsewhere.get("/board").status_code == 302  # every session of the user ended
    # Logging in again works, with a new session.
    again = logged_in(app, "sam", "supervisor")
    assert again.get("/board").status_code == 200
    assert _opens(app, copied) == (302, 401)


@pytest.mark.parametrize("change", ["password", "role", "remove"])
def test_a_password_role_change_or_removal_ends_every_session(app, change):
    store = app.extensions["store"]
    client = logged_in(app, "sam", "supervisor")
    copied = _copy(client)
    other = logged_in(app, "kim", "supervisor")
    if change == "password":
        users.set_password(store, "sam", "a brand new password")
    elif change == "role":
        users.set_role(store, "sam", "admin")
    else:
        users.remove(store, "sam")
    assert _opens(app, copied) == (302, 401)
    assert client.get("/board").status_code == 302
    assert other.get("/board").status_code == 200  # nobody else's session


def test_a_removed_users_row_id_reused_does_not_revive_the_cookie(app):
    store = app.extensions["store"]
    copied = _copy(logged_in(app, "sam", "supervisor"))
    users.remove(store, "sam")
    users.add(store, "pat", "supervisor", BOARD_PASSWORD)  # may take sam's row id
    assert _opens(app, copied) == (302, 401)


def test_set_role_refuses_an_unknown_role_and_user(app):
    store = app.extensions["store"]
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    with pytest.raises(users.UserError):
        users.set_role(store, "sam", "boss")
    with pytest.raises(KeyError):
        users.set_role(store, "nobody", "admin")
    assert users.get(store, "sam")["role"] == "supervisor"


def test_user_add_caps_the_password_as_login_does(app, settings, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_PASSWORD", "x" * 100_000)
    data = str(settings.data_dir)
    result = CliRunner().invoke(main, ["user", "add", "sam", "--role", "admin", "--data-dir", data])
    assert result.exit_code != 0
    assert f"at most {users.MAX_PASSWORD} characters" in result.output
    monkeypatch.setenv("SCANFLOOR_PASSWORD", "y" * users.MAX_PASSWORD)
    ok = CliRunner().invoke(main, ["user", "add", "sam", "--role", "admin", "--data-dir", data])
    assert ok.exit_code == 0, ok.output


def test_login_refuses_a_password_past_the_cap(app):
    store = app.extensions["store"]
    users.add(store, "sam", "supervisor", BOARD_PASSWORD)
    assert users.verify(store, "sam", BOARD_PASSWORD) is not None
    assert users.verify(store, "sam", "z" * (users.MAX_PASSWORD + 1)) is None


def test_an_open_board_socket_is_cut_when_its_session_ends(floor):
    from floorkit import board_client

    from shared.protocol import BOARD_NAMESPACE

    sam = board_client(floor.app, floor.socketio, "sam", "supervisor")
    kim = board_client(floor.app, floor.socketio, "kim", "supervisor")
    assert sam.is_connected(BOARD_NAMESPACE) and kim.is_connected(BOARD_NAMESPACE)
    boards = floor.app.extensions["scanfloor.boards"]
    assert boards.cut_ended_sessions() == []
    users.set_role(floor.store, "sam", "admin")  # e.g. from `scanfloor` in another process
    assert len(boards.cut_ended_sessions()) == 1
    assert not sam.is_connected(BOARD_NAMESPACE)
    assert kim.is_connected(BOARD_NAMESPACE)
