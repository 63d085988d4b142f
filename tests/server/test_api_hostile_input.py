"""Hostile REST input (issue 10): a clear 4xx, nothing written, never a 500."""

from __future__ import annotations

import pytest
from floorkit import order_body


def problems_of(resp) -> dict[str, str]:
    return {p["field"]: p["message"] for p in resp.get_json()["problems"]}


@pytest.fixture
def refused(snapshot, catalogue):
    """Sends a request and asserts it was refused with status (and error word), writing nothing."""

    def check(send, status: int, error: str | None = None):
        before = snapshot()
        resp = send()
        assert resp.status_code == status, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["message"], body
        if error is not None:
            assert body["error"] == error, body
        assert snapshot() == before
        return resp

    return check


# ---------------------------------------------------------------- 1. nesting
NESTED = "[" * 60000 + "]" * 60000


@pytest.mark.parametrize(
    "raw",
    [
        NESTED,
        '{"order_id": "deep-1", "lines": ' + NESTED + "}",
        '{"order_id": "deep-2", "ship_to": {"name": ' + "[" * 500 + "]" * 500 + "}}",
    ],
    ids=["whole-body", "in-a-field", "deeper-than-any-schema"],
)
def test_deeply_nested_json_is_400(client, headers, refused, raw):
    resp = refused(
        lambda: client.post(
            "/api/orders", data=raw, content_type="application/json", headers=headers
        ),
        400,
        "malformed_json",
    )
    assert "nested" in resp.get_json()["message"]


# ---------------------------------------------------------------- 4. lax types
@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b["lines"][0].update(qty="3"), "lines[0].qty"),
        (lambda b: b["lines"][0].update(qty=True), "lines[0].qty"),
        (lambda b: b.update(priority=False), "priority"),
        (lambda b: b.update(allow_split="yes"), "allow_split"),
        (lambda b: b.update(allow_split=1), "allow_split"),
        (lambda b: b["ship_to"].update(lat="40.0"), "ship_to.lat"),
        (lambda b: b["ship_to"].update(postcode=12345), "ship_to.postcode"),
        (lambda b: b["lines"][0].update(qty=3.0), "lines[0].qty"),
    ],
)
def test_orders_take_json_types_strictly(json_post, refused, change, field):
    body = order_body("strict-1", [("SKU-A", 1)])
    change(body)
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    assert field in problems_of(resp)


def test_product_dimensions_take_integers_strictly(json_post, refused):
    body = {"sku": "SKU-N", "name": "New", "width_mm": False}
    resp = refused(lambda: json_post("/api/products", body), 422)
    assert "width_mm" in problems_of(resp)


def test_strict_still_takes_what_json_means(json_post, catalogue):
    """Integers for coordinates, ISO strings for dates: what a JSON client naturally sends."""
    body = order_body("strict-ok", [("SKU-A", 1)])
    body["ship_to"].update(lat=40, lon=-75)
    body["promised_by"] = "2030-01-02T10:00:00Z"
    assert json_post("/api/orders", body).status_code == 201
    receipt = {
        "warehouse": "WH-EAST",
        "lines": [
            {
                "location": "E-01-01",
                "sku": "SKU-C",
                "qty": 2,
                "lot": "L1",
                "expires": "2031-05-01",
            }
        ],
    }
    assert json_post("/api/stock/receipts", receipt).status_code == 201
