"""`scanfloor user ...`, `api-key list|revoke` and `device list|revoke|rotate` on a tmp site."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from floorkit import small_catalogue

from server.cli.main import main
from server.people import auth, users
from server.store import open_store

PASSWORD = "correct horse battery"


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    monkeypatch.setenv("SCANFLOOR_PASSWORD", PASSWORD)
    data_dir = tmp_path / "data"

    def run(*args: str, **kw):
        return CliRunner().invoke(main, [*args, "--data-dir", str(data_dir)], **kw)

    assert run("init").exit_code == 0
    (tmp_path / "c.json").write_text(json.dumps(small_catalogue()))
    assert run("import", str(tmp_path / "c.json")).exit_code == 0
    run.db = data_dir / "scanfloor.db"
    return run


def test_users_are_added_listed_changed_and_removed(site, monkeypatch):
    added = site("user", "add", "sam", "--role", "supervisor")
    assert added.exit_code == 0, added.output
    assert "BADGE-sam" in added.output
    store = open_store(site.db)
    try:
        assert users.verify(store, "sam", PASSWORD)["role"] == "supervisor"
        row = store.one("SELECT password_hash FROM users WHERE name = 'sam'")
        assert (
            row["password_hash"].startswith("$argon2id$") and PASSWORD not in row["password_hash"]
        )
        assert users.verify(store, "sam", "wrong password!") is None
    finally:
        store.close()
    for args, message in [
        (["sam", "--role", "picker"], "exists already"),
        (["Bad Name", "--role", "picker"], "not a user name"),
    ]:
        bad = site("user", "add", *args)
        assert bad.exit_code != 0 and message in bad.output, bad.output
    assert site("user", "add", "x", "--role", "boss").exit_code != 0
    monkeypatch.setenv("SCANFLOOR_PASSWORD", "short")
    short = site("user", "add", "pia", "--role", "picker")
    assert short.exit_code != 0 and "at least 10" in short.output
    monkeypatch.setenv("SCANFLOOR_PASSWORD", "another long password")
    assert site("user", "passwd", "sam").exit_code == 0
    listed = site("user", "list")
    assert "sam" in listed.output and "supervisor" in listed.output
    store = open_store(site.db)
    try:
        assert users.verify(store, "sam", PASSWORD) is None
        assert users.verify(store, "sam", "another long password")
    finally:
        store.close()
    assert site("user", "remove", "sam").exit_code == 0
    gone = site("user", "remove", "sam")
    assert gone.exit_code != 0 and "no user named sam" in gone.output


def test_password_without_a_terminal_or_variable_is_refused(site, monkeypatch):
    monkeypatch.delenv("SCANFLOOR_PASSWORD")
    result = site("user", "add", "sam", "--role", "admin", input="")
    assert result.exit_code != 0 and "SCANFLOOR_PASSWORD" in result.output


def _audit(db) -> list[tuple[str, str, str, str]]:
    store = open_store(db)
    try:
        rows = store.all("SELECT actor, action, target, detail FROM audit_log ORDER BY id")
    finally:
        store.close()
    return [(r["actor"], r["action"], r["target"], r["detail"]) for r in rows]


def test_api_keys_have_scopes_expiry_a_list_and_revoke(site, monkeypatch):
    monkeypatch.setenv("LOGNAME", "ops")  # the OS user the audit log names
    made = site("api-key", "shop", "--scope", "orders:write", "--scope", "read", "--expires", "90d")
    assert made.exit_code == 0, made.output
    key = made.output.strip()
    for args, message in [
        (["other", "--scope", "stock:delete"], "unknown scope"),
        (["other", "--scope", "read", "--expires", "soon"], "not an expiry"),
        (["other"], "--scope"),
    ]:
        bad = site("api-key", *args)
        assert bad.exit_code != 0 and message in bad.output, bad.output
    listed = json.loads(site("api-key", "list", "--json").output)
    assert [k["name"] for k in listed] == ["shop"]
    assert listed[0]["scopes"] == ["read", "orders:write"]
    assert listed[0]["expires_at"] and not listed[0]["revoked"]
    assert key not in site("api-key", "list").output
    assert site("api-key", "revoke", "shop").exit_code == 0
    again = site("api-key", "revoke", "shop")
    assert again.exit_code == 0 and "already" in again.output
    assert site("api-key", "revoke", "nobody").exit_code != 0
    # One audit row: the revoke that changed something (not the second, not the unknown key).
    assert _audit(site.db) == [("cli:ops", "api-key revoke", "api-key:shop", "{}")]
    store = open_store(site.db)
    try:
        found = auth.check_api_key(store, key)
        assert found.row is None and "revoked" in found.problem
    finally:
        store.close()


def test_devices_are_listed_revoked_and_rotated(site, monkeypatch):
    monkeypatch.setenv("LOGNAME", "ops")
    token = site("device", "add", "p1", "--role", "picker", "--warehouse", "WH-EAST").output.strip()
    table = site("device", "list").output
    assert "p1" in table and "WH-EAST" in table and token not in table
    rotated = site("device", "rotate", "p1")
    assert rotated.exit_code == 0, rotated.output
    new = rotated.output.strip()
    assert new.startswith("sfd_") and new != token
    store = open_store(site.db)
    try:
        assert auth.device_for_token(store, token) is None
        assert "replaced" in auth.token_refusal(store, token)
        assert auth.device_for_token(store, new)["name"] == "p1"
    finally:
        store.close()
    assert site("device", "revoke", "p1").exit_code == 0
    listed = json.loads(site("device", "list", "--json").output)
    assert listed[0]["revoked"] is True
    store = open_store(site.db)
    try:
        assert "revoked" in auth.token_refusal(store, new)
    finally:
        store.close()
    refused = site("device", "rotate", "p1")
    assert refused.exit_code != 0 and "revoked" in refused.output
    assert site("device", "revoke", "nope").exit_code != 0
    assert site("device", "revoke", "p1").exit_code == 0  # again: nothing changes, no row
    assert _audit(site.db) == [
        ("cli:ops", "device rotate", "device:p1", "{}"),
        ("cli:ops", "device revoke", "device:p1", "{}"),
    ]
