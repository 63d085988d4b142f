"""Keep a process from importing client libraries it will never use.

python-socketio imports every client manager and message queue it has, whether or not
the process uses them: Redis (its RedisManager, and redis imports its asyncio client) and,
where installed, aiohttp for its asyncio client. Neither is used by a handheld, and a
server uses Redis only when `redis_url` is set. Putting None into `sys.modules` before
python-socketio is imported makes its `import` fail, which it expects (each of those
imports sits in a `try ... except ImportError`). Measured on this project's 2-core box,
user + sys CPU of fresh processes: the server's start-up imports about 0.35 s less, the
handheld's about 0.5 s less (docs/testing.md).

Only entry points call this (`python -m server.runtime.serve`, `python -m device.main`),
never a library module: a test process that imports our modules keeps what it has.
"""

from __future__ import annotations

import sys

# Never used by a handheld; by a server only with Redis (`redis_url`).
UNUSED_CLIENTS = ("aiohttp", "redis")


def keep_out(*names: str) -> list[str]:
    """Make `import name` fail for each name not imported yet; returns the names kept out."""
    out = [n for n in names if n not in sys.modules]
    for name in out:
        sys.modules[name] = None  # type: ignore[assignment]
    return out
