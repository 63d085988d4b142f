"""Ask a Zebra printer how it is: the ``~HS`` host status query and its reply.

The reply is three STX ... ETX framed strings of comma-separated fields
(Zebra ZPL programming guide, ``~HS``). The flags we act on:

- string 1 ``aaa,b,c,dddd,eee,f,g,h,iii,j,k,l``: b paper out, c pause,
  e formats waiting in the receive buffer, f buffer full;
- string 2 ``mmm,n,o,p,q,r,s,t,uuuuuuuu,v,www``: o head up (open), p ribbon out;
- string 3 ``xxxx,y``: password and static RAM, ignored.
"""

from __future__ import annotations

from .base import PrinterStatus

HS_QUERY = b"~HS"
STX, ETX = b"\x02", b"\x03"

# When several flags are up, report the one an operator must fix first: a
# Zebra pauses itself on paper out, so "paused" alone means someone paused it.
_ORDER = (
    ("head_open", "printer head is open: close the print head"),
    ("paper_out", "printer is out of labels: load a new roll"),
    ("ribbon_out", "printer is out of ribbon: load a new ribbon"),
    ("paused", "printer is paused: press pause to resume"),
)


class StatusParseError(ValueError):
    """The bytes are not a complete ~HS reply."""


def split_reply(data: bytes) -> list[list[str]] | None:
    """Return the three field lists once all three strings arrived, else None."""
    strings: list[list[str]] = []
    rest = data
    while len(strings) < 3:
        start = rest.find(STX)
        end = rest.find(ETX, start + 1)
        if start < 0 or end < 0:
            return None
        text = rest[start + 1 : end].decode("ascii", errors="replace")
        strings.append([field.strip() for field in text.split(",")])
        rest = rest[end + 1 :]
    return strings


def _flag(fields: list[str], index: int, which: str) -> bool:
    try:
        return fields[index] == "1"
    except IndexError:
        raise StatusParseError(f"~HS {which} has {len(fields)} fields, expected more") from None


def parse_host_status(data: bytes) -> PrinterStatus:
    """Parse a ``~HS`` reply into a ``PrinterStatus``; raise ``StatusParseError`` if garbled."""
    strings = split_reply(data)
    if strings is None:
        raise StatusParseError(f"incomplete ~HS reply: {data[:120]!r}")
    first, second, _third = strings
    up = {
        "paper_out": _flag(first, 1, "string 1"),
        "paused": _flag(first, 2, "string 1"),
        "head_open": _flag(second, 2, "string 2"),
        "ribbon_out": _flag(second, 3, "string 2"),
    }
    for code, message in _ORDER:
        if up[code]:
            return PrinterStatus(ok=False, code=code, message=message)
    waiting = first[4] if len(first) > 4 else "?"
    return PrinterStatus(ok=True, message=f"ready, {waiting.lstrip('0') or '0'} formats queued")
