"""The `scanfloor` admin CLI through click's CliRunner, on a tmp data dir."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from floorkit import small_catalogue
from trackkit import ship_order

from server.cli.main import main
from server.people import auth
from server.store import open_store

ADDRESS_COLS = "name,line1,city,postcode,country"


@pytest.fixture
def data_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    monkeypatch.delenv("SCANFLOOR_DATA_DIR", raising=False)
    return tmp_path / "data"


@pytest.fixture
def run(data_dir):
    """Run `scanfloor ARGS --data-dir <tmp>`; returns the click Result."""

    def invoke(*args: str, data: bool = True):
        extra = ["--data-dir", str(data_dir)] if data else []
        return CliRunner().invoke(main, [*args, *extra], catch_exceptions=False)

    return invoke


@pytest.fixture
def db(data_dir):
    """Query the CLI's database from the test."""
    stores = []

    def query(sql: str, params: tuple = ()) -> list[dict]:
        store = open_store(data_dir / "scanfloor.db", migrate=False)
        stores.append(store)
        return store.all(sql, params)

    yield query
    for s in stores:
        s.close()


@pytest.fixture
def ready(run, tmp_path) -> None:
    """An initialised database with the small catalogue."""
    assert run("init").exit_code == 0
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(small_catalogue()))
    result = run("import", str(path))
    assert result.exit_code == 0, result.output


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def test_init_creates_and_is_repeatable(run, data_dir):
    first = run("init")
    assert first.exit_code == 0 and "applied 0001_floor" in first.output
    assert (data_dir / "scanfloor.db").exists()
    again = run("init")
    assert again.exit_code == 0 and "applied" not in again.output


def test_config_file_sets_the_data_dir(run, tmp_path):
    cfg = write(tmp_path / "server.toml", f'data_dir = "{tmp_path / "from-config"}"')
    result = run("init", "--config", str(cfg), data=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "from-config" / "scanfloor.db").exists()


def test_missing_config_file_is_an_error(run, tmp_path):
    result = run("init", "--config", str(tmp_path / "nope.toml"))
    assert result.exit_code != 0 and "nope.toml not found" in result.output


@pytest.mark.parametrize(
    "text, said",
    [
        ("[http\nport = 1\n", "is not valid TOML: Expected ']'"),
        ("[http]\nprot = 9000\n", "http.prot: not a setting"),
        ("[login]\nattempts = 0\n", "login.attempts: Input should be greater than or equal to 1"),
    ],
)
def test_bad_config_file_is_an_error_and_makes_nothing(run, tmp_path, data_dir, text, said):
    cfg = write(tmp_path / "server.toml", text)
    result = run("init", "--config", str(cfg))
    assert result.exit_code == 1 and said in result.output, result.output
    assert "Traceback" not in result.output and not data_dir.exists()


def test_commands_need_an_initialised_database(run, data_dir):
    result = run("api-key", "shop", "--scope", "read")
    assert result.exit_code != 0 and "scanfloor init" in result.output
    assert not (data_dir / "scanfloor.db").exists()


def test_import_json_catalogue(ready, db):
    assert db("SELECT COUNT(*) AS n FROM locations")[0]["n"] == 8
    assert db("SELECT SUM(on_hand) AS n FROM stock")[0]["n"] == 20


def test_import_csv_catalogue(run, db, tmp_path):
    run("init")
    wh = write(
        tmp_path / "warehouses.csv",
        f"code,name,lat,lon,{','.join('address_' + c for c in ADDRESS_COLS.split(','))}\n"
        "WH-1,One,51.5,-0.1,WH One,1 Dock Rd,London,E1 1AA,GB",
    )
    locs = write(
        tmp_path / "locs.csv",
        "warehouse,code,barcode,zone,aisle,bay,level\nWH-1,A-01-01,,pick,1,1,0\nWH-1,A-01-02,LA2,,1,2,0",
    )
    prods = write(
        tmp_path / "products.csv",
        "sku,name,barcodes,weight_g\nSKU-1,Mug,4006381333931;MUG-1,350\nSKU-2,Pen,,20",
    )
    stock = write(tmp_path / "stock.csv", "warehouse,location,sku,on_hand\nWH-1,A-01-01,SKU-1,4")
    result = run("import", str(wh), str(prods), str(stock))
    assert result.exit_code != 0  # no locations yet: the stock row names the line it came from
    assert "stock.csv line 2 location: unknown location WH-1/A-01-01" in result.output
    assert db("SELECT COUNT(*) AS n FROM warehouses")[0]["n"] == 0
    result = run("import", str(wh), str(prods))
    assert result.exit_code == 0, result.output
    result = run("import", "--kind", "locations", str(locs))  # not named after its kind
    assert result.exit_code == 0, result.output
    result = run("import", str(stock))
    assert result.exit_code == 0, result.output
    assert db("SELECT code, barcode, zone FROM locations ORDER BY code") == [
        {"code": "A-01-01", "barcode": "A-01-01", "zone": "pick"},
        {"code": "A-01-02", "barcode": "LA2", "zone": ""},
    ]
    assert db("SELECT barcode FROM product_barcodes WHERE sku = 'SKU-1' ORDER BY barcode") == [
        {"barcode": "4006381333931"},
        {"barcode": "MUG-1"},
    ]
    assert db("SELECT on_hand FROM stock") == [{"on_hand": 4}]


def test_import_orders_csv_then_allocate(run, ready, db, tmp_path):
    ship = ",".join(f"ship_to_{c}" for c in ADDRESS_COLS.split(","))
    orders = write(
        tmp_path / "orders.csv",
        f"order_id,channel,sku,qty,priority,{ship},ship_to_lat,ship_to_lon\n"
        "A-1,web,SKU-A,2,1,Ada,1 Road,NYC,10001,US,40.7,-74.0\n"
        "A-1,web,SKU-B,1,,,,,,,,\n"
        "A-2,web,SKU-C,1,0,Bob,2 Road,LA,90001,US,34.0,-118.2",
    )
    result = run("import", str(orders))
    assert result.exit_code == 0, result.output
    assert "imported 2 orders" in result.output
    lines = db("SELECT order_id, sku, qty FROM order_lines ORDER BY order_id, line_no")
    assert [(r["sku"], r["qty"]) for r in lines] == [("SKU-A", 2), ("SKU-B", 1), ("SKU-C", 1)]
    again = run("import", str(orders))  # the same orders again are the same orders
    assert again.exit_code == 0 and "imported 0 orders (2 were there already)" in again.output
    assert len(db("SELECT id FROM orders")) == 2

    result = run("allocate")
    assert result.exit_code == 0 and "allocated: 2" in result.output
    assert db("SELECT external_id, warehouse FROM orders ORDER BY external_id") == [
        {"external_id": "A-1", "warehouse": "WH-EAST"},
        {"external_id": "A-2", "warehouse": "WH-WEST"},
    ]
    assert "no orders waiting" in run("allocate").output


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("catalogue.json", '{"warehouses": [', "not valid JSON"),
        ("catalogue.json", '{"warehouses": [{"code": "W"}]}', "warehouses[0].name: Field required"),
        (
            "catalogue.json",
            '{"stock": [{"warehouse": "WH-EAST", "location": "E-01-01", "sku": "NOPE", "on_hand": 1}]}',
            "unknown SKU NOPE",
        ),
        ("products.csv", "sku,name,colour\nSKU-9,Thing,red", "unknown column(s) colour"),
        ("products.csv", "sku,name,weight_g\nSKU-9,Thing,heavy", "line 2 weight_g"),
        ("stock.csv", "warehouse,location,sku,on_hand\nWH-EAST,E-01-01,SKU-A,-1", "on_hand"),
        ("things.csv", "sku,name\nSKU-9,Thing", "--kind"),
        ("products.csv", "", "empty file"),
    ],
)
def test_bad_catalogue_file_writes_nothing(run, ready, db, tmp_path, name, text, message):
    before = db("SELECT * FROM products"), db("SELECT * FROM stock")
    result = run("import", str(write(tmp_path / name, text)))
    assert result.exit_code != 0
    assert message in result.output
    assert (db("SELECT * FROM products"), db("SELECT * FROM stock")) == before


def test_bad_orders_csv_writes_nothing(run, ready, db, tmp_path):
    ship = ",".join(f"ship_to_{c}" for c in ADDRESS_COLS.split(","))
    bad = write(
        tmp_path / "orders.csv",
        f"order_id,sku,qty,{ship}\n"
        "B-1,SKU-A,1,Ada,1 Road,NYC,10001,US\n"
        "B-2,NOPE,1,Bob,2 Road,LA,90001,US\n"
        "B-3,SKU-A,0,Cy,3 Road,SF,94000,usa",
    )
    result = run("import", str(bad))
    assert result.exit_code != 0
    assert "unknown SKU NOPE" not in result.output  # schema problems are reported first
    assert "orders.csv line 4 qty" in result.output and "ship_to_country" in result.output
    assert db("SELECT COUNT(*) AS n FROM orders")[0]["n"] == 0

    unknown = write(
        tmp_path / "orders.csv",
        f"order_id,sku,qty,{ship}\nB-1,SKU-A,1,Ada,1 Road,NYC,10001,US\nB-2,NOPE,1,Bob,2 Road,LA,90001,US",
    )
    result = run("import", str(unknown))
    assert result.exit_code != 0 and "unknown SKU NOPE" in result.output
    assert "nothing was imported" in result.output
    assert db("SELECT COUNT(*) AS n FROM orders")[0]["n"] == 0  # B-1 was fine, yet not kept


def test_missing_file_is_an_error(run, ready):
    result = run("import", "/no/such/file.json")
    assert result.exit_code != 0 and "no such file" in result.output


def test_api_key(run, ready, data_dir):
    result = run("api-key", "shop", "--scope", "orders:write", "--scope", "read")
    assert result.exit_code == 0, result.output
    key = result.output.strip()
    store = open_store(data_dir / "scanfloor.db")
    try:
        found = auth.check_api_key(store, key)
        assert found.name == "shop"
        assert found.allows("orders:write") and not found.allows("catalogue:write")
    finally:
        store.close()
    dup = run("api-key", "shop", "--scope", "read")
    assert dup.exit_code != 0 and "exists already" in dup.output


def test_device_add(run, ready, data_dir):
    result = run("device", "add", "picker-1", "--role", "picker", "--warehouse", "WH-EAST")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    store = open_store(data_dir / "scanfloor.db")
    try:
        assert auth.device_for_token(store, token)["name"] == "picker-1"
    finally:
        store.close()
    for args, message in [
        (["picker-1", "--role", "picker", "--warehouse", "WH-EAST"], "exists already"),
        (["picker-2", "--role", "picker", "--warehouse", "WH-MARS"], "unknown warehouse WH-MARS"),
        (["picker-3", "--role", "driver", "--warehouse", "WH-EAST"], "driver"),
    ]:
        bad = run("device", "add", *args)
        assert bad.exit_code != 0 and message in bad.output, bad.output


def test_demo_is_listed(run):
    result = run("--help", data=False)
    assert result.exit_code == 0
    for command in ("init", "import", "api-key", "device", "allocate", "demo"):
        assert command in result.output


def test_transfers_are_suggested_planned_listed_and_shown(run, ready, db):
    assert run("transfers", "suggest").output == "no transfer suggested\n"
    bad = run("transfers", "plan", "WH-EAST", "WH-EAST", "SKU-B=2")
    assert bad.exit_code == 1 and "WH-EAST cannot send to itself" in bad.output
    assert run("transfers", "plan", "WH-EAST", "WH-WEST", "SKU-B").exit_code == 2  # no =QTY
    assert db("SELECT COUNT(*) AS n FROM transfers") == [{"n": 0}]
    made = run("transfers", "plan", "WH-EAST", "WH-WEST", "SKU-B=2")
    assert made.exit_code == 0, made.output
    assert made.output.startswith("TR-000001 (SO-") and made.output.endswith(": planned\n")
    listed = run("transfers", "list", "--status", "planned").output
    assert "TR-000001  WH-EAST -> WH-WEST  planned    2 planned, 0 in transit" in listed
    shown = json.loads(run("transfers", "show", "TR-000001").output)
    assert shown["lines"][0]["sku"] == "SKU-B" and shown["created_by"].startswith("cli:")
    assert run("transfers", "show", "TR-999999").exit_code == 1


def test_transfers_are_cancelled_before_they_ship_and_set_aside_units_settled(
    run, ready, db, data_dir
):
    assert run("transfers", "plan", "WH-EAST", "WH-WEST", "SKU-B=2").exit_code == 0
    assert run("transfers", "cancel", "TR-999999").output == "Error: no transfer TR-999999\n"
    done = run("transfers", "cancel", "TR-000001", "--reason", "not needed")
    assert done.output == "TR-000001 cancelled: 2 unit(s) released, 0 put-away task(s) at WH-EAST\n"
    assert run("transfers", "cancel", "TR-000001").output == "TR-000001 was already cancelled\n"
    assert db("SELECT action FROM audit_log WHERE action = 'transfer_cancel'") == [
        {"action": "transfer_cancel"}
    ]
    assert run("transfers", "plan", "WH-EAST", "WH-WEST", "SKU-B=1").exit_code == 0
    store = open_store(data_dir / "scanfloor.db", migrate=False)
    try:
        oid = store.one("SELECT order_id FROM transfers WHERE transfer = 'TR-000002'")["order_id"]
        ship_order(store, oid)
        with store.write():  # a pen more than was shipped, set aside at the receiving dock
            store.execute(
                "INSERT INTO transfer_lots (transfer_id, sku, lot, over) "
                "SELECT id, 'SKU-B', '', 2 FROM transfers WHERE transfer = 'TR-000002'"
            )
    finally:
        store.close()
    refused = run("transfers", "cancel", "TR-000002")
    assert refused.exit_code == 1 and "TR-000002 has left WH-EAST" in refused.output
    bad = run("transfers", "over", "TR-000002", "SKU-B", "accept", "--bin", "E-01-01")
    assert bad.exit_code == 1 and "E-01-01 is not a bin of WH-WEST" in bad.output
    assert run("transfers", "over", "TR-000002", "SKU-B", "keep").exit_code == 2
    for units, words in (("5", "5 units asked, 2 are set aside"), ("0", "at least 1, not 0")):
        bad = run("transfers", "over", "TR-000002", "SKU-B", "accept", "--bin", "W-01-01",
                  "--units", units)  # fmt: skip
        assert bad.exit_code == 1 and words in bad.output, bad.output
    some = ("transfers", "over", "TR-000002", "SKU-B", "accept", "--bin", "W-01-01", "--units")
    ok = run(*some, "1")
    assert ok.output == (
        "TR-000002: set-aside SKU-B: 1 accepted into W-01-01; 1 still set aside\n"
    ), ok.output
    rest = run("transfers", "over", "TR-000002", "SKU-B", "reject")
    assert rest.output == "TR-000002: set-aside SKU-B: 1 rejected; 0 still set aside\n"
    again = run("transfers", "over", "TR-000002", "SKU-B", "reject")
    assert again.exit_code == 1 and "nothing to settle" in again.output
    assert db(
        "SELECT s.on_hand FROM stock s JOIN locations l ON l.id = s.location_id "
        "WHERE l.code = 'W-01-01' AND s.sku = 'SKU-B'"
    ) == [{"on_hand": 1}]
