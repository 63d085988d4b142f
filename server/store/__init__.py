"""The site's database: SQLite through sqlite-utils (default) or PostgreSQL through psycopg 3."""

import sys


def _import_sqlite_utils_without_pandas() -> None:
    """Import sqlite-utils with pandas and numpy hidden from it.

    sqlite-utils imports both when they are installed, only to map their scalar types to
    column types when it creates tables from Python values, which the store never asks of it
    (the tables come from server/store/migrations.py). statsforecast, the worker's demand
    forecast, installs both, and importing them cost every process that opens a store
    (servers, the worker, the CLI, the tests' processes) about 1 s of CPU on a quiet machine
    and 3-5 s on a loaded one. Hidden only during this import: the forecast imports them
    itself, for real, when it runs.
    """
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import sqlite_utils  # noqa: F401
        import sqlite_utils.migrations  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


_import_sqlite_utils_without_pandas()

from server.store.db import Store, open_store  # noqa: E402

__all__ = ["Store", "open_store"]
