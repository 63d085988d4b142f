"""Ids made on one machine and unique across the floor."""

from __future__ import annotations

import os
import time


def new_id(prefix: str = "") -> str:
    """A sortable unique id: milliseconds since epoch then 64 random bits, in hex."""
    return f"{prefix}{int(time.time() * 1000):012x}{os.urandom(8).hex()}"
