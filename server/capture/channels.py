"""Sales channels one at a time: shipping policy and the Shopify webhook secret."""

from __future__ import annotations

from typing import Any

from server.inventory.shipments import DEFAULT_POLICY
from server.store import Store


def set_channel(
    store: Store,
    code: str,
    allow_split: bool | None = None,
    allow_partial: bool | None = None,
    shopify_secret: str | None = None,
) -> dict[str, Any]:
    """Create or change a channel; None leaves a setting as it is, an empty secret removes it."""
    with store.write():
        store.execute(
            "INSERT INTO channels (code, allow_split, allow_partial) VALUES (?, ?, ?) "
            "ON CONFLICT (code) DO NOTHING",
            (code, int(DEFAULT_POLICY.allow_split), int(DEFAULT_POLICY.allow_partial)),
        )
        for column, value in (("allow_split", allow_split), ("allow_partial", allow_partial)):
            if value is not None:
                store.execute(
                    f"UPDATE channels SET {column} = ? WHERE code = ?", (int(value), code)
                )
        if shopify_secret is not None:
            store.execute(
                "UPDATE channels SET shopify_secret = ? WHERE code = ?",
                (shopify_secret or None, code),
            )
        return get_channel(store, code)


def get_channel(store: Store, code: str) -> dict[str, Any] | None:
    """A channel's policy and whether a Shopify secret is set (never the secret)."""
    row = store.one(
        "SELECT code, allow_split, allow_partial, shopify_secret IS NOT NULL AS shopify "
        "FROM channels WHERE code = ?",
        (code,),
    )
    if row is None:
        return None
    return {k: bool(v) if k != "code" else v for k, v in row.items()}
