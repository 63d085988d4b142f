"""People: who may log in, with which role, and how often a wrong password may be tried.

Passwords are stored as argon2id hashes (argon2-cffi's defaults: its parameters and
salt travel inside the hash, so they can be raised later and old hashes still verify;
a hash made with weaker parameters is replaced at the next good log-in).

Failed log-ins are counted in SQLite, per (user name as typed, client address):
every server process of a site shares the same file, so the limit holds however
many processes there are and survives a restart.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from server.core.clock import now
from server.store import Store

ROLES = ("admin", "supervisor", "picker", "packer")
SUPERVISORS = ("supervisor", "admin")
MIN_PASSWORD = 10
# The longest password taken, at log-in and when one is set: hashing costs the same for any
# length, but a 100 kB form field is no password anyone types.
MAX_PASSWORD = 256
T = TypeVar("T")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
_hasher = PasswordHasher()


def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run an argon2 call (tens of ms of CPU on purpose, more on a busy machine) in gevent's
    thread pool when this process runs on gevent, so the serving loop answers devices
    meanwhile: argon2-cffi lets go of the GIL while it hashes. Called directly elsewhere
    (the CLI)."""
    from gevent import monkey

    if monkey.is_module_patched("threading"):
        import gevent

        return gevent.get_hub().threadpool.apply(fn, args)
    return fn(*args)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name costs as long as a wrong
    password. Made at the first such log-in, not at import: one argon2 hash is ~0.3 s of CPU
    that every server, worker and CLI process would otherwise pay at start."""
    return _off_loop(_hasher.hash, "not a password anyone has")


class UserError(ValueError):
    """A user name, role or password the rules refuse."""


@dataclass(frozen=True)
class LoginLimit:
    """At most `attempts` failed log-ins per user name and address within `window_seconds`."""

    attempts: int = 5
    window_seconds: float = 300.0


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise UserError(
            f"not a user name: {name!r} (1-40 of a-z 0-9 . _ -, starting with a letter or digit)"
        )
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password must be at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"the password must be at most {MAX_PASSWORD} characters")


def add(store: Store, name: str, role: str, password: str) -> None:
    """A new user; refuses a taken name, an unknown role or a short password."""
    check_name(name)
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    check_password(password)
    hashed = _off_loop(_hasher.hash, password)
    at = now()
    with store.write():
        if store.one("SELECT 1 FROM users WHERE name = ?", (name,)):
            raise UserError(f"a user named {name} exists already")
        store.execute(
            "INSERT INTO users (name, role, password_hash, created_at, password_changed_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, role, hashed, at, at),
        )


def set_password(store: Store, name: str, password: str) -> None:
    """A new password; every session of the user ends."""
    check_password(password)
    hashed = _off_loop(_hasher.hash, password)
    with store.write():
        if store.one("SELECT 1 FROM users WHERE name = ?", (name,)) is None:
            raise KeyError(name)
        store.execute(
            "UPDATE users SET password_hash = ?, password_changed_at = ?, "
            "session_epoch = session_epoch + 1 WHERE name = ?",
            (hashed, now(), name),
        )


def set_role(store: Store, name: str, role: str) -> None:
    """Give a user another role; every session of the user ends (they log in again as it)."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    with store.write():
        if store.one("SELECT 1 FROM users WHERE name = ?", (name,)) is None:
            raise KeyError(name)
        store.execute(
            "UPDATE users SET role = ?, session_epoch = session_epoch + 1 WHERE name = ?",
            (role, name),
        )


def end_sessions(store: Store, user_id: int) -> None:
    """End every session of a user at once (log-out): a cookie made before opens nothing."""
    with store.write():
        store.execute("UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,))


def session_user(store: Store, user_id: int, epoch: int, stamp: str) -> dict[str, Any] | None:
    """The user a session cookie names, if that session is still in force: the same epoch,
    and the same password stamp (a row id reused by a later user is not the same person)."""
    row = store.one(
        "SELECT id, name, role, session_epoch, password_changed_at FROM users WHERE id = ?",
        (user_id,),
    )
    if row is None or row["session_epoch"] != epoch or row["password_changed_at"] != stamp:
        return None  # removed, or logged out, new password or new role since
    return row


def session_row(store: Store, user_id: int) -> dict[str, Any] | None:
    """What a new session of the user names (right after a good log-in)."""
    return store.one(
        "SELECT id, name, role, session_epoch, password_changed_at FROM users WHERE id = ?",
        (user_id,),
    )


def remove(store: Store, name: str) -> None:
    """Remove a user; a worker signed in on a device with their badge is signed out."""
    with store.write():
        if store.one("SELECT 1 FROM users WHERE name = ?", (name,)) is None:
            raise KeyError(name)
        store.execute("DELETE FROM users WHERE name = ?", (name,))
        store.execute("UPDATE devices SET worker = NULL WHERE worker = ?", (name,))


def list_users(store: Store) -> list[dict[str, Any]]:
    return store.all("SELECT name, role, created_at, password_changed_at FROM users ORDER BY name")


def get(store: Store, name: str) -> dict[str, Any] | None:
    """A user by name (without the hash), or None."""
    return store.one("SELECT id, name, role FROM users WHERE name = ?", (name,))


def verify(store: Store, name: str, password: str) -> dict[str, Any] | None:
    """The user if the password is theirs, else None (unknown names take as long)."""
    if len(password) > MAX_PASSWORD:
        return None  # no password is this long: not worth hashing
    row = store.one("SELECT id, name, role, password_hash FROM users WHERE name = ?", (name,))
    stored = row["password_hash"] if row else _dummy_hash()
    try:
        _off_loop(_hasher.verify, stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if row is None:
        return None
    if _hasher.check_needs_rehash(stored):
        rehashed = _off_loop(_hasher.hash, password)  # before the write lock, not under it
        with store.write():
            store.execute("UPDATE users SET password_hash = ? WHERE id = ?", (rehashed, row["id"]))
    return {k: row[k] for k in ("id", "name", "role")}


# ---------------------------------------------------------------- log-in rate limit
def _key(name: str) -> str:
    return name.strip().lower()[:80]


def retry_after(store: Store, name: str, address: str, limit: LoginLimit) -> int:
    """Seconds until another attempt may be made for this user from this address; 0 if now."""
    since = time.time() - limit.window_seconds
    rows = store.all(
        "SELECT at FROM login_failures WHERE user_name = ? AND address = ? AND at > ? "
        "ORDER BY at DESC LIMIT ?",
        (_key(name), address, since, limit.attempts),
    )
    if len(rows) < limit.attempts:
        return 0
    # The oldest of the last `attempts` failures leaves the window first.
    return max(1, int(rows[-1]["at"] + limit.window_seconds - time.time()) + 1)


def note_failure(store: Store, name: str, address: str, limit: LoginLimit) -> None:
    at = time.time()
    with store.write():
        store.execute(
            "INSERT INTO login_failures (user_name, address, at) VALUES (?, ?, ?)",
            (_key(name), address, at),
        )
        # Old failures no longer count: keep the table small.
        store.execute(
            "DELETE FROM login_failures WHERE at < ?", (at - max(limit.window_seconds, 3600.0),)
        )


def clear_failures(store: Store, name: str, address: str) -> None:
    with store.write():
        store.execute(
            "DELETE FROM login_failures WHERE user_name = ? AND address = ?",
            (_key(name), address),
        )
