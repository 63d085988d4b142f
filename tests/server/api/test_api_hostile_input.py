"""Hostile REST input (issue 10): a clear 4xx, nothing written, never a 500."""

from __future__ import annotations

import json

import pytest
from floorkit import order_body

from server.core.schemas import MAX_UNITS

HUGE = 2**63  # one past SQLite's largest integer
HUGER = 2**90


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


# ---------------------------------------------------------------- 2. huge integers
@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        (
            "PUT",
            "/api/stock",
            {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-A", "on_hand": HUGE},
            "on_hand",
        ),
        (
            "POST",
            "/api/stock/corrections",
            {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": HUGE},
            "on_hand",
        ),
        ("POST", "/api/products", {"sku": "SKU-H", "name": "Heavy", "weight_g": HUGE}, "weight_g"),
        (
            "POST",
            "/api/locations",
            {"warehouse": "WH-EAST", "code": "E-99", "aisle": HUGE},
            "aisle",
        ),
        (
            "POST",
            "/api/stock/receipts",
            {
                "warehouse": "WH-EAST",
                "lines": [{"location": "E-01-01", "sku": "SKU-A", "qty": HUGE}],
            },
            "lines[0].qty",
        ),
        (
            "POST",
            "/api/orders",
            {**order_body("big-1", [("SKU-A", 1)]), "priority": HUGE},
            "priority",
        ),
    ],
)
def test_integers_past_the_bounds_are_422(json_post, refused, method, path, body, field):
    resp = refused(lambda: json_post(path, body, method=method), 422)
    assert field in problems_of(resp), resp.get_json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/pick-lists/32589158477190044729"),
        ("POST", "/api/packages/1183424337957640735893225472/reprint"),
        ("POST", f"/api/putaway-tasks/{HUGER}/done"),
        ("POST", f"/api/putaway-tasks/{HUGE}/done"),
        ("GET", "/api/pick-lists/0"),
    ],
)
def test_ids_out_of_range_are_404(client, headers, refused, method, path):
    refused(lambda: client.open(path, method=method, json={}, headers=headers), 404, "not_found")


def test_a_bin_holds_at_most_max_units(json_post, refused):
    put = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-A"}
    resp = refused(lambda: json_post("/api/stock", {**put, "on_hand": 2**63 - 1}, "PUT"), 422)
    assert "on_hand" in problems_of(resp)
    assert json_post("/api/stock", {**put, "on_hand": MAX_UNITS}, "PUT").status_code == 200
    receipt = {"warehouse": "WH-EAST", "lines": [{"location": "E-01-01", "sku": "SKU-A", "qty": 5}]}
    resp = refused(lambda: json_post("/api/stock/receipts", receipt), 422, "invalid_receipt")
    assert "lines[0].qty" in problems_of(resp)
    row = json_post("/api/stock", {**put, "on_hand": MAX_UNITS}, "PUT").get_json()["stock"]
    assert row["on_hand"] == MAX_UNITS and isinstance(row["on_hand"], int)


def test_a_putaway_into_a_full_bin_is_refused(json_post, store, refused):
    put = {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": MAX_UNITS}
    assert json_post("/api/stock", put, "PUT").status_code == 200
    loc = store.one("SELECT id FROM locations WHERE code = 'E-01-01'")["id"]
    task = store.execute(
        """INSERT INTO putaway_tasks (warehouse, location_id, sku, qty, reason, status, created_at)
           VALUES ('WH-EAST', ?, 'SKU-B', 2, 'test', 'open', '2030-01-01')""",
        (loc,),
    ).lastrowid
    resp = refused(lambda: json_post(f"/api/putaway-tasks/{task}/done", {}), 422)
    assert "E-01-01 would hold more than" in problems_of(resp)["location"]
    assert store.one("SELECT status FROM putaway_tasks WHERE id = ?", (task,))["status"] == "open"


def test_the_database_refuses_a_bin_over_max_units(store, catalogue):
    loc = store.one("SELECT id FROM locations WHERE code = 'E-01-01'")["id"]
    with pytest.raises(store.IntegrityError, match="on_hand"):
        store.execute(
            "UPDATE stock SET on_hand = ? WHERE location_id = ? AND sku = 'SKU-B'",
            (MAX_UNITS + 1, loc),
        )


def test_openapi_bounds_every_input_integer(client):
    doc = client.get("/api/openapi.json").get_json()
    unbounded = []

    def walk(node, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer" and "maximum" not in node:
                unbounded.append(where)
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")

    inputs = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for ops in doc["paths"].values()
        for op in ops.values()
        if "requestBody" in op
    }
    for name, schema in doc["components"]["schemas"].items():
        if name in inputs or name.endswith("In"):
            walk(schema, name)
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            walk(op.get("parameters", []), f"{method} {path}")
    assert not unbounded, unbounded
    qty = doc["components"]["schemas"]["StockIn"]["properties"]["on_hand"]
    assert qty["maximum"] == MAX_UNITS


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
        (lambda b: b["lines"][0].update(qty=3.5), "lines[0].qty"),
        (lambda b: b["lines"][0].update(qty=1e300), "lines[0].qty"),
    ],
)
def test_orders_take_json_types_strictly(json_post, refused, change, field):
    body = order_body("strict-1", [("SKU-A", 1)])
    change(body)
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    assert field in problems_of(resp)


def test_an_integral_float_is_an_integer_as_the_document_says(json_post, catalogue, client):
    """To JSON Schema `3.0` is an integer: the fuzzer found the document and the server disagreeing."""
    body = order_body("whole-1", [("SKU-A", 1)])
    body["lines"][0]["qty"] = 2.0
    body["priority"] = 1e0
    resp = json_post("/api/orders", body)
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["lines"][0]["qty"] == 2
    product = {"sku": "SKU-N", "name": "New", "weight_g": 2937.0, "width_mm": 0.0}
    assert json_post("/api/products", product).status_code == 200
    # Past its bound it is refused as the integer would be.
    body = order_body("whole-2", [("SKU-A", 1)])
    body["lines"][0]["qty"] = 10_001.0
    assert json_post("/api/orders", body).status_code == 422


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


# ---------------------------------------------------------------- 5. control characters
@pytest.mark.parametrize(
    ("where", "value", "char"),
    [
        ("name", "Ada\x00Lovelace", "U+0000"),
        ("line1", "1 Long \u202eRoad", "U+202E"),
        ("city", "\u2066Springfield", "U+2066"),
        ("line2", "Flat 2\u2069", "U+2069"),
        ("name", "Ada\u202aL", "U+202A"),
        ("phone", "555\x1b[2J", "U+001B"),
        ("postcode", "12\x0045", "U+0000"),
    ],
)
def test_control_and_bidi_characters_are_refused(json_post, refused, where, value, char):
    body = order_body("ctl-1", [("SKU-A", 1)])
    body["ship_to"][where] = value
    resp = refused(lambda: json_post("/api/orders", body), 422, "invalid_order")
    message = problems_of(resp)[f"ship_to.{where}"]
    assert char in message, message


def test_control_characters_in_catalogue_names(json_post, refused):
    resp = refused(
        lambda: json_post("/api/products", {"sku": "SKU-X", "name": "Mug \u202dpro"}), 422
    )
    assert "U+202D" in problems_of(resp)["name"]


def test_ordinary_unicode_is_fine(json_post, catalogue):
    body = order_body("uni-1", [("SKU-A", 1)])
    body["ship_to"].update(name="Zoë Ångström 李雷", line1="Straße 5, שלום")
    resp = json_post("/api/orders", body)
    assert resp.status_code == 201, resp.get_json()
    assert (
        json.dumps(resp.get_json()["ship_to"]["name"], ensure_ascii=False) == '"Zoë Ångström 李雷"'
    )


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/api/short-picks", "warehouse=WH-EAST&warehouse=WH-WEST"),
        ("/api/orders", "limit=5&limit=500"),
        ("/api/stock", "sku=SKU-A&warehouse=WH-EAST&sku=SKU-B"),
    ],
)
def test_a_query_parameter_given_twice_is_422(client, headers, path, query):
    """The fuzzer's find: `?warehouse=A&warehouse=B` used to answer 200 for A alone."""
    resp = client.get(f"{path}?{query}", headers=headers)
    assert resp.status_code == 422, resp.get_json()
    body = resp.get_json()
    assert body["error"] == "invalid_query" and "more than once" in body["problems"][0]["message"]
    once = "&".join({p.split("=")[0]: p for p in query.split("&")}.values())  # each once
    assert client.get(f"{path}?{once}", headers=headers).status_code == 200


def test_a_query_string_on_a_route_that_takes_none_is_422_and_changes_nothing(
    client, headers, store, catalogue
):
    """A parameter the route does not take is refused, as an unknown body field is: a
    `?dry_run=1` on a revoke must not revoke."""
    from server.people import auth

    auth.create_devices(store, ["pk-1"], "picker", "WH-EAST")
    resp = client.post("/api/devices/pk-1/revoke?dry_run=1", headers=headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == "invalid_query" and body["problems"][0]["field"] == "dry_run", body
    assert store.one("SELECT revoked FROM devices WHERE name = 'pk-1'")["revoked"] == 0
    resp = client.get("/api/stats?foo=1", headers=headers)
    assert resp.status_code == 422 and resp.get_json()["error"] == "invalid_query"
    assert client.get("/api/stats", headers=headers).status_code == 200
    # The routes that take no key answer as before: their callers are not ours to correct.
    assert client.get("/api/health?probe=1").status_code == 200


def test_every_keyed_route_documents_its_422(client):
    doc = client.get("/api/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if op["security"]:
                assert "422" in op["responses"], (method, path)


@pytest.mark.parametrize("q", ["", "   "])
def test_an_empty_search_is_an_invalid_query(client, headers, q):
    """rest.md: a query value that does not fit is 422 `invalid_query`, the field named."""
    resp = client.get("/api/search", query_string={"q": q}, headers=headers)
    assert resp.status_code == 422, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["error"] == "invalid_query" and [p["field"] for p in body["problems"]] == ["q"]
