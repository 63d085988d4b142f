"""Socket.IO packets as the server reads them: one it cannot decode is answered, not dropped.

python-socketio decodes a packet's JSON before any handler runs. A `[[[[…` bomb
(RecursionError), a 101-digit integer (engine.io refuses it) or cut JSON raised
there, the packet was dropped and the device never got an acknowledgement.
`DevicePacket` decodes such a payload as the event UNREADABLE carrying the
reason, which the /device namespace answers with a `bad_message` error ack (the
packet's ack id comes before its JSON, so the answer can still be addressed).
"""

from __future__ import annotations

from typing import Any

from engineio import json as engineio_json
from socketio import packet

UNREADABLE = "unreadable message"  # the event an undecodable payload becomes


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    if str(exc) == "Integer is too large":
        return "an integer in it is too large"
    return f"it is not valid JSON ({exc})"


class PacketJSON:
    """engine.io's json (no huge integers), with a decoding failure turned into UNREADABLE."""

    dumps = staticmethod(engineio_json.dumps)

    @staticmethod
    def loads(s: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return engineio_json.loads(s, *args, **kwargs)
        except (RecursionError, ValueError) as exc:  # JSONDecodeError is a ValueError
            return [UNREADABLE, {"reason": _reason(exc)}]


class DevicePacket(packet.Packet):
    """The server's Socket.IO packet class (`SocketIO(serializer=...)`): reads with PacketJSON."""

    json = PacketJSON
