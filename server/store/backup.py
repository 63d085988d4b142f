"""Backups that restore: SQLite's online backup API, PostgreSQL's pg_dump and pg_restore.

A SQLite backup is taken through the backup API on a connection of its own: it copies one
consistent snapshot (the committed pages, the WAL's included) while the server keeps
writing, and the result is an ordinary database file. A PostgreSQL backup is `pg_dump`'s
custom format, one consistent snapshot too (pg_dump runs in a REPEATABLE READ transaction).
Both are written beside the destination and renamed into place only when whole.

`restore` puts a backup into a database that holds no data (a missing SQLite file, a bare
or freshly migrated PostgreSQL database); one holding data is refused unless `force` says
to replace it. A SQLite backup restores into SQLite, or into PostgreSQL through the site
copy (server/store/copy.py); a pg_dump file restores into PostgreSQL only.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from server.store.copy import CopyRefused, copy_site, row_counts, tables_in_order
from server.store.db import open_store

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be made; the message says why (nothing was replaced)."""


@dataclass
class BackupReport:
    """Where the backup went, its size and how long it took."""

    path: Path
    bytes: int
    seconds: float


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def pg_tool(name: str) -> str:
    """pg_dump or pg_restore: the newest under /usr/lib/postgresql/*/bin, else from PATH."""
    found = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if found:  # the newest: pg_dump must be at least as new as the server it dumps

        def version(path: str) -> float:
            m = re.search(r"/postgresql/([\d.]+)/", path)
            return float(m.group(1)) if m else 0.0

        return max(found, key=version)
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise BackupError(f"{name} not found on PATH or under /usr/lib/postgresql/*/bin")


def backup(url: str, dest: Path) -> BackupReport:
    """Back the site's database up into the new file `dest` (the server may keep running)."""
    dest = Path(dest)
    if dest.exists():
        raise BackupError(f"{dest} already exists: name a new file")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such directory")
    part = dest.with_name(dest.name + ".part")
    started = time.perf_counter()
    try:
        if is_postgres(url):
            _pg_dump(url, part)
        else:
            _sqlite_backup(sqlite_path(url), part)
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return BackupReport(dest, dest.stat().st_size, time.perf_counter() - started)


def _sqlite_backup(path: Path, part: Path) -> None:
    if not path.is_file():
        raise BackupError(f"no database at {path}")
    source = sqlite3.connect(path, timeout=30)  # read only in effect: it only reads
    target = sqlite3.connect(part)
    try:
        # One step (pages=-1): the whole snapshot under one read lock, which in WAL mode
        # blocks no writer. Stepwise copying would restart whenever the server commits.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        ok = target.execute("PRAGMA quick_check").fetchone()[0]
        if ok != "ok":
            raise BackupError(f"the backup does not check out: {ok}")
    finally:
        target.close()
        source.close()


def _pg_dump(url: str, part: Path) -> None:
    done = subprocess.run(
        [pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={part}", url],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")


def kind_of(path: Path) -> str:
    """'sqlite' or 'pg_dump', by the file's first bytes."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_DUMP_MAGIC):
        return "pg_dump"
    raise BackupError(f"{path} is neither a SQLite backup nor a pg_dump custom-format file")


def data_rows(url: str) -> int:
    """How many rows of data the database holds (0: missing, bare or freshly migrated)."""
    if not is_postgres(url) and not sqlite_path(url).is_file():
        return 0
    store = open_store(url, migrate=False)
    try:
        return sum(row_counts(store, tables_in_order(store)).values())
    finally:
        store.close()


def restore(src: Path, url: str, force: bool = False) -> float:
    """Restore the backup `src` into the database at `url`; returns the seconds it took."""
    src = Path(src)
    if not src.is_file():
        raise BackupError(f"no backup at {src}")
    kind = kind_of(src)
    held = data_rows(url)
    if held and not force:
        raise BackupError(
            f"the database holds data ({held} rows): restore into an empty one, "
            "or pass --force to replace it"
        )
    started = time.perf_counter()
    if kind == "sqlite" and is_postgres(url):
        if held:
            raise BackupError("--force replaces a PostgreSQL database from a pg_dump file only")
        try:
            copy_site(f"sqlite:///{src}", url)
        except CopyRefused as exc:
            raise BackupError(str(exc)) from None
    elif kind == "sqlite":
        _sqlite_restore(src, sqlite_path(url))
    elif is_postgres(url):
        _pg_restore(src, url)
    else:
        raise BackupError(
            "a pg_dump backup restores into PostgreSQL only: restore it there, then "
            "`scanfloor db copy` it into SQLite"
        )
    return time.perf_counter() - started


def _sqlite_restore(src: Path, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(path, timeout=30)
    try:
        source.backup(target)  # page by page into the target, under its write lock
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _pg_restore(src: Path, url: str) -> None:
    # Every object of the dump is dropped first (a migrated empty database has them all), and
    # the whole restore is one transaction: a failure leaves the database as it was.
    done = subprocess.run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={url}",
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")
