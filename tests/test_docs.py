"""Docs are part of the work: every protocol event, CLI command, metric and setting is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.protocol import BOARD_EVENTS, CLIENT_EVENTS, SERVER_EVENTS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PROTOCOL = (DOCS / "protocol.md").read_text()
RUNNING = (DOCS / "running.md").read_text()


def section(text: str, heading: str) -> str:
    """The part of a page under `heading` (a `## ` line), up to the next `## ` heading."""
    assert f"\n{heading}\n" in text, heading
    return text[text.index(f"\n{heading}\n") :].split("\n## ")[1]


@pytest.mark.parametrize("event", sorted({*CLIENT_EVENTS, *SERVER_EVENTS, *BOARD_EVENTS}))
def test_every_protocol_event_has_a_section(event):
    assert f"### `{event}`" in PROTOCOL


def test_every_screen_is_documented():
    from typing import get_args

    from shared.protocol import Screen

    for screen in get_args(Screen):
        assert f"`{screen}`" in PROTOCOL, screen


def test_every_screen_field_is_in_the_device_state_table():
    from shared.protocol import DeviceState

    table = section(PROTOCOL, "## `DeviceState`: what the handheld draws")
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    for name in DeviceState.model_fields:
        assert any(f"`{name}`" in row for row in rows), name


def test_every_scan_result_code_is_documented():
    import re

    codes = set()
    sources = (
        "shared/picking.py",
        "server/floor/domain/packing.py",
        "server/floor/scanning.py",
        "server/inventory/receiving.py",
        "server/floor/dock.py",
        "server/returns/receiving.py",
        "server/inventory/transfer_dock.py",
    )
    for path in sources:
        src = (ROOT / path).read_text()
        codes |= set(re.findall(r'Verdict\(\s*(?:True|False),\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'_moved\(.*"([a-z_]+)"\)', src))
    assert {"tote_ok", "put_ok", "label_ok", "list_changed"} <= codes, (
        "the pattern no longer matches the source"
    )
    for code in codes:
        assert f"`{code}`" in PROTOCOL, code


def test_every_replenishment_result_code_is_documented():
    from shared.replenishing import MESSAGES

    assert len(MESSAGES) >= 10
    for code in MESSAGES:
        assert f"`{code}`" in PROTOCOL, code


def test_every_error_ack_code_is_documented():
    import re

    codes = set()
    for path in [*(ROOT / "server").rglob("*.py"), *(ROOT / "shared").rglob("*.py")]:
        src = path.read_text()
        codes |= set(re.findall(r'ProtocolError\(\s*"([a-z_]+)"', src))
        codes |= set(re.findall(r'ErrorBody\(\s*code="([a-z_]+)"', src))
    assert {"bad_message", "unknown_event", "id_reused", "seq_not_issued"} <= codes, (
        "the pattern no longer matches the source"
    )
    table = PROTOCOL[PROTOCOL.index("### Error acks") :]
    for code in codes:
        assert f"`{code}`" in table.split("\n## ")[0], code


def test_protocol_schema_json_is_what_the_code_generates():
    from scripts.protocol_schema import SCHEMA_JSON, render

    assert SCHEMA_JSON.read_text(encoding="utf-8") == render(), (
        "docs/protocol.schema.json is stale: run .venv/bin/python scripts/protocol_schema.py"
    )


def test_protocol_schema_json_is_valid_and_takes_the_documented_examples():
    import json
    import re

    import jsonschema

    doc = json.loads((ROOT / "docs" / "protocol.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(doc)
    events = doc["x-events"]["/device"]
    assert set(events["device_to_server"]) == set(CLIENT_EVENTS)
    assert set(events["server_to_device"]) == set(SERVER_EVENTS)

    def validate(instance, ref: dict) -> None:
        jsonschema.Draft202012Validator({**doc, **ref}).validate(instance)

    # Each event section's JSON example is a valid message of that event.
    checked = set()
    for event, example in re.findall(r"### `(\w+)`\n.*?```json\n(.*?)\n```", PROTOCOL, re.S):
        if event in CLIENT_EVENTS:
            validate(json.loads(example), events["device_to_server"][event]["message"])
            checked.add(event)
    assert checked == set(CLIENT_EVENTS)
    error_ack = re.search(r"### Error acks.*?```json\n(.*?)\n```", PROTOCOL, re.S).group(1)
    for event in CLIENT_EVENTS:
        validate(json.loads(error_ack), events["device_to_server"][event]["ack"])
    with pytest.raises(jsonschema.ValidationError):
        validate(
            {"id": "s1", "barcode": "A", "extra": 1}, events["device_to_server"]["scan"]["message"]
        )
    with pytest.raises(jsonschema.ValidationError):
        validate({"token": "sfd_12345678", "protocol": 99}, events["connect"]["auth"])


def test_every_cli_command_is_in_the_admin_commands_table():
    """docs/running.md's table of admin commands names every command and sub-command."""
    from server.cli.main import main

    table = section(RUNNING, "## The admin commands")
    assert len(main.commands) >= 10
    for name, command in main.commands.items():
        assert f"| `scanfloor {name}" in table, name
        for sub in getattr(command, "commands", {}):
            assert f"`scanfloor {name} {sub}" in table, f"{name} {sub}"


def test_every_metric_is_in_the_docs(tmp_path):
    from server.runtime.metrics import FloorMetrics
    from server.store import open_store

    store = open_store(tmp_path / "docs.db")
    try:
        families = list(FloorMetrics(store).registry.collect())
    finally:
        store.close()
    metrics = section(RUNNING, "## Metrics")
    assert len(families) >= 7
    for family in families:
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"| `{name}" in metrics, name


def test_the_health_answer_in_the_device_setup_is_what_the_server_says(tmp_path):
    from server.app import create_app
    from server.config import Settings

    app, _ = create_app(Settings(data_dir=tmp_path / "data", sqlite_synchronous="NORMAL"))
    try:
        body = app.test_client().get("/api/health").get_data(as_text=True).strip()
    finally:
        app.extensions["store"].close()
    setup = " ".join((ROOT / "docs" / "device-setup.md").read_text().split())
    assert f"/api/health` (install `curl` with apt if it is missing) answers `{body}`" in setup


BARCODES = (ROOT / "docs" / "barcodes.md").read_text()


def test_the_command_cards_in_the_docs_are_the_codes():
    """docs/barcodes.md lists every command card the device reads, with its action, and no other."""
    import re

    from device.scanflow import parse_command
    from shared.commands import CARDS, COUNT, SHORT, card_set, short_found

    table = BARCODES[BARCODES.index("## Command cards") :].split("\n## ")[0]
    rows = re.findall(r"^\| `(CMD-[A-Za-z<>-]+)` \| `(\w+)` \|([^|]*)\|", table, re.M)
    documented = {card: (action, fields.strip()) for card, action, fields in rows}
    in_code = {c.barcode: c for c in CARDS} | {
        f"{COUNT}-<n>": short_found(2),
        f"{SHORT}-<n>": short_found(2, prefix=SHORT),
    }
    assert set(documented) == set(in_code)
    for barcode, card in in_code.items():
        action, fields = documented[barcode]
        assert action == card.action, barcode
        example = barcode.replace("<n>", "2")
        if card.action == "short":
            assert f"`reason` `{card.reason or 'empty'}`" in fields, barcode
            if card.found is None:  # no count: the device asks how many are in the bin
                assert "no `found`" in fields, barcode
                assert parse_command(example) == f"short::{card.reason or 'empty'}", barcode
            else:
                assert "`found` n" in fields, barcode
                assert parse_command(example) == f"short:2:{card.reason}", barcode
        elif card.reason:  # a help card that says why
            assert f"`reason` `{card.reason}`" in fields, barcode
            assert parse_command(example) == f"{card.action}::{card.reason}", barcode
        else:
            # The device sends each card as that action, never as a scan.
            assert parse_command(example) == card.action, barcode
    # What a card set holds: the fixed cards, then the count cards from 1.
    sets = card_set()
    flat = " ".join(BARCODES.split())
    assert (
        f"every fixed card above and `{sets[len(CARDS)].barcode}` to `{sets[-1].barcode}`" in flat
    )
    # The protocol's action section names every action a card sends.
    from typing import get_args

    from shared.protocol import ActionIn

    actions = set(get_args(ActionIn.model_fields["action"].annotation))
    assert {c.action for c in CARDS} == actions


def test_the_barcode_forms_in_the_docs_are_the_codes():
    from shared.picking import is_tote, parse_pick_list_ref, pick_list_ref

    assert "`TOTE-` and 1 to 8 digits" in BARCODES
    assert is_tote("TOTE-12345678") and not is_tote("TOTE-123456789")
    assert f"`{pick_list_ref(4)}`" in BARCODES and parse_pick_list_ref("PL-4") == 4
    from server.floor.domain.floor_labels import BADGE_PREFIX

    assert f"`{BADGE_PREFIX}<name>`" in BARCODES


def test_the_lot_forms_in_the_docs_carry_the_lot():
    """Every example in the lot table reads as GTIN 09501101530003, lot SOON."""
    import re

    from shared.picking import read_scan

    table = BARCODES[BARCODES.index("| form | example") :].split("\n\n")[0]
    examples = []
    for line in table.splitlines()[2:]:
        cell = line.split(" | ")[1].split(": ")[0]  # the examples, not the words after them
        for example in cell.split(", "):
            parts = re.findall(r"`([^`]+)`|(⟨GS⟩)", example)
            examples.append("".join(code or "\x1d" for code, _ in parts))
    assert len(examples) >= 10
    for text in examples:
        _, keys, lot = read_scan(text)
        assert "09501101530003" in keys and lot == "SOON", text


def test_barcodes_doc_is_linked():
    assert "(docs/barcodes.md)" in (ROOT / "README.md").read_text()
    assert "(barcodes.md" in PROTOCOL
    assert "barcodes.md" in nav_pages()


# ---------------------------------------------------------------- the README and the site
README = (ROOT / "README.md").read_text()


def nav_pages() -> list[str]:
    """The pages mkdocs.yml's nav lists (`- Title: page.md` lines)."""
    import re

    return re.findall(r"^\s*- [^:]+: (\S+\.md)$", (ROOT / "mkdocs.yml").read_text(), re.M)


def test_the_readme_fits_a_first_screen_and_keeps_its_two_commands():
    assert len(README.splitlines()) <= 150
    assert "make demo    # " in README and "make test    # " in README
    assert "make demo-serve" in README


def test_every_link_in_the_readme_stays_in_the_repository():
    import re

    links = re.findall(r"\]\(([^)]+)\)", README)
    assert len(links) >= 10
    for link in links:
        assert not link.startswith(("..", "/", "file:")), link
        if "://" in link:
            continue
        target = (ROOT / link.split("#")[0]).resolve()
        assert target.is_relative_to(ROOT) and target.exists(), link


def test_every_docs_page_is_in_the_site_nav():
    pages = nav_pages()
    assert len(pages) == len(set(pages))
    on_disk = sorted(p.name for p in DOCS.glob("*.md"))
    assert sorted(pages) == on_disk


def test_the_make_targets_build_the_docs_site_strictly():
    make = (ROOT / "Makefile").read_text()
    test = make[make.index("\ntest: ") :].split("\n\n")[0]
    assert test.index("lint-imports") < test.index("mkdocs build --strict") < test.index("pytest")
    # --quiet would hide the warnings, and with them what --strict fails on.
    assert "--quiet" not in test and "-q " not in test.split("mkdocs build")[1].split("\n")[0]
    assert "\ndocs: " in make and "\ndocs-serve: " in make
    assert "--dev-addr $(DOCS_ADDR)" in make and "DOCS_ADDR ?= 127.0.0.1:" in make
    site = (ROOT / "mkdocs.yml").read_text()
    assert "font: false" in site  # no Google Fonts: the site works offline
    assert "scripts/docsite/hooks.py" in site


# ---------------------------------------------------------------- configuration, generated
def _models(model, path=()):
    """(dotted key, field) of every setting, walked here apart from the page's own walk."""
    from typing import get_args, get_origin

    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        key = (*path, field.alias or name)
        yield ".".join(key), field
        for inner in (field.annotation, *get_args(field.annotation)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                more = ("<carrier>",) if name == "carriers" else ()
                more = ("<service>",) if name == "services" else more
                more = ("<channel>",) if name == "channels" else more
                more = ("<sku>",) if name == "skus" else more
                sub = [*key, *more]
                if get_origin(field.annotation) is list:  # [[boxes]], [[counts.classes]]
                    sub[-1] += "[]"
                yield from _models(inner, tuple(sub))


@pytest.mark.parametrize("model", ["server", "device"])
def test_every_setting_is_described(model):
    from device.config import DeviceSettings
    from server.config import Settings

    settings, least = {"server": (Settings, 60), "device": (DeviceSettings, 15)}[model]
    leaves = [(key, f) for key, f in _models(settings) if f.annotation is not None]
    assert len(leaves) >= least
    missing = [key for key, f in leaves if not (f.description or "").strip() and not _is_table(f)]
    assert missing == [], "describe these in server/config.py (a string under the field)"


def _is_table(field) -> bool:
    from pydantic import BaseModel

    return isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)


def test_the_configuration_page_has_every_setting_with_its_default_and_variable():
    from scripts.docsite import config_page
    from server.config import Settings

    assert config_page.MARKER in (DOCS / "configuration.md").read_text()
    page = config_page.render()
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in page.splitlines()}
    for key, field in _models(Settings):
        if _is_table(field):
            assert f"### `[{key}]`" in page, key
            continue
        row = rows[f"`{key}`"]
        env = "SCANFLOOR_" + key.upper().replace(".", "__")
        if "[]" not in key:
            assert f"`{env}`" in row, key
    assert "| `http.port` | int | `8800` | `SCANFLOOR_HTTP__PORT` |" in page
    assert '| `email.from` | str | `"shop@example.com"` | `SCANFLOOR_EMAIL__FROM` |' in page
    assert '| `secret_key` | str | `"change-me"` | `SCANFLOOR_SECRET_KEY` |' in page


def test_the_configuration_page_has_every_device_setting():
    from device.config import DeviceSettings
    from scripts.docsite import config_page

    assert config_page.DEVICE_MARKER in (DOCS / "configuration.md").read_text()
    page = config_page.render_device()
    assert "environment variable" not in page  # a device reads none
    for key, field in _models(DeviceSettings, ("device",)):
        if _is_table(field):
            assert f"### `[{key}]`" in page, key
        else:
            assert f"| `{key}` | " in page, key
    assert '| `device.screen` | str, matches `^(tty|plain|none)$` | `"tty"` |' in page
    assert (
        "| `device.token` | str, at least 8 characters, at most 200 characters | required |" in page
    )


def test_every_variable_on_the_configuration_page_sets_its_setting(monkeypatch, tmp_path):
    """Each scalar setting's variable, as the page names it, reaches the setting: a value of
    the wrong kind is refused naming the setting, a right one is taken."""
    import pydantic

    from scripts.docsite import config_page
    from server.config import Settings

    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "none.toml"))
    probes = {"int": "17", "float": "17.5", "bool": "true", "str": "probe-7", "path": "probe-7"}
    checked = 0
    for s in config_page.settings():
        kind = s.type.split(",")[0]
        if s.env is None or kind not in probes:
            continue
        env = s.env.replace("<CARRIER>", "LOCAL").replace("<SERVICE>", "EXPRESS")
        path = s.key.replace("<carrier>", "local").replace("<service>", "express").split(".")
        monkeypatch.setenv(env, probes[kind])
        try:
            got = Settings()
            value = got
            for part in path:
                value = (
                    value[part]
                    if isinstance(value, dict)
                    else getattr(value, "sender" if part == "from" else part)
                )
            assert str(value).lower() in (probes[kind], "17.0"), (s.key, value)
        except pydantic.ValidationError as exc:
            # Refused by a bound, a pattern or a check of its table: the variable was read.
            assert all(
                tuple(e["loc"])[:1] == (path[0],) or path[-1] in e["msg"] for e in exc.errors()
            ), (s.key, exc)
        monkeypatch.delenv(env)
        checked += 1
    assert checked >= 40


# ---------------------------------------------------------------- REST, generated
def test_the_rest_page_renders_every_operation_and_schema(tmp_path):
    from scripts.docsite import rest_page

    assert rest_page.MARKER in (DOCS / "rest.md").read_text()
    doc = rest_page.openapi_document()
    page = rest_page.render(doc)
    assert len(doc["paths"]) >= 30
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            block = page[page.index(f"#### `{method.upper()} {path}`") :].split("\n#### ")[0]
            assert op["summary"] in block, (method, path)
            for status in op["responses"]:
                assert f"\n| {status} | " in block, (method, path, status)
            for param in op.get("parameters", []):
                assert f"| `{param['name']}` | {param['in']} |" in block, (method, path, param)
    for name in doc["components"]["schemas"]:
        assert f"### {name} {{: #{rest_page.anchor(name)} }}" in page, name
    assert "[OrderIn](#schema-orderin)" in page


def test_the_scope_table_names_every_route_with_the_scope_it_needs():
    """docs/rest.md's table of scopes: every route that writes, in the row of the scope the
    server asks for, and every route that takes no key, in the row that says so."""
    import re

    from server.api.openapi import openapi_path
    from server.api.routes import ROUTES
    from server.api.shop import HOOK_ROUTES

    table = section((DOCS / "rest.md").read_text(), "## API keys and scopes")
    listed: dict[tuple[str, str], str] = {}
    for scope, cell in re.findall(r"^\| `?([^`|]+?)`? \| (.+) \|$", table, re.M):
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) (/[^`]+)`", cell):
            listed[(method, re.sub(r"\{[^}]+\}", "{}", path))] = scope
    wanted = {
        (r.method, re.sub(r"\{[^}]+\}", "{}", "/api" + openapi_path(r.path))): r.needs or "no key"
        for r in ROUTES
        if r.needs != "read"
    }
    wanted |= {
        (r.method, re.sub(r"\{[^}]+\}", "{}", "/webhooks" + openapi_path(r.path))): "no key"
        for r in HOOK_ROUTES
    }
    assert listed == wanted
