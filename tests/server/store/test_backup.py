"""Backups that restore: taken while a handheld scans, restored with every acknowledged scan."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from dbkit import fresh_postgres

from server.cli.main import main
from server.store import open_store
from server.store.checks import stock_problems

REPO = Path(__file__).resolve().parents[3]
# The load: the server app in a process of its own on the test's database, a picker scanning
# through its /device namespace and orders coming in and being allocated, one after the other
# as fast as they go. It prints each scan's id once the server acknowledged it (and the
# order of its turn, if any, was captured).
SCANNING = """
import sys
from floorkit import connect, place, scan
from server.app import create_app
from server.config import Settings
url, data, token = sys.argv[1:4]
app, socketio = create_app(Settings(data_dir=data, database_url=url, sqlite_synchronous="NORMAL"))
store = app.extensions["store"]
picker = connect(app, socketio, token)
i = 0
while True:
    i += 1
    reply = scan(picker, f"NOT-A-BIN-{i}", f"load-{i}")
    assert reply["id"] == f"load-{i}", reply
    if i % 5 == 0:
        place(store, f"load-order-{i}", [("SKU-B", 1), ("SKU-A", 1)])
    print(reply["id"], flush=True)  # the scan, and the order of its turn, are committed
"""


class Scanner:
    """The scanning process and the ids it has had acknowledged so far."""

    def __init__(self, url: str, data: Path, token: str):
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'tests'}"}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SCANNING, url, str(data), token],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.acked: list[str] = []

    def until(self, count: int, timeout: float = 60) -> list[str]:
        """Read acknowledgements until `count` in all; returns them."""
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            assert self.proc.poll() is None, "the scanning process ended"
            assert time.monotonic() < deadline, f"only {len(self.acked)} scans in {timeout} s"
            if select.select([self.proc.stdout], [], [], 0.5)[0]:
                self.acked.append(self.proc.stdout.readline().strip())
        return list(self.acked)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_a_backup_taken_under_load_restores_every_acknowledged_scan(
    floor_settings, floor_store, floor_tokens, tmp_path
):
    url = floor_settings.database
    scanner = Scanner(url, tmp_path / "load", floor_tokens["picker"])
    try:
        acked = scanner.until(20)  # scanning and allocating, flat out
        dest = tmp_path / "site.backup"
        result = CliRunner().invoke(main, ["backup", str(dest), "--database", url])
        assert result.exit_code == 0, result.output
        during = scanner.until(len(scanner.acked) + 5)  # it went on scanning meanwhile
    finally:
        scanner.stop()
    assert len(during) > len(acked)
    with _empty_database(url, tmp_path) as target:
        result = CliRunner().invoke(main, ["restore", str(dest), "--database", target])
        assert result.exit_code == 0, result.output
        assert "stock invariants hold" in result.output
        restored = open_store(target)
        try:
            ids = {r["msg_id"] for r in restored.all("SELECT msg_id FROM scans")}
            assert set(acked) <= ids  # every scan acknowledged before the backup began
            assert stock_problems(restored) == []
            shops = {r["external_id"] for r in restored.all("SELECT external_id FROM orders")}
            assert {f"load-order-{i}" for i in range(5, len(acked) + 1, 5)} <= shops
        finally:
            restored.close()


class _empty_database:
    """A database of the same kind holding nothing: a new SQLite path, a bare PostgreSQL one."""

    def __init__(self, url: str, tmp_path: Path):
        self.postgres = url.startswith("postgresql")
        self.path = tmp_path / "restored" / "site.db"
        self._pg = fresh_postgres(migrated=False) if self.postgres else None

    def __enter__(self) -> str:
        if self._pg is not None:
            return self._pg.__enter__()
        return f"sqlite:///{self.path}"

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            self._pg.__exit__(*exc)


def test_restore_refuses_a_database_with_data_unless_forced(floor_settings, floor_store, tmp_path):
    url = floor_settings.database
    dest = tmp_path / "before.backup"
    assert CliRunner().invoke(main, ["backup", str(dest), "--database", url]).exit_code == 0
    again = CliRunner().invoke(main, ["backup", str(dest), "--database", url])
    assert again.exit_code == 1 and "already exists" in again.output
    floor_store.execute("INSERT INTO products (sku, name) VALUES ('AFTER-1', 'after the backup')")
    floor_store.close()
    refused = CliRunner().invoke(main, ["restore", str(dest), "--database", url])
    assert refused.exit_code == 1
    assert "holds data" in refused.output and "--force" in refused.output
    store = open_store(url)
    assert store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'AFTER-1'")["n"] == 1
    store.close()
    forced = CliRunner().invoke(main, ["restore", str(dest), "--database", url, "--force"])
    assert forced.exit_code == 0, forced.output
    store = open_store(url)
    try:
        assert store.one("SELECT COUNT(*) AS n FROM products WHERE sku = 'AFTER-1'")["n"] == 0
        assert store.one("SELECT COUNT(*) AS n FROM products")["n"] == 3
    finally:
        store.close()


def test_a_backup_that_is_no_backup_is_refused(tmp_path):
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    result = CliRunner().invoke(
        main, ["restore", str(junk), "--database", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert result.exit_code == 1 and "neither a SQLite backup nor a pg_dump" in result.output
    assert not (tmp_path / "x.db").exists()


pytestmark = pytest.mark.timeout(120)
