"""Moving a site between databases: every table, in dependency order, checked on both sides.

`copy_site` copies a stopped site from one store to another (SQLite to PostgreSQL, the move
a growing site makes, or back). It reads the source in one snapshot and writes the target in
one transaction: a target that is not empty is refused before anything is written, and a
copy whose row counts or stock invariants do not match on both sides is rolled back whole.
Ids are copied as they are; on PostgreSQL each identity sequence is set past the highest id
the source ever handed out (SQLite's AUTOINCREMENT high-water mark included), so no id is
handed out twice after the move.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

from server.store.checks import stock_problems
from server.store.db import Store, open_store
from server.store.migrations import MIGRATIONS

MIGRATION_TABLES = ("_sqlite_migrations", "_migrations")
BATCH = 2000  # rows read and written at a time


class CopyRefused(Exception):
    """The copy cannot be made (target not empty, schemas apart, a check failed): nothing written."""


@dataclass
class CopyReport:
    """What was copied: rows per table, in the order written, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def applied_migrations(store: Any) -> list[str]:
    """The migrations the store has applied, by name."""
    table = "_sqlite_migrations" if store.dialect == "sqlite" else "_migrations"
    rows = store.all(f"SELECT name FROM {table} WHERE migration_set = ?", (MIGRATIONS.name,))
    return sorted(r["name"] for r in rows)


def _references(store: Any) -> dict[str, set[str]]:
    """Each data table and the tables its foreign keys point at."""
    if store.dialect == "sqlite":
        names = [
            r["name"]
            for r in store.all(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        graph = {
            n: {r["table"] for r in store.all(f"PRAGMA foreign_key_list('{n}')")} for n in names
        }
    else:
        names = [
            r["tablename"]
            for r in store.all(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            )
        ]
        graph = {n: set() for n in names}
        for r in store.all(
            "SELECT cl.relname AS child, pa.relname AS parent FROM pg_constraint c "
            "JOIN pg_class cl ON cl.oid = c.conrelid JOIN pg_class pa ON pa.oid = c.confrelid "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
        ):
            graph[r["child"]].add(r["parent"])
    return {n: deps - {n} for n, deps in graph.items() if n not in MIGRATION_TABLES}


def tables_in_order(store: Any) -> list[str]:
    """The site's data tables, every table after the tables it refers to."""
    graph = _references(store)
    sorter = TopologicalSorter({n: sorted(graph[n]) for n in sorted(graph)})
    return list(sorter.static_order())


def row_counts(store: Any, tables: list[str]) -> dict[str, int]:
    """Rows per table."""
    return {t: store.one(f'SELECT COUNT(*) AS n FROM "{t}"')["n"] for t in tables}


def _columns(store: Any, table: str) -> list[str]:
    if store.dialect == "sqlite":
        return [r["name"] for r in store.all(f"PRAGMA table_info('{table}')")]
    return [
        r["column_name"]
        for r in store.all(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
    ]


def _read(store: Any, table: str, columns: list[str]) -> Iterator[list[tuple]]:
    """The table's rows in batches (inside the caller's read snapshot)."""
    names = ", ".join(f'"{c}"' for c in columns)
    query = f'SELECT {names} FROM "{table}"'
    cur = store.conn.execute(query) if store.dialect == "sqlite" else store.conn.raw.execute(query)
    while batch := cur.fetchmany(BATCH):
        yield [tuple(r) for r in batch]


def high_water(store: Any) -> dict[str, int]:
    """The highest id each table has handed out (deleted rows included, where known)."""
    if store.dialect == "sqlite":
        if not store.one("SELECT 1 AS x FROM sqlite_master WHERE name = 'sqlite_sequence'"):
            return {}
        return {r["name"]: r["seq"] for r in store.all("SELECT name, seq FROM sqlite_sequence")}
    rows = store.all(
        "SELECT table_name AS t, pg_sequence_last_value("
        "  pg_get_serial_sequence(quote_ident(table_name), column_name)::regclass) AS seq "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND is_identity = 'YES'"
    )
    return {r["t"]: r["seq"] for r in rows if r["seq"] is not None}


def _write(target: Any, table: str, columns: list[str], batch: list[tuple]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    if target.dialect == "sqlite":
        marks = ", ".join("?" for _ in columns)
        target.conn.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', batch)
        return
    with (
        target.conn.raw.cursor() as cur,
        cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy,
    ):
        for row in batch:
            copy.write_row(row)


def _set_ids(target: Any, tables: list[str], marks: dict[str, int]) -> None:
    """Identity sequences (PostgreSQL) or AUTOINCREMENT marks (SQLite) past every copied id."""
    if target.dialect == "postgresql":
        for r in target.all(
            "SELECT table_name AS t, column_name AS c FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"
        ):
            top = target.one(f'SELECT COALESCE(MAX("{r["c"]}"), 0) AS n FROM "{r["t"]}"')["n"]
            top = max(top, marks.get(r["t"], 0))
            if top:
                target.conn.raw.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), %s)",
                    (f'"{r["t"]}"', r["c"], top),
                )
        return
    for table in tables:
        if table in marks and target.one(
            "SELECT 1 AS x FROM sqlite_master WHERE name = ? AND sql LIKE '%AUTOINCREMENT%'",
            (table,),
        ):
            row = target.one("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,))
            if row is None:
                target.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, marks[table])
                )
            elif row["seq"] < marks[table]:
                target.execute(
                    "UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (marks[table], table)
                )


def open_source(url: str) -> Store:
    """An existing site's store, as it is (not migrated): a missing SQLite file is an error."""
    if not url.startswith(("postgresql://", "postgres://")):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise CopyRefused(f"no database at {path}")
    return open_store(url, migrate=False)


def copy_between(
    source: Any, target: Any, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy every row of `source` into the empty, migrated `target` (see the module's doc)."""
    started = time.perf_counter()
    if applied_migrations(source) != applied_migrations(target):
        raise CopyRefused(
            "the two databases are at different migrations: run `scanfloor init` on the source"
        )
    tables = tables_in_order(source)
    if sorted(tables) != sorted(tables_in_order(target)):
        raise CopyRefused("the two databases do not hold the same tables")
    full = {t: n for t, n in row_counts(target, tables).items() if n}
    if full:
        some = ", ".join(f"{t} ({n} rows)" for t, n in sorted(full.items())[:5])
        raise CopyRefused(f"the target database is not empty: {some}; nothing was written")
    report = CopyReport()
    with source.read():
        problems = stock_problems(source)
        if problems:
            raise CopyRefused("the source breaks the stock invariants: " + "; ".join(problems))
        counts = row_counts(source, tables)
        marks = high_water(source)
        with target.write():
            for table in tables:
                columns = _columns(source, table)
                for batch in _read(source, table, columns):
                    _write(target, table, columns, batch)
                report.rows[table] = counts[table]
                if progress is not None:
                    progress(table, counts[table])
            _set_ids(target, tables, marks)
            copied = row_counts(target, tables)
            wrong = {t: (counts[t], copied[t]) for t in tables if counts[t] != copied[t]}
            if wrong:
                raise CopyRefused(f"row counts differ (source, target): {wrong}; rolled back")
            problems = stock_problems(target)
            if problems:
                raise CopyRefused("the copy breaks the stock invariants: " + "; ".join(problems))
    report.seconds = time.perf_counter() - started
    return report


def copy_site(
    source_url: str, target_url: str, progress: Callable[[str, int], None] | None = None
) -> CopyReport:
    """Copy a stopped site from the database at `source_url` into the empty one at `target_url`."""
    if source_url == target_url:
        raise CopyRefused("the source and the target are the same database")
    source = open_source(source_url)
    try:
        target = open_store(target_url)
        try:
            return copy_between(source, target, progress)
        finally:
            target.close()
    finally:
        source.close()
