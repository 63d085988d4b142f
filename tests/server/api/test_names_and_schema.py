"""Device names a path can carry, and what the OpenAPI document says about the bodies and
paths the code checks (a request the document allows is not refused for its shape)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from floorkit import board_web

from server.cli.main import main
from server.core.schemas import CODE_IN_PATH, DEVICE_NAME_PATTERN
from server.notify import webhooks

ENROL = {"role": "picker", "warehouse": "WH-EAST"}


@pytest.mark.parametrize(
    "name", ["a/b", "a%2Fb", "a b", ".", "..", ".hidden", "-x", "a?b", "a#b", "é", "a" * 65]
)
def test_a_name_a_path_cannot_carry_is_refused_with_422(json_post, rows, catalogue, name):
    before = rows("devices")
    resp = json_post("/api/devices", {"name": name, **ENROL})
    assert resp.status_code == 422, resp.get_json()
    problems = resp.get_json()["problems"]
    assert problems[0]["field"] == "name"
    assert "pattern" in problems[0]["message"] or "at most 64" in problems[0]["message"]
    assert rows("devices") == before


@pytest.mark.parametrize("name", ["picker-e9", "P.1_x", "7", "a" * 64, "dock.door-3"])
def test_every_name_that_can_be_enrolled_can_be_read_and_revoked(json_post, client, headers, catalogue, name):  # fmt: skip
    made = json_post("/api/devices", {"name": name, **ENROL})
    assert made.status_code == 201, made.get_json()
    got = client.get(f"/api/devices/{name}", headers=headers)
    assert got.status_code == 200 and got.get_json()["name"] == name
    assert json_post(f"/api/devices/{name}/revoke", {}).status_code == 200
    assert client.get(f"/api/devices/{name}", headers=headers).get_json()["revoked"]


def test_a_fleet_name_past_64_or_a_bad_prefix_is_refused(json_post, rows, catalogue):
    long_prefix = {"count": 2, "prefix": "p" * 63, **ENROL}  # p...p001 is 66 long
    resp = json_post("/api/devices", long_prefix)
    assert resp.status_code == 422 and "not a device name" in resp.get_json()["message"]
    (problem,) = resp.get_json()["problems"]  # a 422 lists its problem, as rest.md promises
    assert problem["field"] == "prefix" and "not a device name" in problem["message"]
    assert json_post("/api/devices", {"count": 2, "prefix": "p/", **ENROL}).status_code == 422
    # A prefix without a count was quietly ignored; now it is refused, as the document says.
    assert json_post("/api/devices", {"name": "x1", "prefix": "p", **ENROL}).status_code == 422
    assert rows("devices") == 0


@pytest.mark.parametrize("body", [{"name": "p1"}, {"count": 2, "prefix": "p"}])
def test_an_unknown_warehouse_is_refused_with_its_problem(json_post, rows, catalogue, body):
    resp = json_post("/api/devices", {**body, "role": "picker", "warehouse": "WH-NOPE"})
    assert resp.status_code == 422, resp.get_json()
    assert resp.get_json() == {
        "error": "invalid_body",
        "message": "unknown warehouse WH-NOPE",
        "problems": [{"field": "warehouse", "message": "unknown warehouse WH-NOPE"}],
    }
    assert rows("devices") == 0


def test_the_cli_refuses_the_same_names(app, settings):
    data = ["--data-dir", str(settings.data_dir)]
    out = CliRunner().invoke(main, ["device", "add", "a/b", "--role", "picker", "--warehouse", "WH-EAST", *data])  # fmt: skip
    assert out.exit_code != 0 and "not a device name" in out.output


def _doc(client) -> dict:
    return client.get("/api/openapi.json").get_json()


@pytest.mark.sqlite_only("the OpenAPI document: no store SQL is run to make it")
def test_the_document_gives_device_names_their_pattern(client):
    doc = _doc(client)
    for path in ("/api/devices/{name}", "/api/devices/{name}/revoke", "/api/devices/{name}/rotate"):
        op = next(iter(doc["paths"][path].values()))
        (param,) = [p for p in op["parameters"] if p["name"] == "name"]
        assert param["schema"]["pattern"] == DEVICE_NAME_PATTERN
    body = doc["components"]["schemas"]["DevicesIn"]
    assert body["properties"]["name"]["anyOf"][0]["pattern"] == DEVICE_NAME_PATTERN
    assert len(body["oneOf"]) == 2  # either a name, or a count and a prefix


@pytest.mark.sqlite_only("the OpenAPI document: no store SQL is run to make it")
def test_the_document_states_the_webhook_subscription_and_channel_code(client):
    doc = _doc(client)
    sub = doc["components"]["schemas"]["WebhookSubscriptionIn"]["properties"]
    assert sub["url"]["format"] == "uri" and sub["url"]["pattern"].startswith("^[hH]")
    assert sub["events"]["items"]["enum"] == list(webhooks.EVENTS)
    (code,) = doc["paths"]["/api/channels/{code}"]["put"]["parameters"]
    assert code["schema"]["pattern"] == CODE_IN_PATH
    for good in ("shop-us", "a.b_c", "X" * 64):
        assert re.fullmatch(CODE_IN_PATH, good)


@pytest.mark.parametrize("code", ["a%2Fb", "a%20b", "%C3%A9", "x" * 65, "a%0A"])
def test_a_channel_code_a_path_cannot_carry_is_404(json_post, rows, code):
    resp = json_post(f"/api/channels/{code}", {"allow_split": True}, method="PUT")
    assert resp.status_code == 404 and resp.get_json()["error"] == "not_found"
    assert rows("channels") == 0
    assert json_post("/api/channels/shop.eu_2", {}, method="PUT").status_code == 200


def test_devices_in_one_of_matches_what_the_model_takes(client, json_post, catalogue):
    import jsonschema

    doc = _doc(client)
    schema = {**doc["components"]["schemas"]["DevicesIn"], "components": doc["components"]}
    cases = [
        ({"name": "d1"}, True),
        ({"name": "d2", "count": None, "prefix": None}, True),
        ({"count": 2, "prefix": "f"}, True),
        ({"name": None, "count": 2, "prefix": "g"}, True),
        ({"name": "d3", "count": 2, "prefix": "h"}, False),
        ({"count": 2}, False),
        ({"prefix": "i"}, False),
        ({"name": "d4", "prefix": "j"}, False),
        ({}, False),
    ]
    for fields, valid in cases:
        body = {**fields, **ENROL}
        said = jsonschema.Draft202012Validator(schema).is_valid(body)
        answer = json_post("/api/devices", body).status_code
        assert said == valid and (answer == 201) == valid, (fields, said, answer)


def test_unknown_events_and_non_http_urls_are_refused_by_the_model(json_post, rows):
    bad_event = json_post("/api/webhook-subscriptions", {"url": "https://shop.example/h", "events": ["order.lost"]})  # fmt: skip
    assert bad_event.status_code == 422
    assert bad_event.get_json()["problems"][0]["field"].startswith("events")
    assert rows("webhook_subscriptions") == 0


def test_the_board_priority_route_refuses_unknown_fields(app, store, catalogue):
    from floorkit import order_body

    api = app.test_client()
    from server.people import auth

    key = auth.create_api_key(store, "t")
    made = api.post("/api/orders", json=order_body("P1", [("SKU-A", 1)]), headers={"Authorization": f"Bearer {key}"})  # fmt: skip
    oid = made.get_json()["id"]
    board = board_web(app)
    extra = board.post(f"/board/api/orders/{oid}/priority", json={"priority": 5, "urgent": True})
    assert extra.status_code == 400 and "unknown field(s) urgent" in extra.get_json()["error"]
    assert store.one("SELECT priority FROM orders WHERE id = ?", (oid,))["priority"] == 0
    ok = board.post(f"/board/api/orders/{oid}/priority", json={"priority": 5})
    assert ok.status_code == 200
    assert store.one("SELECT priority FROM orders WHERE id = ?", (oid,))["priority"] == 5
    cancel = board.post(f"/board/api/orders/{oid}/cancel", json={"reason": "x", "force": True})
    assert cancel.status_code == 400
