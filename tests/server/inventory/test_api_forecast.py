"""Forecast and reorder end to end in process: real orders placed over four weeks (their dates
moved back), the worker's forecast job, then the suggestions over REST (JSON and CSV, bad
input refused with nothing changed) and on the board's forecast page."""

from __future__ import annotations

import csv
import io
import math
from datetime import date, timedelta
from statistics import NormalDist

import pytest
from floorkit import board_web, place

from server.config import ForecastSettings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue as catalogue_service
from server.inventory import forecasting

TODAY = date(2026, 3, 2)  # a Monday
DAYS = 28
URL = "/api/replenishment/suggestions"


@pytest.fixture
def forecast(store, catalogue):
    """Four weeks of history in WH-EAST: SKU-B sold every day (more on Fridays, less at
    weekends, one more every fifth day), SKU-A on one day in four; then the forecast, SKU-A with its own 10-day lead time."""
    catalogue_service.load(
        store,
        CatalogueIn.model_validate(
            {
                "locations": [{"warehouse": "WH-EAST", "code": "E-03-01"}],
                "stock": [
                    {"warehouse": "WH-EAST", "location": "E-03-01", "sku": "SKU-B", "on_hand": 300},
                    {"warehouse": "WH-EAST", "location": "E-03-01", "sku": "SKU-A", "on_hand": 40},
                ],
            }
        ),
    )
    sold = {"SKU-A": 0, "SKU-B": 0}
    for i in range(DAYS):
        day = TODAY - timedelta(days=DAYS - i)
        lines = []
        lines.append(("SKU-B", {4: 4, 5: 1, 6: 1}.get(day.weekday(), 2) + (i % 5 == 0)))
        if i % 4 == 1:
            lines.append(("SKU-A", 1 + i % 3))
        if not lines:
            continue
        oid = place(store, f"F-{i}", lines)
        store.execute(
            "UPDATE orders SET created_at = ? WHERE id = ?", (f"{day.isoformat()}T10:00:00", oid)
        )
        for sku, qty in lines:
            sold[sku] += qty
    settings = ForecastSettings(
        history_days=DAYS, horizon_days=14, skus={"SKU-A": {"lead_time_days": 10}}
    )
    done = forecasting.run(store, settings, today=TODAY)
    return {"sold": sold, "done": done}


def test_suggestions_over_rest_as_json_and_csv(client, headers, store, forecast):
    assert forecast["done"] == {"WH-EAST": 2, "WH-WEST": 2}  # SKU-A and SKU-C stocked west
    r = client.get(URL + "?warehouse=WH-EAST", headers=headers)
    assert r.status_code == 200, r.json
    rows = {s["sku"]: s for s in r.json["suggestions"]}
    b, a = rows["SKU-B"], rows["SKU-A"]
    assert (b["abc"], b["pattern"], b["model"]) == ("A", "smooth", "SeasonalES")
    assert (a["abc"], a["pattern"], a["model"]) == ("C", "intermittent", "CrostonSBA")
    # The history the job read is what was placed; the day is the last day of history.
    held = store.one(
        "SELECT SUM(s.on_hand - s.reserved) AS n FROM stock s JOIN locations l "
        "ON l.id = s.location_id WHERE l.warehouse = 'WH-EAST' AND s.sku = 'SKU-B'"
    )["n"]
    assert (b["position"], b["day"]) == (held, "2026-03-01")
    assert 1.5 < b["daily"] < 3 and b["sigma"] > 0  # 2 units a day on average
    # The policy: SKU-B its class's (A: 7 days, 98 %), SKU-A its own lead time over C's.
    assert (b["lead_time_days"], b["service_level"]) == (7, 0.98)
    assert (a["lead_time_days"], a["service_level"]) == (10, 0.9)
    z = NormalDist().inv_cdf(0.98)
    assert b["reorder_point"] == pytest.approx(
        b["daily"] * 7 + z * b["sigma"] * math.sqrt(7), abs=0.01
    )
    assert b["reorder"] is (b["reorder_qty"] > 0) and b["overstock"] is (b["cover_days"] > 90)
    assert b["cover_days"] == pytest.approx(b["position"] / b["daily"], abs=0.1)

    # CSV: asked by Accept or by ?format=csv, the same rows.
    for asked in (
        client.get(URL + "?warehouse=WH-EAST", headers={**headers, "Accept": "text/csv"}),
        client.get(URL + "?warehouse=WH-EAST&format=csv", headers=headers),
    ):
        assert asked.status_code == 200 and asked.mimetype == "text/csv"
        table = list(csv.DictReader(io.StringIO(asked.get_data(as_text=True))))
        assert [t["sku"] for t in table] == [s["sku"] for s in r.json["suggestions"]]
        assert float(table[0]["reorder_point"]) == r.json["suggestions"][0]["reorder_point"]
    only = client.get(URL + "?only=overstock", headers=headers).json["suggestions"]
    assert all(s["overstock"] for s in only) and {"WH-WEST"} <= {s["warehouse"] for s in only}


BAD = [
    ("?warehouse=WH-NOPE", 404, "unknown warehouse WH-NOPE"),
    ("?sku=SKU-NOPE", 404, "unknown SKU SKU-NOPE"),
    ("?only=cheap", 422, "only"),
    ("?format=xml", 422, "format"),
    ("?warehouse=WH-EAST&warehouse=WH-WEST", 422, "warehouse"),
    ("?colour=red", 422, "colour"),
]


def test_bad_queries_are_refused_and_the_board_charts_each_sku(
    app, client, headers, store, forecast
):
    before = store.all("SELECT * FROM demand_forecasts ORDER BY warehouse, sku")
    for query, status, words in BAD:
        r = client.get(URL + query, headers=headers)
        assert r.status_code == status, (query, r.json)
        problems = [p["field"] for p in r.json.get("problems", [])]
        assert words in r.json["message"] or any(words in p for p in problems), r.json
    assert client.get(URL).status_code == 401  # no key

    web = board_web(app)
    board = web.get("/board").get_data(as_text=True)
    assert 'href="/board/forecast"' in board  # the board's menu
    page = web.get("/board/forecast")
    assert page.status_code == 200 and "board/forecast.js" in page.get_data(as_text=True)
    body = web.get("/board/api/forecast?warehouse=WH-EAST").json
    assert body["total"] == 2 and body["warehouses"] == ["WH-EAST", "WH-WEST"]
    b = next(s for s in body["suggestions"] if s["sku"] == "SKU-B")
    assert len(b["history"]) == DAYS and len(b["forecast"]) == 14
    assert sum(b["history"]) == forecast["sold"]["SKU-B"]
    csv_rows = web.get("/board/api/forecast.csv?only=reorder").get_data(as_text=True)
    assert csv_rows.startswith("warehouse,sku,name,")
    assert web.get("/board/api/forecast?only=cheap").status_code == 400
    assert web.get("/board/api/forecast?warehouse=WH-NOPE").status_code == 404
    assert store.all("SELECT * FROM demand_forecasts ORDER BY warehouse, sku") == before
