"""Docs are part of the work: every protocol event and every CLI command is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.protocol import BOARD_EVENTS, CLIENT_EVENTS, SERVER_EVENTS

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()


@pytest.mark.parametrize("event", sorted({*CLIENT_EVENTS, *SERVER_EVENTS, *BOARD_EVENTS}))
def test_every_protocol_event_has_a_section(event):
    assert f"### `{event}`" in PROTOCOL


def test_every_screen_is_documented():
    from typing import get_args

    from shared.protocol import Screen

    for screen in get_args(Screen):
        assert f"`{screen}`" in PROTOCOL, screen


def test_every_scan_result_code_is_documented():
    import re

    codes = set()
    sources = (
        "shared/picking.py",
        "server/floor/domain/packing.py",
        "server/floor/scanning.py",
        "server/inventory/receiving.py",
        "server/floor/dock.py",
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


def test_every_cli_command_is_in_the_readme():
    from server.cli.main import main

    # The README, or a page of the docs it leads to.
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    readme = "\n".join(p.read_text() for p in pages)
    for name, command in main.commands.items():
        assert f"scanfloor {name}" in readme, name
        for sub in getattr(command, "commands", {}):
            assert f"scanfloor {name} {sub}" in readme, f"{name} {sub}"


def test_every_metric_is_in_the_readme(tmp_path):
    from server.runtime.metrics import FloorMetrics
    from server.store import open_store

    store = open_store(tmp_path / "docs.db")
    try:
        families = list(FloorMetrics(store).registry.collect())
    finally:
        store.close()
    readme = (ROOT / "README.md").read_text()
    assert len(families) >= 7
    for family in families:
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}" in readme, name


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
    assert "docs/barcodes.md" in (ROOT / "README.md").read_text()
    assert "(barcodes.md" in PROTOCOL
