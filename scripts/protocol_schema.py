"""Write docs/protocol.schema.json: the device protocol as JSON Schema, from shared/protocol.py.

One definition per message (`$defs`), and under `x-events` which message each
event carries and what acknowledges it, so a device written in another language
can validate what it sends and reads. tests/test_docs.py fails when the committed
file differs from what the code generates: run this after changing the models.

    .venv/bin/python scripts/protocol_schema.py           # write the file
    .venv/bin/python scripts/protocol_schema.py --check   # exit 1 if it is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic.json_schema import models_json_schema  # noqa: E402

from shared.protocol import (  # noqa: E402
    BOARD_EVENTS,
    BOARD_NAMESPACE,
    CLIENT_ACKS,
    CLIENT_EVENTS,
    DEVICE_NAMESPACE,
    MAX_MESSAGE_BYTES,
    PROTOCOL_VERSION,
    SERVER_EVENTS,
    Ack,
    ConnectAuth,
)

SCHEMA_JSON = ROOT / "docs" / "protocol.schema.json"
REF = "#/$defs/{model}"


def build() -> dict[str, Any]:
    """The whole document: every message's schema, and the events that carry them."""
    models = {
        ConnectAuth,
        Ack,
        *CLIENT_EVENTS.values(),
        *CLIENT_ACKS.values(),
        *SERVER_EVENTS.values(),
        *BOARD_EVENTS.values(),
    }
    # Validation schemas: both ends validate every message they read against these.
    keys = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
    refs, top = models_json_schema(keys, ref_template=REF)

    def ref(model: type) -> dict[str, str]:
        return refs[(model, "validation")]

    def ack(event: str) -> dict[str, Any]:
        taken = ref(CLIENT_ACKS[event])
        return taken if CLIENT_ACKS[event] is Ack else {"anyOf": [taken, ref(Ack)]}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "scanfloor device protocol",
        "description": (
            f"Protocol version {PROTOCOL_VERSION}: Socket.IO namespaces {DEVICE_NAMESPACE} "
            f"and {BOARD_NAMESPACE}, messages of at most {MAX_MESSAGE_BYTES} bytes. "
            "Generated from shared/protocol.py by scripts/protocol_schema.py; "
            "docs/protocol.md tells what each message means."
        ),
        "x-protocol-version": PROTOCOL_VERSION,
        "x-events": {
            DEVICE_NAMESPACE: {
                "connect": {"auth": ref(ConnectAuth)},
                "device_to_server": {
                    event: {"message": ref(model), "ack": ack(event)}
                    for event, model in CLIENT_EVENTS.items()
                },
                "server_to_device": {
                    event: {"message": ref(model)} for event, model in SERVER_EVENTS.items()
                },
            },
            BOARD_NAMESPACE: {
                "server_to_board": {
                    event: {"message": ref(model)} for event, model in BOARD_EVENTS.items()
                },
            },
        },
        "$defs": top["$defs"],
    }


def render() -> str:
    """The file's text: stable key order, two-space indent, a final newline."""
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = SCHEMA_JSON.read_text(encoding="utf-8") if SCHEMA_JSON.exists() else ""
        if current != text:
            print(f"{SCHEMA_JSON.relative_to(ROOT)} is stale: run scripts/protocol_schema.py")
            return 1
        return 0
    SCHEMA_JSON.write_text(text, encoding="utf-8")
    print(f"wrote {SCHEMA_JSON.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
