"""Split a byte stream from a scanner into scans on CR, LF or CRLF.

Kept apart from any transport so the serial driver, stdin and the fake scanner
share one framing and the contract tests cover all of them.
"""

from __future__ import annotations

from collections import deque

EOL_MODES = ("any", "cr", "lf", "crlf")
_TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}


class LineFramer:
    """Accumulate bytes and hand out complete scans; a partial scan waits for more bytes."""

    def __init__(self, eol: str = "any", encoding: str = "utf-8") -> None:
        if eol not in EOL_MODES:
            raise ValueError(f"eol must be one of {', '.join(EOL_MODES)}, not {eol!r}")
        self.eol = eol
        self.encoding = encoding
        self._partial = bytearray()
        self._scans: deque[str] = deque()

    def feed(self, data: bytes) -> None:
        """Add bytes as they came off the wire."""
        self._partial += data
        if self.eol == "any":
            # CR, LF and CRLF all end a scan; the empty "line" between CR and LF
            # of a CRLF (even when split across two reads) is dropped below.
            parts = self._partial.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
        else:
            parts = self._partial.split(_TERMINATORS[self.eol])
        # The last part has no terminator yet: it is the partial scan.
        self._partial = bytearray(parts.pop())
        for part in parts:
            if part:
                self._scans.append(part.decode(self.encoding, errors="replace"))

    def pop(self) -> str | None:
        """Return the oldest complete scan, or None."""
        return self._scans.popleft() if self._scans else None

    def has_scan(self) -> bool:
        """True when a complete scan is waiting."""
        return bool(self._scans)

    @property
    def partial(self) -> bytes:
        """Bytes of the scan still being received."""
        return bytes(self._partial)

    def drop_partial(self) -> bytes:
        """Forget the unfinished scan (its sender went away) and return what was dropped."""
        dropped, self._partial = bytes(self._partial), bytearray()
        return dropped
