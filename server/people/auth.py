"""API keys for REST and tokens for devices: made by the admin CLI, stored hashed."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from server.core.clock import now
from server.core.schemas import DEVICE_NAME_PATTERN
from server.floor.domain.floor import pick_list_ref
from server.store import Store

# What an API key may do. Every /api route names the one scope it needs (server/api/routes.py).
SCOPES: dict[str, str] = {
    "read": "read anything under /api (orders, stock, pick lists, devices, channels, webhooks)",
    "orders:write": "take and cancel orders, authorise returns, change an order's address, "
    "re-ship a lost parcel, send a customer mail again",
    "catalogue:write": "change warehouses, locations and products",
    "stock:write": "set, receive and correct stock; finish put-away tasks",
    "channels:write": "change sales channels' policies and Shopify secrets",
    "webhooks:write": "add and remove webhook subscriptions, retry deliveries",
    "devices:write": "enrol, revoke and rotate devices",
    "floor:write": "reprint labels",
}
ALL_SCOPES = tuple(SCOPES)
_EXPIRES = re.compile(r"^(\d{1,5})([hd])$")


class AuthError(ValueError):
    """An API key or device the request cannot be applied to (name, scope, expiry)."""


class ApiKeyCheck:
    """What checking a presented key found: the key's row, or why it is refused."""

    def __init__(self, row: dict[str, Any] | None, problem: str | None):
        self.row = row
        self.problem = problem

    @property
    def name(self) -> str | None:
        return self.row["name"] if self.row else None

    def allows(self, scope: str) -> bool:
        return bool(self.row) and scope in self.row["scopes"].split()


class DeviceNameTaken(ValueError):
    """A device of that name exists already."""


class DeviceRefused(ValueError):
    """Devices that cannot be enrolled as asked; `field` is what is wrong (role, cart_totes,
    name, warehouse)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _hash(secret: str) -> str:
    # Secrets are 32 random bytes: a plain SHA-256 is enough, no need to stretch.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_expiry(text: str | None, at: datetime | None = None) -> str | None:
    """`90d`, `12h` or `never` (None) as the ISO time the key stops working."""
    if text is None or text == "never":
        return None
    found = _EXPIRES.match(text.strip())
    if not found or int(found.group(1)) == 0:
        raise AuthError(f"not an expiry: {text!r} (say e.g. 90d, 12h or never)")
    n, unit = int(found.group(1)), found.group(2)
    delta = timedelta(days=n) if unit == "d" else timedelta(hours=n)
    return ((at or datetime.now(UTC)) + delta).isoformat(timespec="seconds")


def check_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    """The scopes, known and in canonical order; `all` stands for every scope."""
    wanted = set(ALL_SCOPES) if "all" in scopes else set(scopes)
    unknown = sorted(wanted - set(ALL_SCOPES))
    if unknown:
        raise AuthError(
            f"unknown scope(s) {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)} (or all)"
        )
    if not wanted:
        raise AuthError("give at least one scope")
    return [s for s in ALL_SCOPES if s in wanted]


def create_api_key(
    store: Store,
    name: str,
    scopes: list[str] | tuple[str, ...] = ALL_SCOPES,
    expires_at: str | None = None,
) -> str:
    """A new API key (shown once) with these scopes, working until `expires_at` (None: ever)."""
    scopes = check_scopes(scopes)
    key = "sfk_" + secrets.token_urlsafe(32)
    with store.write():
        if store.one("SELECT 1 FROM api_keys WHERE name = ?", (name,)):
            raise AuthError(f"an API key named {name} exists already")
        store.execute(
            "INSERT INTO api_keys (name, key_hash, created_at, scopes, expires_at) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, _hash(key), now(), " ".join(scopes), expires_at),
        )
    return key


def check_api_key(store: Store, key: str | None) -> ApiKeyCheck:
    """The key's row if it is known, unrevoked and unexpired; else why not."""
    if not key:
        return ApiKeyCheck(None, "no API key given")
    row = store.one(
        "SELECT id, name, scopes, expires_at, revoked, last_used_at FROM api_keys "
        "WHERE key_hash = ?",
        (_hash(key),),
    )
    if row is None:
        return ApiKeyCheck(None, "the API key is not valid")
    if row["revoked"]:
        return ApiKeyCheck(None, f"the API key {row['name']} was revoked")
    at = now()
    if row["expires_at"] and row["expires_at"] <= at:
        return ApiKeyCheck(None, f"the API key {row['name']} expired at {row['expires_at']}")
    # Last use to the minute: one write a minute per key at most, not one per request.
    if (row["last_used_at"] or "")[:16] != at[:16]:
        with store.write():
            store.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (at, row["id"]))
    return ApiKeyCheck(row, None)


def list_api_keys(store: Store) -> list[dict[str, Any]]:
    """Every key: name, scopes, created, expires, last used, revoked; never the secret."""
    rows = store.all(
        "SELECT name, scopes, created_at, expires_at, last_used_at, revoked, revoked_at "
        "FROM api_keys ORDER BY name"
    )
    return [{**r, "scopes": r["scopes"].split(), "revoked": bool(r["revoked"])} for r in rows]


def revoke_api_key(store: Store, name: str, *, actor: str) -> bool:
    """Revoke a key at once; False if it was revoked already. KeyError if there is none.
    A revoke writes an audit row naming `actor` (`cli:<user>` or `key:<name>`)."""
    from server.people import audit

    with store.write():
        row = store.one("SELECT revoked FROM api_keys WHERE name = ?", (name,))
        if row is None:
            raise KeyError(name)
        if row["revoked"]:
            return False
        store.execute(
            "UPDATE api_keys SET revoked = 1, revoked_at = ? WHERE name = ?", (now(), name)
        )
        audit.record(store, actor, "api-key revoke", f"api-key:{name}", {})
    return True


def create_device(
    store: Store, name: str, role: str, warehouse: str, zones: str = "", cart_totes: int = 6
) -> str:
    """Register a device and return its token (shown once).

    `zones` (comma-separated) binds a picker to those zones: it is offered only lists whose
    bins all lie in them. `cart_totes` is how many orders its cart carries at once.
    """
    return create_devices(store, [name], role, warehouse, zones, cart_totes)[0][1]


def create_devices(
    store: Store,
    names: list[str],
    role: str,
    warehouse: str,
    zones: str = "",
    cart_totes: int = 6,
) -> list[tuple[str, str]]:
    """Register several devices of one kind in one transaction; returns (name, token) pairs.

    All or nothing: a name already taken (DeviceNameTaken) refuses the whole batch, as does
    anything else that does not fit (DeviceRefused, naming the field).
    """
    if role not in ("picker", "packer"):
        raise DeviceRefused("role", f"role must be picker or packer, not {role!r}")
    if not 1 <= cart_totes <= 40:
        raise DeviceRefused("cart_totes", f"cart_totes must be 1 to 40, not {cart_totes}")
    if not names:
        raise DeviceRefused("name", "no device names given")
    for name in names:
        if not re.fullmatch(DEVICE_NAME_PATTERN, name):
            raise DeviceRefused(
                "name",
                f"not a device name: {name!r} (1-64 of A-Z a-z 0-9 . _ -, starting with a letter "
                "or a digit: a device's name travels in URL paths)",
            )
    if len(set(names)) != len(names):
        raise DeviceRefused("name", "a device name is given twice")
    zones = ",".join(sorted({z.strip() for z in zones.split(",") if z.strip()}))
    made = [(name, "sfd_" + secrets.token_urlsafe(32)) for name in names]
    at = now()
    with store.write():
        if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
            raise DeviceRefused("warehouse", f"unknown warehouse {warehouse}")
        for name in names:
            if store.one("SELECT 1 FROM devices WHERE name = ?", (name,)):
                raise DeviceNameTaken(f"a device named {name} exists already")
        store.conn.executemany(
            "INSERT INTO devices (name, role, warehouse, token_hash, created_at, zones, cart_totes) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(name, role, warehouse, _hash(token), at, zones, cart_totes) for name, token in made],
        )
    return made


def fleet_names(prefix: str, count: int, start: int = 1) -> list[str]:
    """Numbered device names: prefix + a zero-padded number (fleet-p001, fleet-p002, ...)."""
    width = max(3, len(str(start + count - 1)))
    return [f"{prefix}{n:0{width}d}" for n in range(start, start + count)]


def device_for_token(store: Store, token: str) -> dict[str, Any] | None:
    """The device a token belongs to (revoked ones too: the caller says why it refuses)."""
    return store.one("SELECT * FROM devices WHERE token_hash = ?", (_hash(token),))


def token_refusal(store: Store, token: str) -> str:
    """Why a device token opens nothing: unknown, revoked or replaced (for the connect error)."""
    hashed = _hash(token)
    row = store.one("SELECT name, revoked FROM devices WHERE token_hash = ?", (hashed,))
    if row is not None and row["revoked"]:
        return f"device {row['name']} is revoked (scanfloor device revoke): enrol a new device"
    old = store.one("SELECT name FROM devices WHERE old_token_hash = ?", (hashed,))
    if old is not None:
        return (
            f"this token of device {old['name']} was replaced (scanfloor device rotate): "
            "configure the device with its new token"
        )
    return "unknown device token"


def link_token(token: str) -> str:
    """What a link keeps to notice later that its token was replaced (never the token)."""
    return _hash(token)


def list_devices(store: Store) -> list[dict[str, Any]]:
    """Every device: name, role, warehouse, connected, last seen, worker, revoked."""
    rows = store.all(
        "SELECT name, role, warehouse, connected, last_seen, worker, revoked, revoked_at, "
        "token_rotated_at, created_at FROM devices ORDER BY name"
    )
    return [{**r, "connected": bool(r["connected"]), "revoked": bool(r["revoked"])} for r in rows]


def _device(store: Store, name: str) -> dict[str, Any]:
    row = store.one("SELECT * FROM devices WHERE name = ?", (name,))
    if row is None:
        raise KeyError(name)
    return row


def revoke_device(store: Store, name: str, *, actor: str) -> tuple[int, list[int]]:
    """Revoke a device's token for good (inside one write): its pick list goes back to the
    queue at the step reached, its worker is signed out. Returns (device id, lists released).
    A revoke writes an audit row naming `actor` (`cli:<user>` or `key:<name>`).

    The caller cuts its link (server/realtime): a revoked token is refused at connect.
    """
    from server.floor import leases, views
    from server.people import audit

    with store.write():
        row = _device(store, name)
        if row["revoked"]:
            return row["id"], []
        store.execute(
            "UPDATE devices SET revoked = 1, revoked_at = ?, worker = NULL WHERE id = ?",
            (now(), row["id"]),
        )
        released = _release_list(store, row, "device revoked", leases, views)
        audit.record(store, actor, "device revoke", f"device:{name}", _released(released))
    return row["id"], released


def rotate_device(store: Store, name: str, *, actor: str) -> tuple[int, str, list[int]]:
    """A new token for a device (shown once); the old one stops working at once. The device
    keeps its name and history; its pick list goes back to the queue as on a revoke (the link
    held with the old token is cut). Returns (device id, new token, lists released).
    A rotate writes an audit row naming `actor` (never the token)."""
    from server.floor import leases, views
    from server.people import audit

    token = "sfd_" + secrets.token_urlsafe(32)
    with store.write():
        row = _device(store, name)
        if row["revoked"]:
            raise AuthError(f"device {name} is revoked: enrol a new one")
        store.execute(
            "UPDATE devices SET token_hash = ?, old_token_hash = token_hash, token_rotated_at = ? "
            "WHERE id = ?",
            (_hash(token), now(), row["id"]),
        )
        released = _release_list(store, row, "device token rotated", leases, views)
        audit.record(store, actor, "device rotate", f"device:{name}", _released(released))
    return row["id"], token, released


def _released(list_ids: list[int]) -> dict[str, Any]:
    """An audit row's detail: the pick lists a revoke or rotate sent back to the queue."""
    return {"released": " ".join(map(pick_list_ref, list_ids))} if list_ids else {}


def _release_list(store: Store, row: dict[str, Any], reason: str, leases, views) -> list[int]:
    if row["role"] != "picker":
        return []
    list_id = views.assigned_list_id(store, row["id"])
    if list_id is None:
        return []
    leases.release(store, row["id"], list_id, reason, f"This device's token changed: {reason}")
    return [list_id]
