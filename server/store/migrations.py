"""Numbered schema migrations, applied in order, each in its own transaction.

Each is written once in SQLite's SQL and runs on both databases: on PostgreSQL the
column types are translated (server/store/dialect.py), and the few that need another
form there (triggers, random tokens) say so with `on_postgres(db)`.
"""

from __future__ import annotations

import datetime
from typing import Any

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("scanfloor")
# Kept here rather than imported from server.core.schemas: a migration's SQL must not change
# when the code around it does.
MAX_BIN_UNITS = 1_000_000_000


def on_postgres(db: Any) -> bool:
    """True when the migration runs on PostgreSQL."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


def apply_postgres(db: Any) -> list[str]:
    """Apply the pending migrations on PostgreSQL (inside the caller's transaction)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS _migrations (migration_set TEXT NOT NULL, "
        "name TEXT NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (migration_set, name))"
    )
    done = {
        r[0]
        for r in db.execute(
            "SELECT name FROM _migrations WHERE migration_set = ?", (MIGRATIONS.name,)
        )
    }
    applied = []
    for migration in MIGRATIONS._migrations:
        if migration.name in done:
            continue
        migration.fn(db)
        db.execute(
            "INSERT INTO _migrations (migration_set, name, applied_at) VALUES (?, ?, ?)",
            (MIGRATIONS.name, migration.name, str(datetime.datetime.now(datetime.UTC))),
        )
        applied.append(migration.name)
    return applied


def _run(db: Database, script: str) -> None:
    # executescript() would COMMIT the open transaction: run statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@MIGRATIONS(name="0001_floor")
def m0001_floor(db: Database) -> None:
    _run(
        db,
        """
CREATE TABLE warehouses (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  address TEXT NOT NULL,            -- JSON Address
  lat REAL NOT NULL,
  lon REAL NOT NULL
);
CREATE TABLE locations (
  id INTEGER PRIMARY KEY,
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  code TEXT NOT NULL,
  barcode TEXT NOT NULL UNIQUE,
  zone TEXT NOT NULL DEFAULT '',
  aisle INTEGER NOT NULL DEFAULT 0,
  bay INTEGER NOT NULL DEFAULT 0,
  level INTEGER NOT NULL DEFAULT 0,
  UNIQUE (warehouse, code)
);
CREATE TABLE products (
  sku TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  weight_g INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0),
  length_mm INTEGER NOT NULL DEFAULT 0,
  width_mm INTEGER NOT NULL DEFAULT 0,
  height_mm INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE product_barcodes (
  barcode TEXT PRIMARY KEY,
  sku TEXT NOT NULL REFERENCES products(sku)
);
CREATE INDEX product_barcodes_sku ON product_barcodes(sku);
CREATE TABLE stock (
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  on_hand INTEGER NOT NULL DEFAULT 0,
  reserved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (location_id, sku),
  CHECK (on_hand >= 0),
  CHECK (reserved >= 0),
  CHECK (reserved <= on_hand)
);
CREATE INDEX stock_sku ON stock(sku);
CREATE TABLE orders (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  external_id TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  promised_by TEXT,
  ship_to TEXT NOT NULL,            -- JSON Address
  lat REAL,
  lon REAL,
  warehouse TEXT REFERENCES warehouses(code),
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (channel, external_id)
);
CREATE INDEX orders_status ON orders(status);
CREATE TABLE order_lines (
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_no INTEGER NOT NULL,
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (order_id, line_no)
);
CREATE TABLE order_events (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  at TEXT NOT NULL,
  status TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX order_events_order ON order_events(order_id);
CREATE TABLE reservations (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_no INTEGER NOT NULL,
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0)
);
CREATE INDEX reservations_order ON reservations(order_id);
CREATE TABLE devices (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('picker', 'packer')),
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  token_hash TEXT NOT NULL UNIQUE,
  out_seq INTEGER NOT NULL DEFAULT 0,    -- last event seq sent to it
  seen_seq INTEGER NOT NULL DEFAULT 0,   -- last event seq it reported seen
  connected INTEGER NOT NULL DEFAULT 0,
  last_seen TEXT,
  pack_list_id INTEGER,                  -- packer: the list on its bench
  created_at TEXT NOT NULL
);
CREATE TABLE pick_lists (
  id INTEGER PRIMARY KEY,
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  status TEXT NOT NULL CHECK (status IN ('open', 'assigned', 'picked', 'packing', 'packed')),
  device_id INTEGER REFERENCES devices(id),
  tote TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  assigned_at TEXT,
  picked_at TEXT,
  packed_at TEXT
);
CREATE INDEX pick_lists_status ON pick_lists(warehouse, status);
CREATE UNIQUE INDEX pick_lists_open_tote ON pick_lists(tote) WHERE tote IS NOT NULL AND status != 'packed';
CREATE TABLE pick_steps (
  id INTEGER PRIMARY KEY,
  pick_list_id INTEGER NOT NULL REFERENCES pick_lists(id),
  seq INTEGER NOT NULL,
  order_id TEXT NOT NULL REFERENCES orders(id),
  reservation_id INTEGER NOT NULL REFERENCES reservations(id),
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  qty INTEGER NOT NULL CHECK (qty > 0),
  at_location INTEGER NOT NULL DEFAULT 0,
  picked INTEGER NOT NULL DEFAULT 0 CHECK (picked >= 0 AND picked <= qty),
  verified INTEGER NOT NULL DEFAULT 0 CHECK (verified >= 0 AND verified <= picked)
);
CREATE INDEX pick_steps_list ON pick_steps(pick_list_id, seq);
CREATE TABLE device_events (
  device_id INTEGER NOT NULL REFERENCES devices(id),
  seq INTEGER NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (device_id, seq)
);
CREATE TABLE device_messages (
  device_id INTEGER NOT NULL REFERENCES devices(id),
  msg_id TEXT NOT NULL,
  event TEXT NOT NULL,
  received_at TEXT NOT NULL,
  reply TEXT NOT NULL,
  PRIMARY KEY (device_id, msg_id)
);
CREATE TABLE scans (
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  msg_id TEXT NOT NULL,
  barcode TEXT NOT NULL,
  ok INTEGER NOT NULL,
  code TEXT NOT NULL,
  screen TEXT NOT NULL,
  pick_list_id INTEGER,
  scanned_at REAL,
  received_at TEXT NOT NULL
);
CREATE INDEX scans_device ON scans(device_id);
CREATE TABLE packages (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  pick_list_id INTEGER NOT NULL REFERENCES pick_lists(id),
  sscc TEXT NOT NULL UNIQUE,
  tracking TEXT NOT NULL UNIQUE,
  weight_g INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('labelled', 'printed', 'confirmed')),
  zpl TEXT NOT NULL,
  created_at TEXT NOT NULL,
  confirmed_at TEXT
);
CREATE TABLE print_jobs (
  id INTEGER PRIMARY KEY,
  package_id INTEGER NOT NULL REFERENCES packages(id),
  device_id INTEGER NOT NULL REFERENCES devices(id),
  status TEXT NOT NULL CHECK (status IN ('queued', 'printed', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  key_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
)
""",
    )


@MIGRATIONS(name="0002_allocation")
def m0002_allocation(db: Database) -> None:
    """Channels, safety stock, daily capacity, lots, shipments, put-away, the stock ledger."""
    _run(
        db,
        """
CREATE TABLE channels (
  code TEXT PRIMARY KEY,
  allow_split INTEGER NOT NULL DEFAULT 1 CHECK (allow_split IN (0, 1)),
  allow_partial INTEGER NOT NULL DEFAULT 0 CHECK (allow_partial IN (0, 1))
);
CREATE TABLE safety_stock (
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL CHECK (qty >= 0),
  PRIMARY KEY (warehouse, sku)
);
ALTER TABLE warehouses ADD COLUMN daily_capacity INTEGER
  CHECK (daily_capacity IS NULL OR daily_capacity >= 0);
CREATE TABLE warehouse_days (
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  day TEXT NOT NULL,                -- UTC date the shipments were allocated on
  orders INTEGER NOT NULL DEFAULT 0 CHECK (orders >= 0),
  PRIMARY KEY (warehouse, day)
);
CREATE TABLE stock_lots (
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  lot TEXT NOT NULL DEFAULT '',     -- '' for stock that is not lot-tracked
  expires TEXT,                     -- ISO date, lot-tracked stock only
  on_hand INTEGER NOT NULL DEFAULT 0,
  reserved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (location_id, sku, lot),
  CHECK (on_hand >= 0),
  CHECK (reserved >= 0),
  CHECK (reserved <= on_hand)
);
INSERT INTO stock_lots (location_id, sku, lot, on_hand, reserved)
  SELECT location_id, sku, '', on_hand, reserved FROM stock;
DROP TABLE stock;
ALTER TABLE stock_lots RENAME TO stock;
CREATE INDEX stock_sku ON stock(sku);
ALTER TABLE orders ADD COLUMN allow_split INTEGER;     -- NULL: the channel decides
ALTER TABLE orders ADD COLUMN allow_partial INTEGER;
ALTER TABLE orders ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;  -- units not yet reserved
CREATE INDEX orders_waiting ON orders(waiting) WHERE waiting > 0;
CREATE TABLE shipments (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  status TEXT NOT NULL CHECK (status IN ('allocated', 'packed', 'shipped', 'cancelled')),
  distance_km REAL,
  day TEXT NOT NULL,                -- counts against the warehouse's capacity of that day
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX shipments_order ON shipments(order_id);
ALTER TABLE reservations ADD COLUMN shipment_id INTEGER REFERENCES shipments(id);
ALTER TABLE reservations ADD COLUMN lot TEXT NOT NULL DEFAULT '';
ALTER TABLE reservations ADD COLUMN picked INTEGER NOT NULL DEFAULT 0
  CHECK (picked >= 0 AND picked <= qty);
ALTER TABLE reservations ADD COLUMN released INTEGER NOT NULL DEFAULT 0
  CHECK (released >= 0 AND released + picked <= qty);
CREATE INDEX reservations_stock ON reservations(location_id, sku, lot);
CREATE INDEX reservations_shipment ON reservations(shipment_id);
CREATE INDEX pick_steps_reservation ON pick_steps(reservation_id);
ALTER TABLE packages ADD COLUMN shipment_id INTEGER REFERENCES shipments(id);
INSERT INTO shipments (order_id, warehouse, status, day, created_at, updated_at)
  SELECT id, warehouse,
         CASE WHEN status IN ('packed', 'shipped', 'cancelled') THEN status ELSE 'allocated' END,
         substr(updated_at, 1, 10), updated_at, updated_at
  FROM orders WHERE warehouse IS NOT NULL;
UPDATE reservations SET shipment_id =
  (SELECT s.id FROM shipments s WHERE s.order_id = reservations.order_id);
UPDATE packages SET shipment_id =
  (SELECT s.id FROM shipments s WHERE s.order_id = packages.order_id);
CREATE TABLE putaway_tasks (
  id INTEGER PRIMARY KEY,
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  order_id TEXT REFERENCES orders(id),
  location_id INTEGER NOT NULL REFERENCES locations(id),  -- where it was picked: put it back there
  sku TEXT NOT NULL REFERENCES products(sku),
  lot TEXT NOT NULL DEFAULT '',
  expires TEXT,
  qty INTEGER NOT NULL CHECK (qty > 0),
  tote TEXT,
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('open', 'done')),
  put_location_id INTEGER REFERENCES locations(id),
  created_at TEXT NOT NULL,
  done_at TEXT
);
CREATE INDEX putaway_tasks_status ON putaway_tasks(warehouse, status);
CREATE TABLE receipts (
  id TEXT PRIMARY KEY,              -- the sender's id: a repeated receipt is applied once
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  body_hash TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE stock_moves (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('receipt', 'correction', 'pick', 'putaway')),
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  lot TEXT NOT NULL DEFAULT '',
  qty INTEGER NOT NULL,             -- signed change of on hand
  ref TEXT,
  reason TEXT
)
""",
    )


@MIGRATIONS(name="0003_device_offline")
def m0003_device_offline(db: Database) -> None:
    """Offline scans in the audit trail (journal seq, the device's own verdict); worker actions."""
    _run(
        db,
        """
ALTER TABLE scans ADD COLUMN device_seq INTEGER;          -- the scan's number in the device journal
ALTER TABLE scans ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;  -- made while the server could not answer
ALTER TABLE scans ADD COLUMN local_ok INTEGER;            -- what the device told the worker, if it judged
ALTER TABLE scans ADD COLUMN local_code TEXT;
ALTER TABLE devices ADD COLUMN scan_seq INTEGER NOT NULL DEFAULT 0;  -- highest journal seq applied
CREATE TABLE device_actions (
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  msg_id TEXT NOT NULL,
  action TEXT NOT NULL,             -- short, help, logout
  pick_list_id INTEGER,
  step_id INTEGER,
  device_seq INTEGER,
  offline INTEGER NOT NULL DEFAULT 0,
  ok INTEGER NOT NULL,
  code TEXT NOT NULL,
  at REAL,                          -- device clock
  received_at TEXT NOT NULL,
  UNIQUE (device_id, msg_id)
);
CREATE INDEX device_actions_device ON device_actions(device_id)
""",
    )


@MIGRATIONS(name="0004_batching")
def m0004_batching(db: Database) -> None:
    """Cluster picking (a tote per order on a cart, puts confirmed), zones per device, short picks."""
    _run(
        db,
        """
CREATE TABLE pick_list_totes (
  pick_list_id INTEGER NOT NULL REFERENCES pick_lists(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  position INTEGER NOT NULL,        -- place on the cart, 1..N
  tote TEXT,                        -- set when the picker scans it
  PRIMARY KEY (pick_list_id, order_id)
);
CREATE INDEX pick_list_totes_tote ON pick_list_totes(tote);
INSERT INTO pick_list_totes (pick_list_id, order_id, position, tote)
  SELECT DISTINCT ps.pick_list_id, ps.order_id, 1, pl.tote
  FROM pick_steps ps JOIN pick_lists pl ON pl.id = ps.pick_list_id;
ALTER TABLE pick_steps ADD COLUMN put INTEGER NOT NULL DEFAULT 0;   -- units confirmed in the tote
UPDATE pick_steps SET put = picked;
ALTER TABLE pick_lists ADD COLUMN route_m REAL;                     -- planned walk, metres
ALTER TABLE pick_lists ADD COLUMN zones TEXT NOT NULL DEFAULT '';  -- zones its bins are in, comma-separated
ALTER TABLE devices ADD COLUMN zones TEXT NOT NULL DEFAULT '';     -- zones it may pick in, empty for all
ALTER TABLE devices ADD COLUMN cart_totes INTEGER NOT NULL DEFAULT 6;
ALTER TABLE devices ADD COLUMN pack_order_id TEXT;                 -- packer: the order on its bench
CREATE TABLE short_picks (
  id INTEGER PRIMARY KEY,
  device_id INTEGER NOT NULL REFERENCES devices(id),
  pick_list_id INTEGER NOT NULL,    -- no foreign keys: a short may empty and remove the step
  step_id INTEGER NOT NULL,
  order_id TEXT NOT NULL,
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  wanted INTEGER NOT NULL,          -- units the step still needed
  found INTEGER NOT NULL,           -- units the picker found
  reason TEXT NOT NULL,
  outcome TEXT NOT NULL,            -- same_warehouse, other_warehouse, backordered
  at TEXT NOT NULL
);
CREATE TABLE count_tasks (
  id INTEGER PRIMARY KEY,
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
  created_at TEXT NOT NULL
)
""",
    )


@MIGRATIONS(name="0005_receiving")
def m0005_receiving(db: Database) -> None:
    """Receiving by scan: what a device in receive mode has scanned so far (JSON), until booked."""
    _run(db, "ALTER TABLE devices ADD COLUMN receiving TEXT")


@MIGRATIONS(name="0006_logout")
def m0006_logout(db: Database) -> None:
    """A logged-out picker is offered no work until it logs in again (CMD-LOGIN or a reconnect)."""
    _run(db, "ALTER TABLE devices ADD COLUMN logged_in INTEGER NOT NULL DEFAULT 1")


@MIGRATIONS(name="0007_cart_away")
def m0007_cart_away(db: Database) -> None:
    """A list given back mid-pick has its totes on the first picker's cart: the next one fetches it."""
    _run(db, "ALTER TABLE pick_lists ADD COLUMN cart_away INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="0008_floor_at_scale")
def m0008_floor_at_scale(db: Database) -> None:
    """Carts planned ahead, lists given back marked, per-device scan counters, hot-path indexes.

    `planned` names the cart profile (`totes/zones`) a list was planned for, NULL for a
    fresh one-order list; `resume` marks a list given back mid-pick (it goes first).
    """
    _run(
        db,
        """
ALTER TABLE pick_lists ADD COLUMN planned TEXT;
ALTER TABLE pick_lists ADD COLUMN resume INTEGER NOT NULL DEFAULT 0;
UPDATE pick_lists SET resume = 1 WHERE status = 'open' AND (
  tote IS NOT NULL
  OR (SELECT COUNT(*) FROM pick_list_totes t WHERE t.pick_list_id = pick_lists.id) != 1
  OR EXISTS (SELECT 1 FROM pick_steps s WHERE s.pick_list_id = pick_lists.id AND s.picked > 0));
CREATE INDEX pick_lists_queue ON pick_lists(warehouse, status, resume, planned, priority DESC, id);
CREATE INDEX pick_lists_device ON pick_lists(device_id, status);
CREATE INDEX pick_lists_packed ON pick_lists(packed_at) WHERE status = 'packed';
ALTER TABLE devices ADD COLUMN scans INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN wrong_scans INTEGER NOT NULL DEFAULT 0;
UPDATE devices SET
  scans = (SELECT COUNT(*) FROM scans s WHERE s.device_id = devices.id),
  wrong_scans = (SELECT COUNT(*) FROM scans s WHERE s.device_id = devices.id AND s.ok = 0);
CREATE INDEX devices_idle ON devices(warehouse, role, connected, logged_in);
CREATE INDEX pick_steps_order ON pick_steps(order_id);
CREATE INDEX packages_list ON packages(pick_list_id, order_id);
CREATE INDEX print_jobs_status ON print_jobs(status, updated_at);
CREATE INDEX devices_pack_list ON devices(pack_list_id) WHERE pack_list_id IS NOT NULL
""",
    )


@MIGRATIONS(name="0009_stock_bound")
def m0009_stock_bound(db: Database) -> None:
    """No bin holds more than 1,000,000,000 units, so stock arithmetic never nears 2^63."""
    if on_postgres(db):
        db.execute(
            f"ALTER TABLE stock ADD CONSTRAINT stock_on_hand_bound CHECK (on_hand <= {MAX_BIN_UNITS})"
        )
        return
    # Triggers, because SQLite cannot add a CHECK to an existing table; their bodies hold
    # semicolons, so each runs whole rather than through _run.
    for when in ("INSERT", "UPDATE OF on_hand"):
        name = "stock_on_hand_bound_" + when.split()[0].lower()
        db.execute(
            f"""CREATE TRIGGER {name} BEFORE {when} ON stock
                WHEN NEW.on_hand > {MAX_BIN_UNITS}
                BEGIN SELECT RAISE(ABORT, 'stock.on_hand above {MAX_BIN_UNITS}'); END"""
        )


@MIGRATIONS(name="0010_list_version")
def m0010_list_version(db: Database) -> None:
    """A version per pick list, bumped by triggers on anything a picker's screen shows.

    A server process keeps each picker's last screen in memory with the version it was
    drawn at; the scan path reads the version (one indexed row) instead of the list, and
    any change by anyone (another process, the CLI, a supervisor) makes it read again.
    """
    db.execute("ALTER TABLE pick_lists ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX pick_steps_sku ON pick_steps(sku)")
    db.execute("CREATE INDEX pick_steps_location ON pick_steps(location_id)")
    if on_postgres(db):
        _list_version_triggers_postgres(db)
        return
    # A random version, not a count: a value written by a transaction that rolled back can
    # never come back later meaning something else.
    bump = "UPDATE pick_lists SET version = random() WHERE id"
    triggers = {
        "pick_steps_v_ins": f"AFTER INSERT ON pick_steps BEGIN {bump} = NEW.pick_list_id; END",
        "pick_steps_v_upd": (
            f"AFTER UPDATE ON pick_steps BEGIN {bump} IN (NEW.pick_list_id, OLD.pick_list_id); END"
        ),
        "pick_steps_v_del": f"AFTER DELETE ON pick_steps BEGIN {bump} = OLD.pick_list_id; END",
        "totes_v_ins": f"AFTER INSERT ON pick_list_totes BEGIN {bump} = NEW.pick_list_id; END",
        "totes_v_upd": (
            f"AFTER UPDATE ON pick_list_totes BEGIN {bump} IN (NEW.pick_list_id, OLD.pick_list_id); END"
        ),
        "totes_v_del": f"AFTER DELETE ON pick_list_totes BEGIN {bump} = OLD.pick_list_id; END",
        "pick_lists_v_upd": (
            "AFTER UPDATE OF status, tote, cart_away, device_id ON pick_lists "
            f"BEGIN {bump} = NEW.id; END"
        ),
        # What a step shows from the catalogue: product name and barcodes, bin code, lot.
        "products_v_upd": (
            "AFTER UPDATE OF name ON products BEGIN "
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = NEW.sku); END"
        ),
        "barcodes_v_ins": (
            "AFTER INSERT ON product_barcodes BEGIN "
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = NEW.sku); END"
        ),
        "barcodes_v_del": (
            "AFTER DELETE ON product_barcodes BEGIN "
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = OLD.sku); END"
        ),
        "locations_v_upd": (
            "AFTER UPDATE OF code, barcode ON locations BEGIN "
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE location_id = NEW.id); END"
        ),
        "reservations_v_upd": (
            "AFTER UPDATE OF lot, location_id ON reservations BEGIN "
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE reservation_id = NEW.id); END"
        ),
    }
    for name, body in triggers.items():
        db.execute(f"CREATE TRIGGER {name} {body}")


def _list_version_triggers_postgres(db: Any) -> None:
    """Migration 0010's triggers on PostgreSQL: one plpgsql function per kind of change."""
    bump = "UPDATE pick_lists SET version = floor(random() * 9.0e15)::bigint WHERE id"
    functions = {
        # pick_steps and pick_list_totes: the list of the old row and of the new one
        "v_list_rows": f"""
IF TG_OP <> 'DELETE' THEN {bump} = NEW.pick_list_id; END IF;
IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR OLD.pick_list_id IS DISTINCT FROM NEW.pick_list_id)
  THEN {bump} = OLD.pick_list_id; END IF;
RETURN NULL;""",
        "v_products": f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = NEW.sku); RETURN NULL;",
        "v_barcodes": f"""
IF TG_OP = 'DELETE' THEN {bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = OLD.sku);
ELSE {bump} IN (SELECT pick_list_id FROM pick_steps WHERE sku = NEW.sku); END IF;
RETURN NULL;""",
        "v_locations": f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE location_id = NEW.id); RETURN NULL;",
        "v_reservations": (
            f"{bump} IN (SELECT pick_list_id FROM pick_steps WHERE reservation_id = NEW.id); RETURN NULL;"
        ),
        "v_pick_lists": "NEW.version := floor(random() * 9.0e15)::bigint; RETURN NEW;",
    }
    for name, body in functions.items():
        db.execute(
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$"
        )
    triggers = {
        "pick_steps_v": "AFTER INSERT OR UPDATE OR DELETE ON pick_steps FOR EACH ROW EXECUTE FUNCTION v_list_rows()",
        "totes_v": "AFTER INSERT OR UPDATE OR DELETE ON pick_list_totes FOR EACH ROW EXECUTE FUNCTION v_list_rows()",
        "pick_lists_v_upd": (
            "BEFORE UPDATE OF status, tote, cart_away, device_id ON pick_lists "
            "FOR EACH ROW EXECUTE FUNCTION v_pick_lists()"
        ),
        "products_v_upd": "AFTER UPDATE OF name ON products FOR EACH ROW EXECUTE FUNCTION v_products()",
        "barcodes_v": "AFTER INSERT OR DELETE ON product_barcodes FOR EACH ROW EXECUTE FUNCTION v_barcodes()",
        "locations_v_upd": (
            "AFTER UPDATE OF code, barcode ON locations FOR EACH ROW EXECUTE FUNCTION v_locations()"
        ),
        "reservations_v_upd": (
            "AFTER UPDATE OF lot, location_id ON reservations FOR EACH ROW EXECUTE FUNCTION v_reservations()"
        ),
    }
    for name, body in triggers.items():
        db.execute(f"CREATE TRIGGER {name} {body}")


@MIGRATIONS(name="0011_shop_webhooks")
def m0011_shop_webhooks(db: Database) -> None:
    """Shopify orders in (signed webhooks, kept when refused) and status changes out to the shops.

    `inbound_webhooks` is every webhook a shop sent (its id de-duplicates a resend; a refused
    body is kept for a person); `webhook_deliveries` is the durable outbox of status changes,
    written in the transaction that changed the status, posted by the delivery worker.
    Times the worker schedules by (`next_at`, `first_attempt_at`) are Unix seconds.
    """
    _run(
        db,
        """
ALTER TABLE orders ADD COLUMN shop_number TEXT;      -- the number people see in the shop: #1043
CREATE INDEX orders_external ON orders(external_id);
ALTER TABLE channels ADD COLUMN shopify_secret TEXT; -- signs that channel's Shopify webhooks
CREATE TABLE inbound_webhooks (
  id INTEGER PRIMARY KEY,
  source TEXT NOT NULL,                 -- shopify
  channel TEXT NOT NULL,
  topic TEXT NOT NULL,
  webhook_id TEXT,                      -- the shop's id of this webhook: a resend is the same
  shop_order_id TEXT,
  order_id TEXT REFERENCES orders(id),
  status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'ignored')),
  result TEXT NOT NULL,                 -- what it did: created, repeated, cancelled, ...
  problems TEXT NOT NULL DEFAULT '[]',  -- JSON [[field, message], ...] when rejected
  body TEXT,                            -- kept while rejected, for a person to see
  times INTEGER NOT NULL DEFAULT 1,     -- how often it arrived
  received_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX inbound_webhooks_seen ON inbound_webhooks(source, channel, webhook_id)
  WHERE webhook_id IS NOT NULL;
CREATE INDEX inbound_webhooks_status ON inbound_webhooks(status, id);
CREATE INDEX inbound_webhooks_shop_order ON inbound_webhooks(channel, shop_order_id, topic);
CREATE TABLE webhook_subscriptions (
  id INTEGER PRIMARY KEY,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,                 -- whsec_...: signs every delivery (Standard Webhooks)
  channel TEXT,                         -- only this channel's orders, NULL for every channel
  created_at TEXT NOT NULL,
  removed_at TEXT
);
CREATE TABLE webhook_subscription_events (
  subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions(id),
  event TEXT NOT NULL,                  -- order.picked, order.packed, ...
  PRIMARY KEY (event, subscription_id)
);
CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY,
  subscription_id INTEGER NOT NULL REFERENCES webhook_subscriptions(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  event TEXT NOT NULL,
  msg_id TEXT NOT NULL UNIQUE,          -- the webhook-id header: the same on every attempt
  payload TEXT NOT NULL,                -- the exact JSON posted (and signed)
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'dropped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL,                -- due then (a claimed one: when a crashed claim lapses)
  first_attempt_at REAL,
  last_attempt_at REAL,
  last_error TEXT,
  created_at TEXT NOT NULL,
  delivered_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_line ON webhook_deliveries(subscription_id, order_id, id)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_status ON webhook_deliveries(status, id);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(order_id)
""",
    )


@MIGRATIONS(name="0012_server_processes")
def m0012_server_processes(db: Database) -> None:
    """Several server processes on one site: each beats in `server_processes`; a device's link
    names the process holding it (`devices.link_owner`), so the links of a process that died
    without a word (SIGKILL, power loss) can be cleared by the others."""
    _run(
        db,
        """
CREATE TABLE server_processes (
  instance TEXT PRIMARY KEY,           -- host:pid:random, made at process start
  host TEXT NOT NULL,                  -- where its pid means something: host/boot/pid namespace
  pid INTEGER NOT NULL,
  pid_started TEXT NOT NULL DEFAULT '',  -- the pid's start time (/proc), so a reused pid is not taken for it
  started_at TEXT NOT NULL,
  last_heartbeat TEXT NOT NULL
);
ALTER TABLE devices ADD COLUMN link_owner TEXT;
CREATE INDEX devices_link_owner ON devices(link_owner) WHERE connected = 1
""",
    )


@MIGRATIONS(name="0013_waiting_totes")
def m0013_waiting_totes(db: Database) -> None:
    """Totes waiting for packing, oldest first, read from an index that stops at the screen's fill.

    An idle pack station's screen lists the oldest totes waiting; without this index every
    list done and every such screen sorted the whole backlog of picked lists.
    """
    db.execute(
        "CREATE INDEX pick_lists_waiting ON pick_lists(warehouse, picked_at, id) "
        "WHERE status IN ('picked', 'packing')"
    )


@MIGRATIONS(name="0014_packages_carrier")
def m0014_packages_carrier(db: Database) -> None:
    """Each package names its carrier and service (the built-in carrier is `local`)."""
    db.execute("ALTER TABLE packages ADD COLUMN carrier TEXT NOT NULL DEFAULT 'local'")
    db.execute("ALTER TABLE packages ADD COLUMN service TEXT NOT NULL DEFAULT ''")


@MIGRATIONS(name="0015_customer_mail")
def m0015_customer_mail(db: Database) -> None:
    """Telling the customer: how the ship-to was placed on the map, the customer's e-mail
    address, an unguessable tracking-page token per order, and the durable outbox of the
    e-mails to send (one row per order status change that tells the customer)."""
    token = (
        "replace(gen_random_uuid()::text, '-', '')"
        if on_postgres(db)
        else "lower(hex(randomblob(16)))"
    )
    _run(
        db,
        f"""
ALTER TABLE orders ADD COLUMN geocoded TEXT NOT NULL DEFAULT 'given'
  CHECK (geocoded IN ('given', 'postcode', 'city', 'none'));
UPDATE orders SET geocoded = 'none' WHERE lat IS NULL OR lon IS NULL;
ALTER TABLE orders ADD COLUMN email TEXT;
ALTER TABLE orders ADD COLUMN track_token TEXT;
UPDATE orders SET track_token = {token};
CREATE UNIQUE INDEX orders_track_token ON orders(track_token);
CREATE TABLE customer_mails (
  id INTEGER PRIMARY KEY,
  order_id TEXT NOT NULL REFERENCES orders(id),
  event_id INTEGER NOT NULL UNIQUE REFERENCES order_events(id),  -- one mail per status change
  kind TEXT NOT NULL,                   -- shipped, out_for_delivery, delivered, exception
  recipient TEXT,                       -- NULL: the order has no address (status no_address)
  status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'refused', 'no_address', 'off')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at REAL NOT NULL,                -- due then (a claimed one: when a crashed claim lapses)
  last_error TEXT,
  created_at TEXT NOT NULL,
  sent_at TEXT
);
CREATE INDEX customer_mails_due ON customer_mails(next_at) WHERE status = 'pending';
CREATE INDEX customer_mails_order ON customer_mails(order_id)
""",
    )


@MIGRATIONS(name="0016_workers")
def m0016_workers(db: Database) -> None:
    """Who worked a device: the worker signed in by badge (NULL when nobody is), kept on
    every scan and action."""
    _run(
        db,
        """
ALTER TABLE devices ADD COLUMN worker TEXT;
ALTER TABLE scans ADD COLUMN worker TEXT;
ALTER TABLE device_actions ADD COLUMN worker TEXT
""",
    )


@MIGRATIONS(name="0017_users")
def m0017_users(db: Database) -> None:
    """People who log in (board, admin pages) and whose badges sign in on handhelds; failed
    log-ins counted per user and address; API keys with scopes and an expiry; devices that
    can be revoked.

    Keys made before scopes existed keep every scope there was then (nothing that worked
    stops working); `scanfloor api-key list` shows them, `api-key revoke` retires them.
    """
    _run(
        db,
        """
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'picker', 'packer')),
  password_hash TEXT NOT NULL,          -- argon2id, with its parameters and salt
  created_at TEXT NOT NULL,
  password_changed_at TEXT NOT NULL
);
CREATE TABLE login_failures (
  id INTEGER PRIMARY KEY,
  user_name TEXT NOT NULL,              -- as typed (lower-cased): unknown names count too
  address TEXT NOT NULL,
  at REAL NOT NULL                      -- unix time
);
CREATE INDEX login_failures_key ON login_failures(user_name, address, at);
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL
  DEFAULT 'read orders:write catalogue:write stock:write channels:write webhooks:write devices:write floor:write';
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;   -- NULL: never
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
ALTER TABLE api_keys ADD COLUMN revoked_at TEXT;
ALTER TABLE devices ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN revoked_at TEXT;
ALTER TABLE devices ADD COLUMN token_rotated_at TEXT;
-- the token replaced last, so connecting with it is refused by name
ALTER TABLE devices ADD COLUMN old_token_hash TEXT
""",
    )


@MIGRATIONS(name="0018_audit")
def m0018_audit(db: Database) -> None:
    """The supervisors' board acts: every action in `audit_log`; what needs a person and was
    acknowledged or resolved in `exceptions_resolved` (by the item's stable id); why a worker
    asked for help (`device_actions.reason`); the highest journal seq a device reported at
    connect (`devices.journal_seq`: with `scan_seq`, the scans it still holds)."""
    _run(
        db,
        """
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,            -- reassign, release, reprioritise, reprint, cancel, acknowledge, resolve
  target TEXT NOT NULL,            -- what it acted on: PL-000001, SO-000001, help:12, ...
  detail TEXT NOT NULL DEFAULT '{}'  -- JSON
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TABLE exceptions_resolved (
  key TEXT PRIMARY KEY,            -- the queue item's stable id: short:12, help:7, print:3, ...
  status TEXT NOT NULL CHECK (status IN ('acknowledged', 'resolved')),
  actor TEXT NOT NULL,
  at TEXT NOT NULL
);
ALTER TABLE device_actions ADD COLUMN reason TEXT;
ALTER TABLE devices ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0
""",
    )


@MIGRATIONS(name="0019_boxes_weight")
def m0019_boxes_weight(db: Database) -> None:
    """Boxes and weight at the pack bench: the box a packer chose (`devices.pack_box`, until the
    label), the package's box and tare, what the scale said; a package weighed outside its
    tolerance is held (`package_holds`) until weighed again within it or released."""
    _run(
        db,
        """
ALTER TABLE devices ADD COLUMN pack_box TEXT;
ALTER TABLE packages ADD COLUMN box TEXT;
ALTER TABLE packages ADD COLUMN tare_g INTEGER NOT NULL DEFAULT 0;
ALTER TABLE packages ADD COLUMN measured_g INTEGER;
CREATE TABLE package_holds (
  id INTEGER PRIMARY KEY,
  package_id INTEGER NOT NULL REFERENCES packages(id),
  device_id INTEGER REFERENCES devices(id),
  measured_g INTEGER NOT NULL,
  expected_g INTEGER NOT NULL,
  tolerance_g INTEGER NOT NULL,
  held_at TEXT NOT NULL,
  released_at TEXT,
  released_by TEXT,                     -- who let it go: a device's name or an API key's
  outcome TEXT CHECK (outcome IN ('reweighed', 'accepted'))
);
CREATE INDEX package_holds_open ON package_holds(package_id) WHERE released_at IS NULL
""",
    )


@MIGRATIONS(name="0020_tracking_events")
def m0020_tracking_events(db: Database) -> None:
    """What the carriers say happened to a package, once per carrier event id."""
    _run(
        db,
        """
CREATE TABLE tracking_events (
  id INTEGER PRIMARY KEY,
  package_id INTEGER NOT NULL REFERENCES packages(id),
  carrier TEXT NOT NULL,
  event_id TEXT NOT NULL,           -- the carrier's id: the same event again changes nothing
  type TEXT NOT NULL CHECK (type IN
    ('in_transit', 'out_for_delivery', 'delivered', 'exception', 'returned')),
  at TEXT NOT NULL,                 -- when it happened, as the carrier says (UTC ISO-8601)
  place TEXT,                       -- JSON: city, postcode, country, lat, lon, text
  reason TEXT,
  received_at TEXT NOT NULL,
  UNIQUE (carrier, event_id)
);
CREATE INDEX tracking_events_package ON tracking_events(package_id, at);
CREATE INDEX packages_order ON packages(order_id);
-- the board's "delivered today": that day's entries only
CREATE INDEX order_events_delivered ON order_events(at, order_id) WHERE status = 'delivered';
""",
    )


@MIGRATIONS(name="0021_manifests")
def m0021_manifests(db: Database) -> None:
    """Rates on packages, the service an order names, end-of-day manifests and the dock.

    A close-out puts every confirmed package of a carrier and warehouse not yet on a
    manifest on a new one (`closed`); the dock scans each onto the truck (`loaded_at`);
    the hand-over marks the manifest `departed` and flags each package not scanned
    (`missing`). A missing package goes on the next close-out again.
    """
    _run(
        db,
        """
ALTER TABLE packages ADD COLUMN rate_cents INTEGER;
ALTER TABLE packages ADD COLUMN zone INTEGER;
ALTER TABLE orders ADD COLUMN service TEXT;
ALTER TABLE devices ADD COLUMN dock TEXT;
CREATE TABLE manifests (
  id INTEGER PRIMARY KEY,
  carrier TEXT NOT NULL,
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  status TEXT NOT NULL CHECK (status IN ('closed', 'departed')),
  created_at TEXT NOT NULL,
  departed_at TEXT
);
CREATE INDEX manifests_open ON manifests(carrier, warehouse) WHERE status = 'closed';
CREATE TABLE manifest_packages (
  manifest_id INTEGER NOT NULL REFERENCES manifests(id),
  package_id INTEGER NOT NULL REFERENCES packages(id),
  loaded_at TEXT,
  loaded_by INTEGER REFERENCES devices(id),
  missing INTEGER NOT NULL DEFAULT 0 CHECK (missing IN (0, 1)),
  PRIMARY KEY (manifest_id, package_id)
);
CREATE INDEX manifest_packages_package ON manifest_packages(package_id);
CREATE INDEX manifest_packages_missing ON manifest_packages(package_id) WHERE missing = 1;
CREATE INDEX packages_shipment ON packages(shipment_id);
CREATE INDEX shipments_packed ON shipments(warehouse) WHERE status = 'packed'
""",
    )


@MIGRATIONS(name="0022_sessions_claims")
def m0022_sessions_claims(db: Database) -> None:
    """Sessions that end server-side, mails that keep their Message-ID, claims that name
    their process.

    `users.session_epoch` goes up at a log-out, a new password, a new role: every session
    cookie names the epoch it was made in, and one made before is refused. A customer mail's
    whole Message-ID is made once, from its row, and kept (`customer_mails.message_id`).
    A claimed mail or webhook delivery names the server process that holds it (`claimed_by`,
    an instance of `server_processes`): one whose process is gone is taken back at once.
    """
    _run(
        db,
        """
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customer_mails ADD COLUMN message_id TEXT;
ALTER TABLE customer_mails ADD COLUMN claimed_by TEXT;
CREATE INDEX customer_mails_claimed ON customer_mails(claimed_by)
  WHERE status = 'pending' AND claimed_by IS NOT NULL;
CREATE INDEX customer_mails_line ON customer_mails(order_id, id) WHERE status = 'pending';
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
CREATE INDEX webhook_deliveries_claimed ON webhook_deliveries(claimed_by)
  WHERE status = 'pending' AND claimed_by IS NOT NULL
""",
    )


@MIGRATIONS(name="0023_cycle_counts")
def m0023_cycle_counts(db: Database) -> None:
    """Cycle counts on the handheld: a count task per bin, blind, recounted on a variance.

    `source` says who asked (supervisor, short_pick, schedule); `stage` where the task is
    (count, recount, approval; done once closed, with its `outcome`: adjusted, approved,
    rejected). A picker with no pick list holds one task at a time (`device_id`), scans the
    bin (`at_location`) and its items (`count_scans`, per pass: 1 the count, 2 the
    recount); "bin done" keeps each (SKU, lot) expected and counted in `count_lines`.
    """
    _run(
        db,
        """
ALTER TABLE count_tasks ADD COLUMN source TEXT NOT NULL DEFAULT 'short_pick';
ALTER TABLE count_tasks ADD COLUMN stage TEXT NOT NULL DEFAULT 'count';
ALTER TABLE count_tasks ADD COLUMN outcome TEXT;
ALTER TABLE count_tasks ADD COLUMN device_id INTEGER REFERENCES devices(id);
ALTER TABLE count_tasks ADD COLUMN at_location INTEGER NOT NULL DEFAULT 0;
ALTER TABLE count_tasks ADD COLUMN first_worker TEXT;
ALTER TABLE count_tasks ADD COLUMN second_worker TEXT;
ALTER TABLE count_tasks ADD COLUMN decided_by TEXT;
ALTER TABLE count_tasks ADD COLUMN done_at TEXT;
CREATE INDEX count_tasks_stage ON count_tasks(status, stage);
CREATE INDEX count_tasks_device ON count_tasks(device_id) WHERE device_id IS NOT NULL;
CREATE INDEX count_tasks_location ON count_tasks(location_id, status);
CREATE TABLE count_scans (
  id INTEGER PRIMARY KEY,
  task_id INTEGER NOT NULL REFERENCES count_tasks(id),
  pass INTEGER NOT NULL CHECK (pass IN (1, 2)),
  sku TEXT NOT NULL,
  lot TEXT NOT NULL DEFAULT '',
  expires TEXT,
  qty INTEGER NOT NULL CHECK (qty > 0),
  device_id INTEGER REFERENCES devices(id),
  worker TEXT,
  at TEXT NOT NULL
);
CREATE INDEX count_scans_task ON count_scans(task_id, pass);
CREATE TABLE count_lines (
  task_id INTEGER NOT NULL REFERENCES count_tasks(id),
  pass INTEGER NOT NULL CHECK (pass IN (1, 2)),
  sku TEXT NOT NULL,
  lot TEXT NOT NULL DEFAULT '',
  expected INTEGER NOT NULL,
  counted INTEGER NOT NULL,
  worker TEXT,
  at TEXT NOT NULL,
  PRIMARY KEY (task_id, pass, sku, lot)
);
CREATE INDEX count_lines_sku ON count_lines(sku)
""",
    )


@MIGRATIONS(name="0024_floor_signals")
def m0024_floor_signals(db: Database) -> None:
    """What the worker process changed that devices or boards must hear, for a server with no
    Redis: each row is one bus message (server/realtime/bus.py's format), written in the same
    transaction as the change; the server reads the rows after the last it saw. AUTOINCREMENT:
    an id is never used twice, even after old rows are pruned."""
    _run(
        db,
        """
CREATE TABLE floor_signals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message TEXT NOT NULL,             -- JSON, one bus message
  at REAL NOT NULL                   -- Unix seconds, for pruning
)
""",
    )


@MIGRATIONS(name="0025_board_columns")
def m0025_board_columns(db: Database) -> None:
    """The board at full size (server/board/columns.py): a column's first lists by priority
    without sorting every list in it, and a search by the shop's order number through an
    index."""
    _run(
        db,
        """
CREATE INDEX pick_lists_board ON pick_lists(status, priority DESC, id);
CREATE INDEX orders_shop_number ON orders(shop_number) WHERE shop_number IS NOT NULL;
""",
    )


@MIGRATIONS(name="0026_replenishment")
def m0026_replenishment(db: Database) -> None:
    """Replenishment: pick faces and reserve bins, a min and max per face and SKU, move tasks.

    `locations.role` says whether pickers are sent to a bin (`face`, every bin so far) or
    it only feeds faces (`reserve`: never allocated to orders). A move task
    (`replen_tasks`) takes `qty` units of one SKU and lot from a reserve bin to a face:
    `urgent` when picks wait for it (a short pick), else a face fell below its min. A
    picker holds one at a time (`device_id`), at `stage` reserve, item (`carried` units
    scanned) or face; the stock moves when the face is scanned. `replen_holds`: the
    orders whose units wait for a move, not allocated elsewhere meanwhile.
    """
    _run(
        db,
        """
ALTER TABLE locations ADD COLUMN role TEXT NOT NULL DEFAULT 'face'
  CHECK (role IN ('face', 'reserve'));
CREATE TABLE face_limits (
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  min_qty INTEGER NOT NULL CHECK (min_qty >= 0),
  max_qty INTEGER NOT NULL CHECK (max_qty > 0 AND max_qty >= min_qty),
  PRIMARY KEY (location_id, sku)
);
CREATE INDEX face_limits_sku ON face_limits(sku);
CREATE TABLE replen_tasks (
  id INTEGER PRIMARY KEY,
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  sku TEXT NOT NULL REFERENCES products(sku),
  lot TEXT NOT NULL DEFAULT '',
  from_location_id INTEGER NOT NULL REFERENCES locations(id),
  to_location_id INTEGER NOT NULL REFERENCES locations(id),
  qty INTEGER NOT NULL CHECK (qty > 0),
  urgent INTEGER NOT NULL DEFAULT 0 CHECK (urgent IN (0, 1)),
  reason TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
  stage TEXT NOT NULL DEFAULT 'reserve' CHECK (stage IN ('reserve', 'item', 'face', 'done')),
  carried INTEGER NOT NULL DEFAULT 0 CHECK (carried >= 0 AND carried <= qty),
  moved INTEGER,
  device_id INTEGER REFERENCES devices(id),
  worker TEXT,
  created_at TEXT NOT NULL,
  done_at TEXT
);
CREATE INDEX replen_tasks_queue ON replen_tasks(warehouse, status);
CREATE INDEX replen_tasks_face ON replen_tasks(to_location_id, sku, status);
CREATE INDEX replen_tasks_from ON replen_tasks(from_location_id, sku, status);
CREATE INDEX replen_tasks_device ON replen_tasks(device_id) WHERE device_id IS NOT NULL;
CREATE TABLE replen_holds (
  task_id INTEGER NOT NULL REFERENCES replen_tasks(id),
  order_id TEXT NOT NULL REFERENCES orders(id),
  PRIMARY KEY (task_id, order_id)
);
CREATE INDEX replen_holds_order ON replen_holds(order_id)
""",
    )
    # A move writes two stock moves of kind 'replenish' (out of reserve, into the face).
    kinds = "('receipt', 'correction', 'pick', 'putaway', 'replenish')"
    if on_postgres(db):
        db.execute("ALTER TABLE stock_moves DROP CONSTRAINT IF EXISTS stock_moves_kind_check")
        db.execute(
            f"ALTER TABLE stock_moves ADD CONSTRAINT stock_moves_kind_check CHECK (kind IN {kinds})"
        )
        return
    # SQLite cannot change a CHECK in place: the ledger is copied into a table that allows it.
    _run(
        db,
        f"""
CREATE TABLE stock_moves_new (
  id INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN {kinds}),
  location_id INTEGER NOT NULL REFERENCES locations(id),
  sku TEXT NOT NULL,
  lot TEXT NOT NULL DEFAULT '',
  qty INTEGER NOT NULL,
  ref TEXT,
  reason TEXT
);
INSERT INTO stock_moves_new (id, at, kind, location_id, sku, lot, qty, ref, reason)
  SELECT id, at, kind, location_id, sku, lot, qty, ref, reason FROM stock_moves;
DROP TABLE stock_moves;
ALTER TABLE stock_moves_new RENAME TO stock_moves
""",
    )


@MIGRATIONS(name="0027_returns")
def m0027_returns(db: Database) -> None:
    """Returns: an authorisation (RMA) per parcel coming back, its lines, and each unit graded.

    An RMA is made over REST, from the board, from a shop's refund webhook or from a carrier's
    "returned" event (`source`; `external_id` keeps each source's own id once). The dock
    receives it on a handheld (`device_id` while one holds it; `devices.return_mode` is the
    handheld's place in the flow); every unit is graded once (`rma_units`): `resellable` goes
    to a bin through a put-away task, `scrap` is kept with its reason.
    """
    _run(
        db,
        """
CREATE TABLE rmas (
  id INTEGER PRIMARY KEY,
  rma TEXT NOT NULL UNIQUE,             -- RMA-000001: printed on the return label, scanned
  order_id TEXT NOT NULL REFERENCES orders(id),
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  source TEXT NOT NULL CHECK (source IN ('api', 'board', 'shopify', 'carrier')),
  external_id TEXT,                     -- the source's own id: the same again changes nothing
  package_id INTEGER REFERENCES packages(id),
  status TEXT NOT NULL CHECK (status IN ('authorised', 'received')),
  reason TEXT NOT NULL DEFAULT '',
  created_by TEXT NOT NULL,
  device_id INTEGER REFERENCES devices(id),
  created_at TEXT NOT NULL,
  received_at TEXT,
  received_by TEXT,
  UNIQUE (source, external_id)
);
CREATE INDEX rmas_order ON rmas(order_id);
CREATE INDEX rmas_package ON rmas(package_id) WHERE package_id IS NOT NULL;
CREATE INDEX rmas_device ON rmas(device_id) WHERE device_id IS NOT NULL;
CREATE INDEX rmas_status ON rmas(status, id);
CREATE TABLE rma_lines (
  rma_id INTEGER NOT NULL REFERENCES rmas(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL CHECK (qty > 0),
  PRIMARY KEY (rma_id, sku)
);
CREATE TABLE rma_units (
  id INTEGER PRIMARY KEY,
  rma_id INTEGER NOT NULL REFERENCES rmas(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  grade TEXT NOT NULL CHECK (grade IN ('resellable', 'scrap')),
  reason TEXT,                          -- scrap: damaged, defective, missing, wrong_item, other
  putaway_id INTEGER REFERENCES putaway_tasks(id),  -- resellable: its put-away task
  device_id INTEGER REFERENCES devices(id),
  worker TEXT,
  at TEXT NOT NULL
);
CREATE INDEX rma_units_rma ON rma_units(rma_id);
CREATE INDEX rma_units_sku ON rma_units(sku, grade);
ALTER TABLE devices ADD COLUMN return_mode TEXT
""",
    )


@MIGRATIONS(name="0028_transfers")
def m0028_transfers(db: Database) -> None:
    """Transfers between warehouses: an order of channel `transfer` shipped from one warehouse
    (`orders.pin_warehouse`: the only one it may be allocated in) to another, received there
    by scan (`transfer_lines.received`; `devices.transfer_mode` is the handheld's place)."""
    _run(
        db,
        """
ALTER TABLE orders ADD COLUMN pin_warehouse TEXT REFERENCES warehouses(code);
CREATE TABLE transfers (
  id INTEGER PRIMARY KEY,
  transfer TEXT NOT NULL UNIQUE,        -- TR-000001: printed on the packing slip, scanned
  order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
  from_warehouse TEXT NOT NULL REFERENCES warehouses(code),
  to_warehouse TEXT NOT NULL REFERENCES warehouses(code),
  source TEXT NOT NULL CHECK (source IN ('manual', 'suggestion')),
  request_id TEXT UNIQUE,               -- the caller's id: the same again changes nothing
  status TEXT NOT NULL CHECK (status IN ('open', 'received')),
  created_by TEXT NOT NULL,
  device_id INTEGER REFERENCES devices(id),
  created_at TEXT NOT NULL,
  received_at TEXT,
  received_by TEXT,
  CHECK (from_warehouse != to_warehouse)
);
CREATE INDEX transfers_status ON transfers(status, id);
CREATE INDEX transfers_device ON transfers(device_id) WHERE device_id IS NOT NULL;
CREATE TABLE transfer_lines (
  transfer_id INTEGER NOT NULL REFERENCES transfers(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL CHECK (qty > 0),         -- planned
  received INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
  over INTEGER NOT NULL DEFAULT 0 CHECK (over >= 0),  -- scanned beyond what was shipped: set aside
  short INTEGER,                                -- at close: shipped less received (lost on the way)
  PRIMARY KEY (transfer_id, sku)
);
ALTER TABLE devices ADD COLUMN transfer_mode TEXT
""",
    )


@MIGRATIONS(name="0029_demand_forecasts")
def m0029_demand_forecasts(db: Database) -> None:
    """The demand forecast and reorder suggestion of each SKU in each warehouse.

    The worker's forecast job (server/inventory/forecasting.py) replaces a warehouse's rows
    whole in one transaction; REST and the board only read them. `history` and `forecast`
    are JSON lists of units per day (oldest first; the forecast from the day after `day`).
    """
    _run(
        db,
        """
CREATE TABLE demand_forecasts (
  warehouse TEXT NOT NULL REFERENCES warehouses(code),
  sku TEXT NOT NULL REFERENCES products(sku),
  day TEXT NOT NULL,                    -- the last day of history (UTC date)
  computed_at TEXT NOT NULL,
  abc TEXT NOT NULL,
  pattern TEXT NOT NULL,                -- smooth, intermittent, erratic, lumpy, none
  model TEXT NOT NULL,
  daily REAL NOT NULL,                  -- forecast units per day (mean over the horizon)
  sigma REAL NOT NULL,                  -- one-day-ahead forecast error (RMS)
  position INTEGER NOT NULL,            -- on hand less reserved, every bin of the warehouse
  lead_time_days REAL NOT NULL,
  service_level REAL NOT NULL,
  cover_target_days REAL NOT NULL,
  safety_stock REAL NOT NULL,
  reorder_point REAL NOT NULL,
  reorder_qty INTEGER NOT NULL CHECK (reorder_qty >= 0),
  cover_days REAL,                      -- NULL: no forecast demand
  overstock INTEGER NOT NULL,
  history TEXT NOT NULL,
  forecast TEXT NOT NULL,
  PRIMARY KEY (warehouse, sku)
)
""",
    )


@MIGRATIONS(name="0030_customer_service")
def m0030_customer_service(db: Database) -> None:
    """Customer service: orders found by the customer's name (`orders.customer`, the ship-to's
    name in lower case, kept with every address change) or e-mail (any case), and by a SKU;
    a parcel the carrier lost is marked (`lost_at`) and points at the package re-shipped in
    its place (`replaced_by`)."""
    pg = on_postgres(db)
    name = "ship_to::json->>'name'" if pg else "json_extract(ship_to, '$.name')"
    # "Starts with" is a range on the index: in code point order on PostgreSQL too, whatever
    # the database's collation (server/capture/search.py asks for the same).
    by_code_point = ' COLLATE "C"' if pg else ""
    _run(
        db,
        f"""
ALTER TABLE orders ADD COLUMN customer TEXT;
UPDATE orders SET customer = lower({name});
CREATE INDEX orders_customer ON orders(customer{by_code_point});
CREATE INDEX orders_email_any_case ON orders(lower(email)) WHERE email IS NOT NULL;
CREATE INDEX order_lines_sku ON order_lines(sku, order_id);
ALTER TABLE packages ADD COLUMN lost_at TEXT;
ALTER TABLE packages ADD COLUMN replaced_by INTEGER REFERENCES packages(id);
CREATE INDEX packages_replaced_by ON packages(replaced_by) WHERE replaced_by IS NOT NULL
""",
    )


@MIGRATIONS(name="0032_queue_heads")
def m0032_queue_heads(db: Database) -> None:
    """The heads of the pick-list queue that hand-out reads at every connect, in small indexes.

    A list given back mid-pick (`resume = 1`) and a planned cart another kind of picker may
    take are each read as "the most urgent open one": with no index of their own, SQLite
    walked `pick_lists_board` (every open list by priority) looking for one, which cost in
    proportion to the open lists at every connect and hand-out (25 ms per connect at
    60,000 open orders). Each index holds only the lists it is for.
    """
    _run(
        db,
        """
CREATE INDEX pick_lists_resumed ON pick_lists(warehouse, priority DESC, id)
  WHERE status = 'open' AND resume = 1;
CREATE INDEX pick_lists_planned ON pick_lists(warehouse, priority DESC, id)
  WHERE status = 'open' AND planned IS NOT NULL
""",
    )


@MIGRATIONS(name="0033_reship_units")
def m0033_reship_units(db: Database) -> None:
    """Which parcel a reservation's units went in, once a parcel is lost.

    A re-ship takes the lost parcel's units again from stock: its reservations name the new
    package, and the lost parcel's own reservations are marked with the lost package then, so
    the unit accounting counts the lost units as lost by the carrier, not shipped twice."""
    _run(
        db,
        """
ALTER TABLE reservations ADD COLUMN package_id INTEGER REFERENCES packages(id);
CREATE INDEX reservations_package ON reservations(package_id) WHERE package_id IS NOT NULL
""",
    )


@MIGRATIONS(name="0034_shop_returns")
def m0034_shop_returns(db: Database) -> None:
    """Shopify's own returns: a return cancelled before it reached the dock, and the shop's
    line items of an order.

    A return the shop declines or cancels while nothing was received is `cancelled`
    (`rmas.cancelled_at`, `cancel_reason`). Shopify's return webhooks name goods by the order's
    line item id, not by SKU: `shop_line_items` keeps, for each order taken from a shop, which
    SKU each of its line items was.
    """
    _run(
        db,
        """
ALTER TABLE rmas ADD COLUMN cancelled_at TEXT;
ALTER TABLE rmas ADD COLUMN cancel_reason TEXT;
CREATE TABLE shop_line_items (
  order_id TEXT NOT NULL REFERENCES orders(id),
  line_item_id TEXT NOT NULL,           -- the shop's own line item id
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL,
  PRIMARY KEY (order_id, line_item_id)
)
""",
    )
    statuses = "('authorised', 'received', 'cancelled')"
    if on_postgres(db):
        db.execute("ALTER TABLE rmas DROP CONSTRAINT IF EXISTS rmas_status_check")
        db.execute(
            f"ALTER TABLE rmas ADD CONSTRAINT rmas_status_check CHECK (status IN {statuses})"
        )
        return
    # SQLite cannot change a CHECK in place, and rmas has children (rma_lines, rma_units) that
    # a copied table would orphan: widening a CHECK changes nothing on disk, so the table's
    # definition is edited as SQLite's ALTER TABLE page describes for CHECK constraints.
    old = "CHECK (status IN ('authorised', 'received'))"
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    db.execute("PRAGMA writable_schema = ON")
    changed = db.execute(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE type = 'table' AND name = 'rmas' "
        "AND instr(sql, ?) > 0",
        (old, f"CHECK (status IN {statuses})", old),
    ).rowcount
    db.execute(f"PRAGMA schema_version = {version + 1}")
    db.execute("PRAGMA writable_schema = OFF")
    if changed != 1:
        raise RuntimeError("0034: the rmas status CHECK was not found as 0027 wrote it")


@MIGRATIONS(name="0035_transfer_lots")
def m0035_transfer_lots(db: Database) -> None:
    """A transfer's units per lot at the receiving dock, and its over-received units settled.

    `transfer_lots` keeps, per SKU and lot (`''` for stock that is not lot-tracked), the units
    received and those scanned beyond what was shipped (`over`, set aside), with the lot's
    expiry; a supervisor settles each set-aside unit once: `accepted` into a bin of the
    receiving warehouse, or `rejected` (it leaves the building outside scanfloor). The
    per-SKU counts of `transfer_lines` stay the sums. Transfers received before have their
    lines copied as lot `''`.
    """
    _run(
        db,
        """
CREATE TABLE transfer_lots (
  transfer_id INTEGER NOT NULL REFERENCES transfers(id),
  sku TEXT NOT NULL REFERENCES products(sku),
  lot TEXT NOT NULL DEFAULT '',
  expires TEXT,                                  -- ISO date: the lot's, as the sender held it
  received INTEGER NOT NULL DEFAULT 0 CHECK (received >= 0),
  over INTEGER NOT NULL DEFAULT 0 CHECK (over >= 0),
  accepted INTEGER NOT NULL DEFAULT 0 CHECK (accepted >= 0),
  rejected INTEGER NOT NULL DEFAULT 0 CHECK (rejected >= 0),
  PRIMARY KEY (transfer_id, sku, lot),
  CHECK (accepted + rejected <= over)
);
CREATE INDEX transfer_lots_set_aside ON transfer_lots(transfer_id) WHERE over > accepted + rejected;
INSERT INTO transfer_lots (transfer_id, sku, lot, received, over)
  SELECT transfer_id, sku, '', received, over FROM transfer_lines
  WHERE received > 0 OR over > 0
""",
    )


def _search_terms_0036(name: str | None, email: str | None) -> set[str]:
    """The search terms of a customer, as migration 0036 first wrote them (kept here, not
    imported: server/capture/search.py `terms` is the same rule for new orders)."""
    import re

    words = re.findall(r"[^\W_]+", (name or "").lower())
    words += re.findall(r"[^\W_]+", (email or "").lower())
    out = {(email or "").lower()[:100]} if email else set()
    for word in words:
        word = word[:40]
        out.add(word)
        out.update(word[i:] for i in range(1, len(word) - 2))
    return out


@MIGRATIONS(name="0036_reorder_policies_search_terms")
def m0036_reorder_policies_search_terms(db: Database) -> None:
    """Reorder policies set over REST, and the customer search's terms.

    `reorder_policies` holds a SKU's (`scope` 'sku') or an ABC class's (`scope` 'class') own
    lead time, service level, cover and overstock days, set through the API or the CLI: each
    key set wins over the configuration's (NULL: the configuration's, or the class's).

    `order_terms` holds every word of an order's customer name and e-mail, in lower case, and
    each word's endings of three letters or more, so "any word" and "part of a word" are both
    "a term starts with" (a range on the primary key) and a search reads what it finds, not
    every order. Ordered by code point on PostgreSQL (`COLLATE "C"`), whatever the
    database's collation, as the range needs.
    """
    by_code_point = ' COLLATE "C"' if on_postgres(db) else ""
    _run(
        db,
        f"""
CREATE TABLE reorder_policies (
  scope TEXT NOT NULL CHECK (scope IN ('sku', 'class')),
  name TEXT NOT NULL,                   -- the SKU, or the class's letter
  lead_time_days REAL,
  service_level REAL,
  cover_days REAL,
  overstock_days REAL,
  set_by TEXT NOT NULL,
  set_at TEXT NOT NULL,
  PRIMARY KEY (scope, name)
);
CREATE TABLE order_terms (
  term TEXT{by_code_point} NOT NULL,
  order_id TEXT NOT NULL REFERENCES orders(id),
  PRIMARY KEY (term, order_id)
);
CREATE INDEX order_terms_order ON order_terms(order_id, term)
""",
    )
    pairs = [
        (term, row[0])
        for row in db.execute("SELECT id, customer, email FROM orders").fetchall()
        for term in sorted(_search_terms_0036(row[1], row[2]))
    ]
    for i in range(0, len(pairs), 1000):  # a thousand terms a statement
        part = pairs[i : i + 1000]
        db.execute(
            "INSERT INTO order_terms (term, order_id) VALUES " + ", ".join("(?, ?)" for _ in part),
            tuple(p for pair in part for p in pair),
        )


@MIGRATIONS(name="0037_idle_screens")
def m0037_idle_screens(db: Database) -> None:
    """The screen last sent to a warehouse's idle pack stations (server/floor/screens.py), as
    a digest: a refresh that would draw the same screen sends nothing."""
    _run(
        db,
        """
CREATE TABLE idle_screens (
  warehouse TEXT PRIMARY KEY REFERENCES warehouses(code),
  digest TEXT NOT NULL
)
""",
    )


@MIGRATIONS(name="0038_reship_on_the_floor")
def m0038_reship_on_the_floor(db: Database) -> None:
    """A re-ship is floor work: the shipment made to send a lost parcel again names it.

    `shipments.reship_of` is the lost package a shipment replaces: its units are reserved in
    bins and picked, packed and labelled as any order's, and the package its pack station
    makes is linked to the lost one (`packages.replaced_by`) at packing
    (server/shipping/reships.py). A shipment re-shipped before this migration was made with its
    label at once: it has no such row and needs none.

    No foreign key: packages already reference shipments, and a reference back would put the
    two tables in a cycle that copying a store table by table (server/store/copy.py) cannot
    order. The re-ship writes it from the lost package's own row, in the same transaction.
    """
    _run(
        db,
        """
ALTER TABLE shipments ADD COLUMN reship_of INTEGER;  -- packages.id of the lost parcel
CREATE INDEX shipments_reship_of ON shipments(reship_of) WHERE reship_of IS NOT NULL
""",
    )


@MIGRATIONS(name="0039_shop_return_changes")
def m0039_shop_return_changes(db: Database) -> None:
    """Shopify's later word on its returns: the return's own lines, and an end that came first.

    `shop_return_lines` keeps, for an RMA authorised from a Shopify return, each of the
    return's line items (Shopify's ReturnLineItem id) with its SKU and units: `returns/update`
    names a changed line by that id only. `shop_return_ends` keeps a `returns/cancel` or
    `returns/decline` that found no RMA (webhooks arrive out of order), by the RMA's external
    id, so that a later `returns/approve` of the same return authorises nothing.
    """
    _run(
        db,
        """
CREATE TABLE shop_return_lines (
  rma_id INTEGER NOT NULL REFERENCES rmas(id),
  return_line_item_id TEXT NOT NULL,    -- Shopify's ReturnLineItem id
  sku TEXT NOT NULL REFERENCES products(sku),
  qty INTEGER NOT NULL CHECK (qty >= 0),
  PRIMARY KEY (rma_id, return_line_item_id)
);
CREATE TABLE shop_return_ends (
  external_id TEXT PRIMARY KEY,         -- <channel>:return:<id>, as rmas.external_id
  topic TEXT NOT NULL,
  reason TEXT NOT NULL,
  at TEXT NOT NULL
)
""",
    )


@MIGRATIONS(name="0041_cancelled_units")
def m0041_cancelled_units(db: Database) -> None:
    """The units of an order line cancelled while another part of the order was with a carrier.

    Cancelling the rest of an order some of whose parcels shipped (server/capture/cancel.py)
    leaves the order alive, following its parcels; the units it no longer wants are counted
    here, so that they no longer wait for stock (`orders.waiting`) and allocation never
    reserves them again. A lost parcel re-shipped after such a cancel takes its units back.
    An order cancelled whole keeps its lines as they were: its status says it all.
    """
    _run(
        db,
        """
ALTER TABLE order_lines ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0 CHECK (cancelled >= 0)
""",
    )


@MIGRATIONS(name="0042_orders_by_promise")
def m0042_orders_by_promise(db: Database) -> None:
    """Orders indexed by status and then promise: the board's due counters (late now, due
    within the hour, due later today; server/board/counters.py) count ranges of this index
    without reading an order's row. It serves every lookup by status the old index did."""
    _run(
        db,
        """
DROP INDEX orders_status;
CREATE INDEX orders_status ON orders(status, promised_by)
""",
    )


@MIGRATIONS(name="0043_device_software")
def m0043_device_software(db: Database) -> None:
    """The software version a device said it runs at its last connect (`device_version` of
    the connect's auth; NULL until one says), shown on the board's device rows."""
    _run(
        db,
        """
ALTER TABLE devices ADD COLUMN software TEXT
""",
    )
