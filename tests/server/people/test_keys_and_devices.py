"""API key scopes and expiry on /api; revoking and rotating a device cuts its link."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from floorkit import board_web, connect, order_body, place, settle

from server.api.openapi import openapi_path
from server.api.routes import ROUTES
from server.people import auth
from shared.protocol import DEVICE_NAMESPACE as NS


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_without_the_routes_scope_gets_403(client, store, catalogue):
    reader = auth.create_api_key(store, "reader", ["read"])
    assert client.get("/api/orders", headers=_bearer(reader)).status_code == 200
    resp = client.post(
        "/api/orders", json=order_body("o-1", [("SKU-A", 1)]), headers=_bearer(reader)
    )
    assert resp.status_code == 403
    body = resp.get_json()
    assert body["error"] == "missing_scope" and "orders:write" in body["message"]
    assert store.one("SELECT COUNT(*) AS n FROM orders")["n"] == 0  # nothing written
    shop = auth.create_api_key(store, "shop", ["orders:write"])
    ok = client.post("/api/orders", json=order_body("o-1", [("SKU-A", 1)]), headers=_bearer(shop))
    assert ok.status_code == 201
    # A shop key no longer changes the catalogue, stock or channels.
    for method, path, body in [
        (
            "put",
            "/api/stock",
            {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-A", "on_hand": 1},
        ),
        ("put", "/api/channels", {"channels": []}),
        ("post", "/api/products", {"sku": "SKU-N", "name": "New", "barcodes": ["N-1"]}),
    ]:
        resp = getattr(client, method)(path, json=body, headers=_bearer(shop))
        assert resp.status_code == 403, path
    assert client.get("/api/orders", headers=_bearer(shop)).status_code == 403


def test_an_expired_or_revoked_key_gets_401(client, store):
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="seconds")
    old = auth.create_api_key(store, "old", ["read"], expires_at=past)
    resp = client.get("/api/orders", headers=_bearer(old))
    assert resp.status_code == 401 and "expired" in resp.get_json()["message"]
    live = auth.create_api_key(store, "live", ["read"], expires_at=auth.parse_expiry("1d"))
    assert client.get("/api/orders", headers=_bearer(live)).status_code == 200
    assert store.one("SELECT last_used_at FROM api_keys WHERE name = 'live'")["last_used_at"]
    auth.revoke_api_key(store, "live", actor="cli:ops")
    resp = client.get("/api/orders", headers=_bearer(live))
    assert resp.status_code == 401 and "revoked" in resp.get_json()["message"]


def test_every_route_states_its_scope_in_the_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    for route in ROUTES:
        path = "/api" + openapi_path(route.path)
        op = doc["paths"][path][route.method.lower()]
        if route.public:
            assert op["security"] == [] and "x-required-scope" not in op
            continue
        assert op["x-required-scope"] == route.needs
        assert op["security"] == [{"bearerAuth": [route.needs]}, {"apiKeyHeader": [route.needs]}]
        assert "403" in op["responses"] and route.needs in op["description"]


def test_revoking_a_device_cuts_it_and_gives_its_list_back(floor):
    app, socketio, store, tokens = floor
    place(store, "a", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    held = store.one("SELECT id FROM pick_lists WHERE status = 'assigned'")
    assert held is not None
    did, released = auth.revoke_device(store, "picker-e1", actor="cli:ops")
    assert released == [held["id"]]
    floor.hub.cut_now([did])  # what the bus message (or the watcher, within a second) does
    settle()
    assert not picker.is_connected(NS)
    row = store.one("SELECT status, device_id FROM pick_lists WHERE id = ?", (held["id"],))
    assert row["status"] == "open" and row["device_id"] is None
    assert store.one("SELECT connected FROM devices WHERE id = ?", (did,))["connected"] == 0
    again = socketio.test_client(app, namespace=NS, auth={"token": tokens["picker"]})
    assert not again.is_connected(NS)


def test_rotating_a_device_cuts_the_old_link_and_keeps_its_history(floor):
    app, socketio, store, tokens = floor
    packer = connect(app, socketio, tokens["packer"])
    did, new_token, _ = auth.rotate_device(store, "packer-e1", actor="cli:ops")
    floor.hub.cut_now()  # the watcher's pass
    settle()
    assert not packer.is_connected(NS)
    assert not socketio.test_client(
        app, namespace=NS, auth={"token": tokens["packer"]}
    ).is_connected(NS)
    fresh = connect(app, socketio, new_token)
    assert fresh.is_connected(NS)
    assert store.one("SELECT id FROM devices WHERE name = 'packer-e1'")["id"] == did
    floor.hub.cut_now()  # a link on the new token stays
    assert fresh.is_connected(NS)


@pytest.mark.parametrize("bad", ["0d", "5w", "-1d", "tomorrow"])
def test_bad_expiry_is_refused(bad):
    with pytest.raises(auth.AuthError):
        auth.parse_expiry(bad)


def test_admins_revoke_and_rotate_devices_over_rest(floor):
    app, socketio, store, tokens = floor
    client = app.test_client()
    reader = _bearer(auth.create_api_key(store, "reader", ["read"]))
    admin = _bearer(auth.create_api_key(store, "admin", ["devices:write", "read"]))
    place(store, "a", [("SKU-B", 1)])
    picker = connect(app, socketio, tokens["picker"])
    assert client.post("/api/devices/picker-e1/revoke", headers=reader).status_code == 403
    assert picker.is_connected(NS)
    resp = client.post("/api/devices/picker-e1/revoke", headers=admin)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["revoked"] and len(resp.get_json()["released_pick_lists"]) == 1
    settle()
    assert not picker.is_connected(NS)  # cut in the same request, not a second later
    listed = client.get("/api/devices/picker-e1", headers=admin).get_json()
    assert listed["revoked"] is True and listed["connected"] is False
    assert client.post("/api/devices/picker-e1/rotate", headers=admin).status_code == 409
    assert client.post("/api/devices/nobody/revoke", headers=admin).status_code == 404
    rotated = client.post("/api/devices/packer-e1/rotate", headers=admin).get_json()
    assert rotated["token"].startswith("sfd_") and rotated["token"] != tokens["packer"]
    assert connect(app, socketio, rotated["token"]).is_connected(NS)
    # Both land in the audit log the board shows, named after the key; refusals left none.
    rows = board_web(app, "sam").get("/board/api/audit").get_json()
    assert [(r["actor"], r["action"], r["target"], r["detail"]) for r in rows] == [
        ("key:admin", "device rotate", "device:packer-e1", {}),
        ("key:admin", "device revoke", "device:picker-e1", {"released": "PL-000001"}),
    ]
    assert rotated["token"] not in json.dumps(rows)
