"""The site's database: SQLite through sqlite-utils (default) or PostgreSQL through psycopg 3."""

from server.store.db import Store, open_store

__all__ = ["Store", "open_store"]
