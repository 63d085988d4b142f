"""The OpenAPI document: valid 3.1, every /api rule in it, bodies and errors from the same models."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

from server.api.openapi import openapi_path
from server.api.routes import ROUTES

IGNORED_METHODS = {"HEAD", "OPTIONS"}
# The document is made from the code's route table and models, never from the store: its
# PostgreSQL variants proved nothing the SQLite ones do not (docs/testing.md).
pytestmark = pytest.mark.sqlite_only("the OpenAPI document: no store SQL is run to make it")


@pytest.fixture
def doc(client) -> dict:
    resp = client.get("/api/openapi.json")  # public: no key
    assert resp.status_code == 200
    return resp.get_json()


def test_document_is_valid_openapi_31(doc):
    assert doc["openapi"].startswith("3.1")
    validate(doc)


def test_every_registered_api_rule_is_documented(app, doc):
    registered = {
        (method.lower(), openapi_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/api/", "/webhooks/"))
        for method in rule.methods - IGNORED_METHODS
    }
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert registered and registered == documented


def test_order_body_and_responses(doc):
    op = doc["paths"]["/api/orders"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/OrderIn"
    assert {"200", "201", "400", "401", "409", "413", "415", "422"} <= set(op["responses"])
    error_ref = op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
    assert error_ref == "#/components/schemas/ErrorOut"
    order_in = doc["components"]["schemas"]["OrderIn"]
    assert order_in["required"] == ["order_id", "lines", "ship_to"]


def test_every_ref_resolves(doc):
    refs: set[str] = set()

    def walk(node) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.add(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    names = {r.rsplit("/", 1)[-1] for r in refs}
    assert names and names <= set(doc["components"]["schemas"])


def test_security_everywhere_but_health_and_the_document(doc):
    assert set(doc["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyHeader"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            public = path in ("/api/health", "/api/openapi.json")
            # signed by the shop, or the carrier, instead of an API key
            signed = path.startswith("/webhooks/") or path == "/api/carriers/{carrier}/events"
            assert (op["security"] == []) is (public or signed), (method, path)
            assert ("401" in op["responses"]) is not public, (method, path)


def test_path_parameters_and_404(doc):
    op = doc["paths"]["/api/pick-lists/{list_id}"]["get"]
    schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert op["parameters"] == [
        {"name": "list_id", "in": "path", "required": True, "schema": schema}
    ]
    assert "404" in op["responses"]


def test_query_parameters_come_from_the_query_models(doc):
    params = {p["name"]: p for p in doc["paths"]["/api/orders"]["get"]["parameters"]}
    assert set(params) == {"status", "limit"}
    assert params["limit"]["schema"]["maximum"] == 1000


def test_route_table_has_no_duplicates():
    keys = [(r.method, r.path) for r in ROUTES]
    assert len(keys) == len(set(keys))
    assert len({r.endpoint for r in ROUTES}) == len(ROUTES)


def test_the_shopify_webhook_is_documented_outside_api(doc):
    op = doc["paths"]["/webhooks/shopify/{channel}"]["post"]
    assert op["security"] == []  # signed by the shop instead
    headers = {p["name"] for p in op["parameters"] if p["in"] == "header"}
    assert headers == {"X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"}
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ShopifyOrder"
    assert op["responses"]["401"]["description"] == "Missing or wrong signature"
    assert {"200", "401", "422"} <= set(op["responses"])
    for path in ("/api/webhook-subscriptions", "/api/webhook-deliveries", "/api/inbound-webhooks"):
        assert path in doc["paths"]
