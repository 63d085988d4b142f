"""docs/rest.md's reference, rendered from the app's own OpenAPI document.

`openapi_document()` asks a freshly made app for `/api/openapi.json`, the same document the
server serves; `render(doc)` writes every operation (parameters, body, responses) and every
schema as Markdown. The docs site does both at build time (scripts/docsite/hooks.py), so the
page cannot drift from the code and nothing is loaded from a CDN.
"""

from __future__ import annotations

import inspect
import json
import re
import tempfile
from pathlib import Path
from secrets import token_hex
from typing import Any

MARKER = "<!-- generated: rest -->"
_REF = "#/components/schemas/"


def openapi_document() -> dict[str, Any]:
    """The document a server serves at /api/openapi.json, from an app on a throwaway database."""
    from server.app import create_app
    from server.config import Settings

    with tempfile.TemporaryDirectory(prefix="scanfloor-docs-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", sqlite_synchronous="NORMAL", secret_key=token_hex(32)
        )
        app, _ = create_app(settings)
        try:
            resp = app.test_client().get("/api/openapi.json")
            assert resp.status_code == 200, resp.status_code
            return resp.get_json()
        finally:
            app.extensions["store"].close()


def anchor(name: str) -> str:
    """The id the docs give a schema's heading (`### OrderIn` -> `orderin`)."""
    return "schema-" + re.sub(r"[^a-z0-9_-]", "", name.lower())


def type_of(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short phrase: `string`, `array of [OrderIn](#schema-orderin)`."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(_REF)
        return f"[{name}](#{anchor(name)})"
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    if "enum" in schema:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            parts = [type_of(s) for s in schema[key]]
            parts = [p for p in parts if p != "null"] + (["null"] if "null" in parts else [])
            return (" and " if key == "allOf" else " or ").join(parts)
    kind = schema.get("type")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        return "array of " + type_of(schema.get("items", {}))
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return "object of " + type_of(schema["additionalProperties"])
    text = kind or "any"
    if schema.get("format"):
        text += f" ({schema['format']})"
    return text


def limits(schema: dict[str, Any]) -> str:
    """The bounds a schema sets, in words."""
    said = []
    names = {
        "minimum": "≥ {}",
        "exclusiveMinimum": "> {}",
        "maximum": "≤ {}",
        "exclusiveMaximum": "< {}",
        "minLength": "at least {} character(s)",
        "maxLength": "at most {} characters",
        "minItems": "at least {} items",
        "maxItems": "at most {} items",
        "pattern": "matches `{}`",
    }
    for part in [schema, *schema.get("anyOf", [])]:
        said += [text.format(part[key]) for key, text in names.items() if key in part]
    if "default" in schema and schema["default"] is not None:
        said.append(f"default `{json.dumps(schema['default'])}`")
    return ", ".join(said)


def _cell(text: str) -> str:
    """One table cell on one line, with `|` outside code spans escaped."""
    text = " ".join(str(text).split())
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("|", "\\|") for p in parts) or " "


def _row(*cells: str) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _body(content: dict[str, Any]) -> str:
    return "; ".join(f"`{media}`: {type_of(c.get('schema', {}))}" for media, c in content.items())


def operation(method: str, path: str, op: dict[str, Any]) -> list[str]:
    out = [f"#### `{method.upper()} {path}`", "", f"**{op.get('summary', '')}**", ""]
    if op.get("description"):
        out += [inspect.cleandoc(op["description"]), ""]
    if "x-required-scope" not in op:
        out += ["No API key (public).", ""]
    params = op.get("parameters", [])
    if params:
        out += ["| parameter | in | required | type | description |", "|---|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            said = ", ".join(x for x in (p.get("description", ""), limits(schema)) if x)
            out.append(
                _row(f"`{p['name']}`", p["in"], "yes" if p.get("required") else "no",
                     type_of(schema), said)
            )  # fmt: skip
        out.append("")
    if "requestBody" in op:
        out += [f"Body: {_body(op['requestBody']['content'])}", ""]
    out += ["| status | meaning | body |", "|---|---|---|"]
    for status, resp in op.get("responses", {}).items():
        out.append(_row(status, resp.get("description", ""), _body(resp.get("content", {}))))
    return [*out, ""]


def schema_section(name: str, schema: dict[str, Any]) -> list[str]:
    out = [f"### {name} {{: #{anchor(name)} }}", ""]
    if schema.get("description"):
        out += [" ".join(schema["description"].split()), ""]
    props = schema.get("properties", {})
    if not props:
        return [*out, f"Type: {type_of(schema)} {limits(schema)}".rstrip(), ""]
    required = set(schema.get("required", []))
    out += ["| field | type | required | description |", "|---|---|---|---|"]
    for field, prop in props.items():
        said = ", ".join(x for x in (prop.get("description", ""), limits(prop)) if x)
        out.append(_row(f"`{field}`", type_of(prop), "yes" if field in required else "no", said))
    extra = schema.get("additionalProperties")
    if extra is False:
        out += ["", "Other fields are refused."]
    return [*out, ""]


def render(doc: dict[str, Any]) -> str:
    """Every operation, grouped by the first part of its path, then every schema."""
    groups: dict[str, list[str]] = {}
    for path, methods in doc["paths"].items():
        group = "/" + "/".join(path.strip("/").split("/")[:2])
        for method, op in methods.items():
            groups.setdefault(group, []).extend(operation(method, path, op))
    count = sum(len(m) for m in doc["paths"].values())
    title = f"{doc['info']['title']} {doc['info']['version']}"
    out = ["## Operations", "", f"OpenAPI {doc['openapi']}, {title}: {count} operations.", ""]
    for group, lines in groups.items():
        out += [f"### `{group}`", "", *lines]
    out += ["## Schemas", ""]
    for name, schema in doc["components"]["schemas"].items():
        out += schema_section(name, schema)
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(openapi_document()))
