"""SQLite storage through sqlite-utils: connection, migrations, queries."""

from server.store.db import Store, open_store

__all__ = ["Store", "open_store"]
