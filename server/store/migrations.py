"""Numbered schema migrations, applied in order, each in its own transaction."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("scanfloor")


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
