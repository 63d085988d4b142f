"""The buyer's view: each SKU's demand forecast per warehouse and what to reorder from suppliers.

(Not to be mixed up with replenishment.py, which moves units inside a warehouse, from reserve
to pick faces.)

The worker runs `run()` every `forecast.every_hours` (or `scanfloor replen forecast` does):

1. It reads the demand history outside any transaction: per warehouse, SKU and day (UTC) of
   the order, the units reserved for orders in that warehouse (a cancelled shipment's and
   released units left out), over `forecast.history_days` days up to yesterday.
2. It forecasts every SKU that sold there or is stocked there (server/inventory/domain/demand.py:
   the model by demand pattern), ranks the SKUs into ABC classes by units sold, and works out
   each one's reorder point, reorder quantity, cover and overstock flag
   (server/inventory/domain/reorder.py) from its policy: the class's, with the SKU's own keys
   (`[forecast.skus.SKU]`) over it, and a policy set over REST or the CLI (kept in the
   database, server/inventory/policies.py) over the configuration's, key by key.
3. It writes each warehouse's rows whole in one short transaction (the old rows of that
   warehouse go), so a reader sees one run or the next, never half of one.

REST (`GET /api/replenishment/suggestions`) and the board only read the table: nothing here
runs in a request or a scan, and the forecasting library is imported only by the job.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.config import ForecastSettings
from server.core import clock
from server.inventory import policies
from server.inventory.domain import demand, reorder
from server.store import Store

log = logging.getLogger("scanfloor.forecast")

# What a suggestion says, in this order (the CSV's columns too).
FIELDS = (
    "warehouse", "sku", "name", "abc", "pattern", "model", "daily", "sigma", "position",
    "lead_time_days", "service_level", "cover_target_days", "safety_stock", "reorder_point",
    "reorder_qty", "cover_days", "overstock", "reorder", "day", "computed_at",
)  # fmt: skip


def history(store: Store, since: date, until: date) -> dict[tuple[str, str], list[float]]:
    """Units per day (since … until, both included) of each (warehouse, SKU) that sold."""
    rows = store.all(
        "SELECT s.warehouse AS warehouse, r.sku AS sku, substr(o.created_at, 1, 10) AS day, "
        "SUM(r.qty - r.released) AS units "
        "FROM reservations r JOIN shipments s ON s.id = r.shipment_id "
        "JOIN orders o ON o.id = r.order_id "
        "WHERE s.status <> 'cancelled' AND o.created_at >= ? AND o.created_at < ? "
        "GROUP BY s.warehouse, r.sku, substr(o.created_at, 1, 10)",
        (since.isoformat(), (until + timedelta(days=1)).isoformat()),
    )
    days = (until - since).days + 1
    out: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0] * days)
    for r in rows:
        i = (date.fromisoformat(r["day"]) - since).days
        out[(r["warehouse"], r["sku"])][i] += float(r["units"])
    return dict(out)


def positions(store: Store) -> dict[tuple[str, str], int]:
    """On hand less reserved, every bin (faces and reserve) together, per warehouse and SKU."""
    rows = store.all(
        "SELECT l.warehouse AS warehouse, s.sku AS sku, SUM(s.on_hand - s.reserved) AS units "
        "FROM stock s JOIN locations l ON l.id = s.location_id GROUP BY l.warehouse, s.sku"
    )
    return {(r["warehouse"], r["sku"]): int(r["units"]) for r in rows}


def policy(
    settings: ForecastSettings, abc: str, sku: str, stored: policies.Stored | None = None
) -> reorder.Policy:
    """A SKU's reorder policy: the policies set in the database (`stored`) over the
    configuration's, the SKU's over its class's (server/inventory/policies.py)."""
    return policies.effective(settings, stored or {}, abc, sku)


def compute(
    settings: ForecastSettings,
    sold: dict[tuple[str, str], list[float]],
    stock: dict[tuple[str, str], int],
    day: date,
    pause: Callable[[], None] = lambda: None,
    stored: policies.Stored | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Every warehouse's rows: a forecast and a suggestion per SKU sold or stocked there,
    with the policies set in the database (`stored`) over the configuration's.
    `pause()` runs between two SKUs (the worker lets its other loops run)."""
    days = settings.history_days
    keys = sorted(set(sold) | {k for k, units in stock.items() if units > 0})
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    shares = [(c.name, c.share) for c in settings.classes]
    by_wh: dict[str, list[str]] = defaultdict(list)
    for wh, sku in keys:
        by_wh[wh].append(sku)
    now = clock.now()
    for wh, skus in by_wh.items():
        classes = reorder.abc({s: sum(sold.get((wh, s), ())) for s in skus}, shares)
        for sku in skus:
            series = sold.get((wh, sku), [0.0] * days)
            fc = demand.forecast(series, settings.horizon_days)
            pol = policy(settings, classes[sku], sku, stored)
            position = stock.get((wh, sku), 0)
            sug = reorder.suggest(fc.daily, fc.sigma, position, pol)
            out[wh].append(
                {
                    "warehouse": wh, "sku": sku, "day": day.isoformat(), "computed_at": now,
                    "abc": classes[sku], "pattern": fc.pattern, "model": fc.model,
                    "daily": round(fc.daily, 4), "sigma": round(fc.sigma, 4),
                    "position": position, "lead_time_days": pol.lead_time_days,
                    "service_level": pol.service_level, "cover_target_days": pol.cover_days,
                    "safety_stock": sug.safety_stock, "reorder_point": sug.reorder_point,
                    "reorder_qty": sug.reorder_qty,
                    "cover_days": None if sug.cover_days is None else round(sug.cover_days, 1),
                    "overstock": int(sug.overstock),
                    "history": json.dumps(series), "forecast": json.dumps(
                        [round(v, 4) for v in fc.mean]
                    ),
                }
            )  # fmt: skip
            pause()
    return dict(out)


def run(
    store: Store,
    settings: ForecastSettings,
    today: date | None = None,
    pause: Callable[[], None] = lambda: None,
) -> dict[str, int]:
    """Forecast every SKU of every warehouse and store the suggestions; returns the SKUs
    forecast per warehouse. The history ends yesterday (`today` default: the UTC date)."""
    today = today or datetime.now(UTC).date()
    until = today - timedelta(days=1)
    since = until - timedelta(days=settings.history_days - 1)
    rows = compute(
        settings, history(store, since, until), positions(store), until, pause,
        policies.stored(store),
    )  # fmt: skip
    for wh, batch in rows.items():
        with store.write():
            store.execute("DELETE FROM demand_forecasts WHERE warehouse = ?", (wh,))
            cols = list(batch[0])
            sql = (
                f"INSERT INTO demand_forecasts ({', '.join(cols)}) "
                f"VALUES ({', '.join('?' for _ in cols)})"
            )
            for row in batch:
                store.execute(sql, tuple(row[c] for c in cols))
    done = {wh: len(batch) for wh, batch in rows.items()}
    log.info("forecast %s", ", ".join(f"{wh}: {n} SKU(s)" for wh, n in done.items()) or "none")
    return done


def suggestions(
    store: Store,
    warehouse: str | None = None,
    sku: str | None = None,
    only: str | None = None,
    series: bool = False,
) -> list[dict[str, Any]]:
    """The stored suggestions, reorders first (largest quantity), then by warehouse and SKU.
    `only`: `reorder` (a quantity to order) or `overstock`; `series`: with the history and
    forecast lists (the board's charts)."""
    where, params = [], []
    if warehouse is not None:
        where.append("f.warehouse = ?")
        params.append(warehouse)
    if sku is not None:
        where.append("f.sku = ?")
        params.append(sku)
    if only == "reorder":
        where.append("f.reorder_qty > 0")
    elif only == "overstock":
        where.append("f.overstock = 1")
    sql = "SELECT f.*, p.name AS name FROM demand_forecasts f JOIN products p ON p.sku = f.sku"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY f.reorder_qty DESC, f.warehouse, f.sku"
    out = []
    for r in store.all(sql, tuple(params)):
        row = {k: r[k] for k in FIELDS if k in r}
        row["overstock"] = bool(r["overstock"])
        row["reorder"] = r["reorder_qty"] > 0
        if series:
            row["history"] = json.loads(r["history"])
            row["forecast"] = json.loads(r["forecast"])
        out.append(row)
    return out


def to_csv(rows: list[dict[str, Any]]) -> str:
    """Suggestions as CSV, one row each, the columns of FIELDS."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buf.getvalue()
