"""Text a person typed (names, addresses, reasons): no control or bidi override characters.

A NUL cuts a string short in C code and on a label printer; an escape sequence
redraws a terminal; a bidi override (U+202A–U+202E) or isolate (U+2066–U+2069)
makes an address read differently from what is stored. They are refused with
the field and the character named, never silently stripped.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic_core import PydanticCustomError, core_schema

# Unicode category Cc (C0 controls, DEL, C1 controls) and the bidi embeddings,
# overrides and isolates.
HIDDEN = "\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069"
_HIDDEN = re.compile(f"[{HIDDEN}]")


def char_name(ch: str) -> str:
    """`U+202E RIGHT-TO-LEFT OVERRIDE`; a control character has no name, so it says so."""
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"


def refuse_hidden(value: str) -> str:
    """The value unchanged, or a validation error naming the first hidden character."""
    m = _HIDDEN.search(value)
    if m is not None:
        raise PydanticCustomError(
            "hidden_character",
            "contains {char} at position {position}: control and bidi override characters "
            "are not allowed",
            {"char": char_name(m.group()), "position": m.start()},
        )
    return value


class NoHidden:
    """Marker for `Annotated[str, ..., NoHidden()]`: refuse hidden characters, say so in the schema."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(refuse_hidden, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        out = handler(schema)
        # The same rule as a pattern, so a client can check before sending.
        out.setdefault("pattern", f"^[^{HIDDEN}]*$".encode("unicode_escape").decode())
        return out


PlainText = Annotated[str, NoHidden()]
