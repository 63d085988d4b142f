"""Socket.IO packets as the server reads them: one it cannot decode is answered, not dropped.

python-socketio decodes a packet's JSON before any handler runs. A `[[[[…` bomb
(RecursionError), a 101-digit integer (engine.io refuses it) or cut JSON raised
there, the packet was dropped and the device never got an acknowledgement.
`DevicePacket` decodes such a payload as the event UNREADABLE carrying the
reason, which the /device namespace answers with a `bad_message` error ack (the
packet's ack id comes before its JSON, so the answer can still be addressed).

A scan's reply is serialised once: the JSON stored under its message id (for a
repeat) is the JSON sent. A handler returns it as `Encoded`, and `PacketJSON`
writes it into the packet as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engineio import json as engineio_json
from socketio import packet

UNREADABLE = "unreadable message"  # the event an undecodable payload becomes
NOT_AN_EVENT = "it is not an event: a JSON array of the event's name and its message"
PART_ROWS = 250  # list items serialised at a time by `encoded_in_parts`
PART_CHARS = 64 * 1024  # ... which lets the loop run after about this much JSON


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if str(exc) == "Integer is too large":
        return "an integer in it is too large"
    return f"it is not valid JSON ({exc})"


class Encoded(str):
    """A message already serialised to JSON, sent as it is; `summary` holds the fields
    the server itself looks at (the reply's code, for the metrics)."""

    summary: dict[str, Any]

    def __new__(cls, text: str, summary: dict[str, Any]) -> Encoded:
        encoded = super().__new__(cls, text)
        encoded.summary = summary
        return encoded


def encoded(value: Any) -> Encoded:
    """`value` serialised now, as a packet would (a board's snapshot: sent to several boards,
    and python-socketio walks a payload it is given whole, looking for binary parts)."""
    return Encoded(_dumps(value), {})


def encoded_in_parts(value: dict[str, Any], breathe: Callable[[], None]) -> Encoded:
    """`encoded(value)`, the same text, serialised a part at a time (each value of the dict, a
    long list `PART_ROWS` items at a time) with `breathe()` whenever `PART_CHARS` more are
    written. A board's first view at 1,500 handhelds (about 660 kB) held the loop 30-59 ms
    in one `dumps`."""
    written = 0

    def part(item: Any) -> str:
        nonlocal written
        text = _dumps(item)
        written += len(text)
        if written >= PART_CHARS:
            written = 0
            breathe()
        return text

    fields = []
    for key, item in value.items():
        if type(item) is list and len(item) > PART_ROWS:
            rows = (part(item[at : at + PART_ROWS])[1:-1] for at in range(0, len(item), PART_ROWS))
            text = "[" + ",".join(rows) + "]"
        else:
            text = part(item)
        fields.append(_dumps(key) + ":" + text)
    return Encoded("{" + ",".join(fields) + "}", {})


def _dumps(value: Any) -> str:
    return PacketJSON.dumps(value, separators=(",", ":"))


class PacketJSON:
    """engine.io's json (no huge integers), with a decoding failure turned into UNREADABLE."""

    @staticmethod
    def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
        # A packet's arguments are a list: an Encoded one goes in as the JSON it already is.
        if type(obj) is list and any(type(item) is Encoded for item in obj):
            return (
                "["
                + ",".join(
                    item if type(item) is Encoded else engineio_json.dumps(item, *args, **kwargs)
                    for item in obj
                )
                + "]"
            )
        return engineio_json.dumps(obj, *args, **kwargs)

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return engineio_json.loads(s, *args, **kwargs)
        except (RecursionError, ValueError) as exc:  # JSONDecodeError is a ValueError
            return [UNREADABLE, {"reason": _reason(exc)}]


class DevicePacket(packet.Packet):
    """The server's Socket.IO packet class (`SocketIO(serializer=...)`): reads with PacketJSON.

    An event packet whose data is not an array starting with the event's name (`[]`, an
    object, a string, nothing at all) is the event UNREADABLE too: python-socketio takes
    `data[0]` for the name and raised on those, and the sender got no answer."""

    json = PacketJSON

    def decode(self, encoded_packet: Any) -> int:
        attachments = super().decode(encoded_packet)
        if self.packet_type in (packet.EVENT, packet.BINARY_EVENT) and not (
            type(self.data) is list and self.data and type(self.data[0]) is str
        ):
            self.data = [UNREADABLE, {"reason": NOT_AN_EVENT}]
        return attachments
