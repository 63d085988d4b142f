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
        "server/domain/packing.py",
        "server/services/scanning.py",
        "server/services/receiving.py",
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


def test_every_cli_command_is_in_the_readme():
    from server.cli import main

    readme = (ROOT / "README.md").read_text()
    for name, command in main.commands.items():
        assert f"scanfloor {name}" in readme, name
        for sub in getattr(command, "commands", {}):
            assert f"scanfloor {name} {sub}" in readme, f"{name} {sub}"
