"""The OpenAPI 3.1 document, built from the route table and the same pydantic models."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from server.api.auth import SECURITY, SECURITY_SCHEMES
from server.api.errors import ERROR_CODES
from server.api.table import Route
from server.core.schemas import CODE_IN_PATH, DEVICE_NAME_PATTERN, MAX_ID, ErrorOut

REF = "#/components/schemas/{model}"
_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTER_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "device": {"type": "string", "pattern": DEVICE_NAME_PATTERN, "maxLength": 64},
    "code": {"type": "string", "pattern": CODE_IN_PATH, "maxLength": 64},
}
_DESCRIPTIONS = {
    200: "OK",
    201: "Created",
    400: "Malformed JSON",
    401: "Missing, wrong, revoked or expired API key",
    403: "The API key lacks the scope this route needs",
    404: "Not found",
    409: "Conflicts with what exists",
    413: "Body too large",
    415: "Body is not application/json",
    422: "Invalid input: every problem listed",
}


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `/pick-lists/<id:list_id>` -> `/pick-lists/{list_id}`."""
    return _RULE_ARG.sub(lambda m: "{" + m.group(2) + "}", rule)


def _path_params(rule: str) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _CONVERTER_SCHEMAS.get(conv or "", {"type": "string"}),
        }
        for conv, name in _RULE_ARG.findall(rule)
    ]


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in prop:
            param["description"] = prop["description"]
        param["schema"] = {k: v for k, v in prop.items() if k != "description"}
        params.append(param)
    return params


def _json(ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": ref}}


def _statuses(route: Route) -> list[int]:
    codes = {route.status, *route.also}
    if any(conv in _CONVERTER_SCHEMAS for conv, _ in _RULE_ARG.findall(route.path)):
        codes.add(404)  # a path part its converter does not take is no resource here
    if not route.public:
        codes |= {401, 403}
    if route.body is not None:
        codes |= {400, 413, 415, 422}
    if route.raw_body is not None:  # the view reads it: malformed JSON is one of its 422s
        codes |= {400, 413, 415, 422}  # 400: nested too deep
    if route.query is not None or not route.public:  # a query string it does not take: 422
        codes.add(422)
    return sorted(codes)


def build(
    routes: Sequence[Route],
    title: str,
    version: str,
    prefix: str = "/api",
    more: Sequence[tuple[str, Sequence[Route]]] = (),
) -> dict[str, Any]:
    """The whole document: paths from the tables (`more`: other prefixes' tables), components
    from the models."""
    tables = [(prefix, routes), *more]
    everything = [r for _, table in tables for r in table]
    inputs = {r.body or r.raw_body for r in everything if r.body or r.raw_body}
    outputs = {r.response for r in everything if r.response} | {ErrorOut}
    keys = [(m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)]
    keys += [(m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)]
    refs, top = models_json_schema(keys, ref_template=REF)
    error_ref = refs[(ErrorOut, "serialization")]

    paths: dict[str, dict[str, Any]] = {}
    for prefix, route in ((p, r) for p, table in tables for r in table):
        op: dict[str, Any] = {"operationId": route.endpoint, "summary": route.summary}
        doc = (route.view.__doc__ or "").strip()
        scope = route.needs
        if scope is not None:
            need = f"API key scope: `{scope}` (403 without it)."
            doc = f"{doc}\n\n{need}" if doc and doc != route.summary else need
        if doc and doc != route.summary:
            op["description"] = doc
        if scope is not None:
            op["x-required-scope"] = scope
        params = _path_params(route.path)
        if route.query is not None:
            params += _query_params(route.query)
        params += [
            {"name": name, "in": "header", "required": True, "description": desc,
             "schema": {"type": "string"}}
            for name, desc in route.headers
        ]  # fmt: skip
        if params:
            op["parameters"] = params
        body = route.body or route.raw_body
        if body is not None:
            op["requestBody"] = {"required": True, "content": _json(refs[(body, "validation")])}
        responses: dict[str, Any] = {}
        for code in _statuses(route):
            if code < 400:
                body = refs[(route.response, "serialization")] if route.response else {}
            else:
                body = error_ref
            desc = _DESCRIPTIONS.get(code) or ERROR_CODES.get(code, "")
            if code == 401 and route.public:  # a public route that checks a signature instead
                desc = "Missing or wrong signature"
            content = _json(body)
            if code < 400 and route.media != "application/json":
                content = {route.media: {"schema": {"type": "string"}}}
            if code < 400:
                content |= {m: {"schema": {"type": "string"}} for m in route.also_media}
            responses[str(code)] = {"description": desc, "content": content}
        op["responses"] = responses
        # OpenAPI 3.1: a scheme other than OAuth lists the roles it needs: here, the scope.
        op["security"] = [] if scope is None else [{k: [scope]} for d in SECURITY for k in d]
        paths.setdefault(prefix + openapi_path(route.path), {})[route.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": SECURITY_SCHEMES,
        },
        "security": SECURITY,
    }
