"""API keys for REST and tokens for devices: made by the admin CLI, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from server.services.clock import now
from server.store import Store


class DeviceNameTaken(ValueError):
    """A device of that name exists already."""


def _hash(secret: str) -> str:
    # Secrets are 32 random bytes: a plain SHA-256 is enough, no need to stretch.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(store: Store, name: str) -> str:
    """A new API key (shown once)."""
    key = "sfk_" + secrets.token_urlsafe(32)
    with store.write():
        store.execute(
            "INSERT INTO api_keys (name, key_hash, created_at) VALUES (?, ?, ?)",
            (name, _hash(key), now()),
        )
    return key


def check_api_key(store: Store, key: str | None) -> str | None:
    """The key's name if it is valid and not revoked."""
    if not key:
        return None
    row = store.one("SELECT name FROM api_keys WHERE key_hash = ? AND revoked = 0", (_hash(key),))
    return row["name"] if row else None


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

    All or nothing: a name already taken (or given twice) refuses the whole batch.
    """
    if role not in ("picker", "packer"):
        raise ValueError(f"role must be picker or packer, not {role!r}")
    if not 1 <= cart_totes <= 40:
        raise ValueError(f"cart_totes must be 1 to 40, not {cart_totes}")
    if not names:
        raise ValueError("no device names given")
    if len(set(names)) != len(names):
        raise ValueError("a device name is given twice")
    zones = ",".join(sorted({z.strip() for z in zones.split(",") if z.strip()}))
    made = [(name, "sfd_" + secrets.token_urlsafe(32)) for name in names]
    at = now()
    with store.write():
        if store.one("SELECT 1 FROM warehouses WHERE code = ?", (warehouse,)) is None:
            raise ValueError(f"unknown warehouse {warehouse}")
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
    """The device a token belongs to."""
    return store.one("SELECT * FROM devices WHERE token_hash = ?", (_hash(token),))
