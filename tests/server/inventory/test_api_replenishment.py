"""Replenishment over REST: a face's min and max (bad input refused, nothing changed), the move a
count adjustment below the min makes, moves listed, cancelled (and refused when they cannot be)."""

from __future__ import annotations

import pytest

from server.core.schemas import CatalogueIn
from server.inventory import catalogue as catalogue_service
from server.inventory import replenishment


@pytest.fixture
def reserve(store, catalogue):
    """Reserve bin R-01 of WH-EAST holding 30 red pens."""
    catalogue_service.load(
        store,
        CatalogueIn.model_validate(
            {
                "locations": [{"warehouse": "WH-EAST", "code": "R-01", "role": "reserve"}],
                "stock": [
                    {"warehouse": "WH-EAST", "location": "R-01", "sku": "SKU-B", "on_hand": 30}
                ],
            }
        ),
    )


def _limits(client, headers, **fields):
    body = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "min": 2, "max": 12}
    return client.put("/api/replenishment/limits", json={**body, **fields}, headers=headers)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"min": 13}, "max: must be at least the min (13)"),
        ({"location": "R-01"}, "R-01 is a reserve bin"),
        ({"location": "E-99-99"}, "unknown location E-99-99 in WH-EAST"),
        ({"sku": "SKU-NOPE"}, "unknown SKU SKU-NOPE"),
        ({"warehouse": "WH-NOPE"}, "unknown warehouse WH-NOPE"),
        ({"min": -1}, "min"),
        ({"max": 0}, "max"),
        ({"min": "2"}, "min"),
        ({"extra": 1}, "extra"),
    ],
)
def test_limits_that_cannot_be_are_refused_and_nothing_changes(
    client, headers, reserve, rows, fields, words
):
    r = _limits(client, headers, **fields)
    assert r.status_code == 422 and r.json["error"] == "invalid_limits", r.json
    assert words in r.json["message"] or any(words in p["field"] for p in r.json["problems"])
    assert rows("face_limits") == 0 and rows("replen_tasks") == 0 and rows("audit_log") == 0


def test_a_count_below_the_min_makes_a_move_and_a_supervisor_can_cancel_it(
    client, headers, reserve, store
):
    r = _limits(client, headers)
    assert r.status_code == 200, r.json
    assert r.json == {
        "warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B",
        "min": 2, "max": 12, "on_hand": 10, "task": None,
    }  # fmt: skip
    assert client.get("/api/replenishment/limits", headers=headers).json["limits"] == [
        {k: v for k, v in r.json.items() if k != "task"}
    ]
    # A count finds 1: the face is below its min, a move brings it up to 12.
    fix = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": 1}
    assert client.post("/api/stock/corrections", json=fix, headers=headers).status_code == 200
    moves = client.get("/api/replenishment/moves?status=open", headers=headers).json["moves"]
    assert len(moves) == 1
    move = moves[0]
    assert (move["reserve"], move["face"], move["qty"], move["urgent"], move["stage"]) == (
        "R-01", "E-01-01", 11, False, "reserve"
    )  # fmt: skip
    # Counted lower again: still one open move for the face.
    fix["on_hand"] = 0
    client.post("/api/stock/corrections", json=fix, headers=headers)
    assert len(replenishment.tasks(store, "open")) == 1
    # A second face for the same SKU cannot be promised the reserve units the first move takes.
    _limits(client, headers, location="E-02-01", min=1, max=25)
    second = replenishment.tasks(store, "open")[0]
    assert (second["face"], second["qty"]) == ("E-02-01", 30 - 11)

    assert client.get("/api/replenishment/moves/999", headers=headers).status_code == 404
    assert client.get("/api/replenishment/moves?status=nope", headers=headers).status_code == 422
    r = client.post(f"/api/replenishment/moves/{move['id']}/cancel", headers=headers)
    assert r.status_code == 200 and r.json["status"] == "cancelled", r.json
    again = client.post(f"/api/replenishment/moves/{move['id']}/cancel", headers=headers)
    assert again.status_code == 409 and "cancelled" in again.json["message"]
    assert store.one("SELECT on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
                     "WHERE l.code = 'R-01'")["on_hand"] == 30  # fmt: skip
    actions = [
        a["action"] for a in store.all("SELECT action FROM audit_log WHERE target LIKE 'replen:%'")
    ]
    assert actions == ["replen_made", "replen_made", "replen_cancelled"]


def test_moves_need_a_key_that_may_write_stock(client, reserve):
    assert client.get("/api/replenishment/moves").status_code == 401
    r = client.put(
        "/api/replenishment/limits",
        json={"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "min": 1, "max": 2},
    )
    assert r.status_code == 401


def test_a_reserve_counted_lower_shrinks_the_moves_not_started_then_cancels(
    client, headers, reserve, store
):
    _limits(client, headers)
    fix = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": 1}
    client.post("/api/stock/corrections", json=fix, headers=headers)
    move = replenishment.tasks(store, "open")[0]
    assert move["qty"] == 11
    fix.update(location="R-01", on_hand=4)
    assert client.post("/api/stock/corrections", json=fix, headers=headers).status_code == 200
    assert replenishment.get(store, move["id"])["qty"] == 4
    fix["on_hand"] = 0
    client.post("/api/stock/corrections", json=fix, headers=headers)
    assert replenishment.get(store, move["id"])["status"] == "cancelled"
    actions = [
        a["action"] for a in store.all("SELECT action FROM audit_log WHERE target LIKE 'replen:%'")
    ]
    assert actions == ["replen_made", "replen_shrunk", "replen_cancelled"]
