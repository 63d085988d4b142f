"""Moving a site: `scanfloor db copy` from a SQLite site into another database and back."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from dbkit import rows
from floorkit import Floor, pick_and_pack, place, small_catalogue

from server.app import create_app
from server.cli.main import main
from server.config import Settings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.runtime import processes
from server.store import open_store
from server.store.checks import stock_problems
from server.store.copy import CopyRefused, copy_site, high_water, row_counts, tables_in_order

PEN, PEN_BIN = "0012345678905", "LE-01-01"
# One xdist worker for the module: the worked site below is built once, not once per worker.
pytestmark = pytest.mark.xdist_group("store-copy")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> str:
    """A small SQLite site that has worked: orders (one backordered), a list picked and
    packed (scans, a package, a print job), the change log pruned (ids not to be reused)."""
    root = tmp_path_factory.mktemp("site")
    url = f"sqlite:///{root / 'site.db'}"
    store = open_store(url, synchronous="NORMAL")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    tokens = {
        "picker": auth.create_device(store, "picker-e1", "picker", "WH-EAST"),
        "packer": auth.create_device(store, "packer-e1", "packer", "WH-EAST"),
    }
    app, socketio = create_app(
        Settings(data_dir=root, sqlite_synchronous="NORMAL", database_url=url)
    )
    floor = Floor(app, socketio, app.extensions["store"], tokens)
    pick_and_pack(floor, "shop-1", "TOTE-1", PEN, PEN_BIN)
    for i in range(6):
        place(store, f"shop-{i + 2}", [("SKU-A", 2), ("SKU-B", 1)])
    for at in range(3):  # the change log (written with several processes), then pruned
        store.execute("INSERT INTO floor_signals (message, at) VALUES ('{}', ?)", (at,))
    store.execute("DELETE FROM floor_signals WHERE at = 2")  # its id must never come back
    app.extensions["store"].close()
    store.execute("DELETE FROM server_processes")  # the app in this process: now stopped
    store.close()
    return url


def _snapshot(url: str) -> dict[str, list[dict]]:
    store = open_store(url, migrate=False)
    try:
        tables = tables_in_order(store)
        # pick_lists.version is a random stamp the copy's own inserts bump (triggers)
        return {
            t: [
                {k: v for k, v in r.items() if (t, k) != ("pick_lists", "version")}
                for r in rows(store, t)
            ]
            for t in tables
        }
    finally:
        store.close()


def test_a_site_moves_and_comes_back_row_for_row(site, database_url, tmp_path):
    before = _snapshot(site)
    assert before["scans"] and before["packages"] and before["reservations"]
    report = copy_site(site, database_url)
    assert report.rows == {t: len(r) for t, r in before.items()}
    back = f"sqlite:///{tmp_path / 'back.db'}"
    copy_site(database_url, back)  # and back again: every row as it was
    assert _snapshot(back) == before
    moved = open_store(database_url)
    try:
        assert stock_problems(moved) == []
        # ids go on past the copied ones, and past the pruned change-log row on its table
        source = open_store(site, migrate=False)
        pruned = high_water(source)["floor_signals"]
        source.close()
        assert high_water(moved)["floor_signals"] >= pruned
        top = max(r["id"] for r in before["order_events"])
        new = place(moved, "after-move", [("SKU-C", 1)])
        assert (
            moved.one("SELECT MIN(id) AS n FROM order_events WHERE order_id = ?", (new,))["n"] > top
        )
        signal = moved.execute("INSERT INTO floor_signals (message, at) VALUES ('{}', 0)").lastrowid
        assert signal > pruned
    finally:
        moved.close()


def test_a_target_with_data_is_refused_and_nothing_is_written(site, database_url):
    target = open_store(database_url)
    try:
        target.execute("INSERT INTO products (sku, name) VALUES ('KEEP-1', 'kept')")
        before = row_counts(target, tables_in_order(target))
    finally:
        target.close()
    result = CliRunner().invoke(main, ["db", "copy", site, database_url])
    assert result.exit_code == 1
    assert "target database is not empty: products (1 rows); nothing was written" in result.output
    target = open_store(database_url)
    try:
        assert row_counts(target, tables_in_order(target)) == before
    finally:
        target.close()


def test_a_running_source_or_a_broken_one_is_refused(site, tmp_path):
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    copy_site(site, copy)
    store = open_store(copy)
    processes.register(store, processes.new_instance())  # this process, beating: a server
    store.close()
    result = CliRunner().invoke(main, ["db", "copy", copy, f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 1 and "in use by running processes" in result.output
    store = open_store(copy)
    store.execute("DELETE FROM server_processes")
    store.execute("UPDATE stock SET reserved = 0")  # reservations no longer backed
    store.close()
    target = f"sqlite:///{tmp_path / 'y.db'}"
    with pytest.raises(CopyRefused, match="reserved equals the reservations held"):
        copy_site(copy, target)
    store = open_store(target)
    assert sum(row_counts(store, tables_in_order(store)).values()) == 0
    store.close()
    with pytest.raises(CopyRefused, match="no database at"):
        copy_site(f"sqlite:///{tmp_path / 'none.db'}", target)


def test_a_sqlite_backup_restores_into_either_database(site, database_url, tmp_path):
    """SQLite's backup into SQLite (the backup API) or PostgreSQL (through the site copy);
    a pg_dump file is refused by SQLite, before anything is written."""
    dest = tmp_path / "site.backup"
    assert CliRunner().invoke(main, ["backup", str(dest), "--database", site]).exit_code == 0
    result = CliRunner().invoke(main, ["restore", str(dest), "--database", database_url])
    assert result.exit_code == 0, result.output
    assert _snapshot(database_url) == _snapshot(site)
    dump = tmp_path / "site.dump"
    dump.write_bytes(b"PGDMP\x01\x0e\x00")
    elsewhere = tmp_path / "other.db"
    result = CliRunner().invoke(
        main, ["restore", str(dump), "--database", f"sqlite:///{elsewhere}"]
    )
    assert result.exit_code == 1 and "restores into PostgreSQL only" in result.output
    assert not elsewhere.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["db", "copy", "{site}", "mysql://{tmp}/x"],
        ["db", "copy", "{site}", "sqlite:{tmp}/x.db"],
        ["db", "copy", "mysql://{tmp}/x", "sqlite:///{tmp}/x.db"],
        ["backup", "{tmp}/b.db", "--database", "mysql://{tmp}/x"],
        ["restore", "{tmp}/b.db", "--database", "mysql://{tmp}/x"],
    ],
)
def test_a_database_url_of_no_known_form_is_refused_and_nothing_is_written(site, tmp_path, args):
    # Once taken for the name of a SQLite file: `db copy SITE mysql://x` wrote the site into
    # ./mysql:/x and said "copied".
    (tmp_path / "b.db").write_bytes(b"")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    filled = [a.format(site=site, tmp=tmp_path) for a in args]
    result = CliRunner().invoke(main, filled)
    assert result.exit_code == 2, result.output
    assert "must start with sqlite:/// or postgresql://" in result.output or (
        "a SQLite URL is sqlite:///PATH" in result.output
    )
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not list(tmp_path.rglob("mysql*"))
