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
from click.testing import CliRunner
from floorkit import board_web, place

from server.cli.main import main
from server.config import ForecastSettings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue as catalogue_service
from server.inventory import forecasting, policies
from server.inventory.domain import reorder
from server.people import auth

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


POLICIES = "/api/replenishment/policies"


def _suggestion(client, headers, sku: str, warehouse: str = "WH-EAST") -> dict:
    r = client.get(URL, query_string={"sku": sku, "warehouse": warehouse}, headers=headers)
    assert r.status_code == 200, r.json
    (row,) = r.json["suggestions"]
    return row


def test_policies_set_over_rest_win_over_the_configuration(app, client, headers, store, forecast):
    listed = client.get(POLICIES, headers=headers).json
    assert [c["name"] for c in listed["classes"]] == ["A", "B", "C"]
    a_class = listed["classes"][0]
    assert a_class["config"] == {
        "lead_time_days": 7, "service_level": 0.98, "cover_days": 28, "overstock_days": 90,
    }  # fmt: skip
    assert a_class["set"]["lead_time_days"] is None and listed["skus"] == []

    # A SKU's own policy: its stored suggestion is worked out again at once.
    before = _suggestion(client, headers, "SKU-B")
    assert (before["abc"], before["lead_time_days"], before["service_level"]) == ("A", 7, 0.98)
    r = client.put(
        f"{POLICIES}/skus/SKU-B", json={"lead_time_days": 14, "service_level": 0.99},
        headers=headers,
    )  # fmt: skip
    assert r.status_code == 200, r.json
    assert r.json["set"] == {
        "lead_time_days": 14, "service_level": 0.99, "cover_days": None, "overstock_days": None,
    }  # fmt: skip
    assert r.json["suggestions"] == 1 and r.json["set_by"].startswith("key:")
    b = _suggestion(client, headers, "SKU-B")
    assert (b["lead_time_days"], b["service_level"], b["cover_target_days"]) == (14, 0.99, 28)
    z = NormalDist().inv_cdf(0.99)
    assert b["reorder_point"] == pytest.approx(
        b["daily"] * 14 + z * b["sigma"] * math.sqrt(14), abs=0.01
    )
    assert b["reorder_point"] > before["reorder_point"]
    want = max(0, math.ceil(b["reorder_point"] + b["daily"] * 28 - b["position"] - 1e-9))
    assert b["reorder_qty"] == (want if b["position"] <= b["reorder_point"] else 0)

    # A class's policy: its SKUs follow it, except where the SKU's own says otherwise.
    r = client.put(
        f"{POLICIES}/classes/A", json={"lead_time_days": 3, "overstock_days": 1}, headers=headers
    )
    assert r.status_code == 200 and r.json["suggestions"] == 2, r.json  # A east and west
    b = _suggestion(client, headers, "SKU-B")
    assert (b["lead_time_days"], b["service_level"]) == (14, 0.99)  # the SKU's own
    assert b["overstock"] is True and b["cover_days"] > 1  # the class's overstock days
    only = client.get(URL + "?only=overstock&warehouse=WH-EAST", headers=headers).json
    assert "SKU-B" in {s["sku"] for s in only["suggestions"]}

    # The next forecast run uses them too.
    forecasting.run(store, ForecastSettings(history_days=DAYS, horizon_days=14), today=TODAY)
    b = _suggestion(client, headers, "SKU-B")
    assert (b["lead_time_days"], b["service_level"], b["overstock"]) == (14, 0.99, True)
    listed = client.get(POLICIES, headers=headers).json
    assert [s["name"] for s in listed["skus"]] == ["SKU-B"]
    assert (
        client.get(f"{POLICIES}/skus/SKU-B", headers=headers).json["set"]["service_level"] == 0.99
    )

    # Cleared: the configuration's again (the class's set here still holds).
    r = client.delete(f"{POLICIES}/skus/SKU-B", headers=headers)
    assert r.status_code == 200 and r.json["set"]["lead_time_days"] is None, r.json
    b = _suggestion(client, headers, "SKU-B")
    assert (b["lead_time_days"], b["service_level"]) == (3, 0.98)
    assert client.delete(f"{POLICIES}/classes/A", headers=headers).status_code == 200
    b = _suggestion(client, headers, "SKU-B")
    assert (b["lead_time_days"], b["overstock"]) == (7, b["cover_days"] > 90)
    r = client.delete(f"{POLICIES}/skus/SKU-B", headers=headers)
    assert r.status_code == 404 and "no policy of its own" in r.json["message"]
    assert [
        (a["action"], a["target"])
        for a in store.all("SELECT action, target FROM audit_log ORDER BY id")
    ] == [
        ("reorder policy set", "sku:SKU-B"),
        ("reorder policy set", "class:A"),
        ("reorder policy cleared", "sku:SKU-B"),
        ("reorder policy cleared", "class:A"),
    ]


BAD_POLICIES = [
    ("skus/SKU-NOPE", {"lead_time_days": 5}, 404, "unknown SKU SKU-NOPE"),
    ("classes/Z", {"lead_time_days": 5}, 404, "no class Z: the classes are A, B, C"),
    ("skus/SKU-B", {}, 422, "set at least one of"),
    ("skus/SKU-B", {"lead_time_days": None}, 422, "set at least one of"),
    ("skus/SKU-B", {"service_level": 1}, 422, "service_level"),
    ("skus/SKU-B", {"service_level": 0.4}, 422, "service_level"),
    ("skus/SKU-B", {"lead_time_days": 0}, 422, "lead_time_days"),
    ("skus/SKU-B", {"lead_time_days": "7"}, 422, "lead_time_days"),
    ("classes/A", {"cover_days": -1}, 422, "cover_days"),
    ("classes/A", {"overstock_days": 0}, 422, "overstock_days"),
    ("classes/A", {"lead_time_days": 7, "colour": "red"}, 422, "colour"),
]


def _policy_state(store) -> tuple:
    """What a refused policy must leave as it was: the policies, suggestions and audit log."""
    return (
        store.all("SELECT * FROM reorder_policies ORDER BY scope, name"),
        store.all("SELECT * FROM demand_forecasts ORDER BY warehouse, sku"),
        store.all("SELECT id FROM audit_log"),
    )


def test_bad_policies_are_refused_and_change_nothing(app, client, headers, store, forecast):
    before = _policy_state(store)
    for path, body, status, words in BAD_POLICIES:
        r = client.put(f"{POLICIES}/{path}", json=body, headers=headers)
        assert r.status_code == status, (path, body, r.json)
        problems = [p["field"] + " " + p["message"] for p in r.json.get("problems", [])]
        assert words in r.json["message"] or any(words in p for p in problems), r.json
        if status == 422:
            assert r.json["error"] == "invalid_policy", r.json
    r = client.delete(f"{POLICIES}/skus/SKU-A", headers=headers)
    assert r.status_code == 404 and "follows the configuration" in r.json["message"]
    assert client.get(f"{POLICIES}/classes/Q", headers=headers).status_code == 404
    body = {"lead_time_days": 5}
    assert client.put(f"{POLICIES}/skus/SKU-B", json=body).status_code == 401
    reader = {"Authorization": f"Bearer {auth.create_api_key(store, 'reader', ['read'])}"}
    assert client.put(f"{POLICIES}/skus/SKU-B", json=body, headers=reader).status_code == 403
    assert client.get(POLICIES, headers=reader).status_code == 200
    after = _policy_state(store)
    assert after[:2] == before[:2] and len(after[2]) == len(before[2])


def test_policies_from_the_cli(settings, store, forecast):
    def run(*args: str):
        return CliRunner().invoke(
            main, ["replen", *args, "--data-dir", str(settings.data_dir)], catch_exceptions=False
        )

    r = run("policy", "SKU-B", "--lead-time-days", "21", "--overstock-days", "2")
    assert r.exit_code == 0, r.output
    assert "sku   SKU-B" in r.output and "lead 21 (set)" in r.output
    assert "1 suggestion(s) worked out again" in r.output
    row = store.one("SELECT * FROM demand_forecasts WHERE sku = 'SKU-B'")
    assert row["lead_time_days"] == 21 and row["overstock"] == int(row["cover_days"] > 2)
    r = run("policy", "B", "--class", "--service-level", "0.97")
    assert r.exit_code == 0 and "class B" in r.output, r.output
    r = run("policies")
    assert r.exit_code == 0 and "service 0.97 (set)" in r.output and "SKU-B" in r.output
    # Bad input: a clear error, nothing changed.
    before = store.all("SELECT * FROM reorder_policies ORDER BY scope, name")
    for args, words in [
        (("policy", "SKU-B", "--service-level", "1.5"), "service_level: 1.5 is outside"),
        (("policy", "SKU-NOPE", "--cover-days", "3"), "unknown SKU SKU-NOPE"),
        (("policy", "SKU-B"), "set at least one of"),
        (("policy", "SKU-B", "--clear", "--cover-days", "3"), "--clear takes no policy value"),
        (("policy", "X", "--class", "--clear"), "no class X"),
    ]:
        r = run(*args)
        assert r.exit_code == 1 and words in r.output, (args, r.output)
    assert store.all("SELECT * FROM reorder_policies ORDER BY scope, name") == before
    r = run("policy", "SKU-B", "--clear")
    assert r.exit_code == 0 and "lead class's" in r.output, r.output
    assert (
        store.one("SELECT lead_time_days FROM demand_forecasts WHERE sku = 'SKU-B'")[
            "lead_time_days"
        ]
        == 7
    )


def test_a_policy_key_comes_from_the_sku_then_the_config_sku_then_the_class_then_the_config():
    settings = ForecastSettings(
        overstock_days=90,
        skus={"S": {"service_level": 0.97, "cover_days": 5}},
        classes=[{"name": "A", "share": 1, "lead_time_days": 7, "overstock_days": 60}],
    )
    assert policies.effective(settings, {}, "A", "S") == reorder.Policy(7, 0.97, 5, 60)
    stored = {
        ("class", "A"): {"lead_time_days": 3, "service_level": 0.8, "cover_days": None,
                         "overstock_days": None},
        ("sku", "S"): {"lead_time_days": None, "service_level": None, "cover_days": 9,
                       "overstock_days": 30},
    }  # fmt: skip
    # lead time: the class's set here; service level: the SKU's configuration over the
    # class's set here; cover and overstock: the SKU's set here.
    assert policies.effective(settings, stored, "A", "S") == reorder.Policy(3, 0.97, 9, 30)
    assert policies.effective(settings, stored, "A", "T") == reorder.Policy(3, 0.8, 28, 60)
    plain = ForecastSettings(overstock_days=45)
    assert policies.effective(plain, {}, "B", "T") == reorder.Policy(7, 0.95, 28, 45)
    # Where each key comes from, as the board's forecast page shows it.
    assert {k: v["from"] for k, v in policies.in_force(settings, stored, "A", "S").items()} == {
        "lead_time_days": "class", "service_level": "config", "cover_days": "sku",
        "overstock_days": "sku",
    }  # fmt: skip
    assert policies.in_force(settings, stored, "A") == {  # the class itself
        "lead_time_days": {"value": 3, "from": "class"},
        "service_level": {"value": 0.8, "from": "class"},
        "cover_days": {"value": 28, "from": "config"},
        "overstock_days": {"value": 60, "from": "config"},
    }


BOARD_POLICIES = "/board/api/forecast/policies"


def _on_page(web, sku: str = "SKU-B") -> tuple[dict, dict]:
    """The forecast page's row of a SKU in WH-EAST, and its classes by letter."""
    body = web.get("/board/api/forecast?warehouse=WH-EAST").json
    row = next(s for s in body["suggestions"] if s["sku"] == sku)
    return row, {c["name"]: c for c in body["classes"]}


def test_the_board_shows_where_each_policy_key_comes_from_and_sets_and_clears_them(
    app, store, forecast
):
    web = board_web(app, "sam")
    b, classes = _on_page(web)
    assert web.get("/board/api/forecast").json["keys"][0] == {
        "key": "lead_time_days", "label": "lead time (days)",
    }  # fmt: skip
    assert b["policy"]["lead_time_days"] == {"value": 7, "from": "config"}  # class A's
    assert b["policy_set_by"] is None
    a, _ = _on_page(web, "SKU-A")
    assert a["policy"]["service_level"] == {"value": 0.9, "from": "config"}  # class C's
    assert classes["A"]["policy"]["service_level"] == {"value": 0.98, "from": "config"}
    assert classes["C"]["policy"]["overstock_days"] == {"value": 90, "from": "config"}

    # A SKU's lead time: its row is worked out again and read back with the new source.
    r = web.post(f"{BOARD_POLICIES}/sku/SKU-B", json={"lead_time_days": 21, "cover_days": None})
    assert r.status_code == 200, r.json
    assert r.json["done"] == "SKU-B's policy set: lead time (days) 21"
    after, _ = _on_page(web)
    assert after["policy"]["lead_time_days"] == {"value": 21, "from": "sku"}
    assert after["lead_time_days"] == 21 and after["reorder_point"] > b["reorder_point"]
    assert after["policy_set_by"] == "sam"
    # A class's service level: its SKU follows it, where the SKU has none of its own.
    r = web.post(f"{BOARD_POLICIES}/class/A", json={"service_level": 0.99})
    assert r.status_code == 200 and r.json["done"] == "class A's policy set: service level 0.99"
    after, classes = _on_page(web)
    assert after["policy"]["service_level"] == {"value": 0.99, "from": "class"}
    assert classes["A"]["policy"]["service_level"] == {"value": 0.99, "from": "class"}
    assert classes["A"]["set_by"] == "sam"
    # Cleared: the configuration's again.
    r = web.post(f"{BOARD_POLICIES}/sku/SKU-B/clear")
    assert r.status_code == 200, r.json
    assert r.json["done"] == "SKU-B's policy cleared: the configuration's again"
    after, _ = _on_page(web)
    assert after["policy"]["lead_time_days"] == {"value": 7, "from": "config"}
    z = NormalDist().inv_cdf(0.99)
    assert after["reorder_point"] == pytest.approx(
        after["daily"] * 7 + z * after["sigma"] * math.sqrt(7), abs=0.01
    )
    assert store.all("SELECT actor, action, target FROM audit_log ORDER BY id") == [
        {"actor": "sam", "action": "reorder policy set", "target": "sku:SKU-B"},
        {"actor": "sam", "action": "reorder policy set", "target": "class:A"},
        {"actor": "sam", "action": "reorder policy cleared", "target": "sku:SKU-B"},
    ]


BAD_ON_THE_BOARD = [
    ("sku/SKU-B", {"lead_time_days": 400}, 422,
     "SKU-B's policy was not set: lead time (days): 400 is outside (0, 365]"),
    ("sku/SKU-B", {"service_level": "high"}, 422,
     "service level: a number, or null for the configuration's"),
    ("sku/SKU-B", {"lead_time_days": None}, 422, "set at least one of"),
    ("sku/SKU-B", {"colour": "red"}, 422, "colour: not a policy key"),
    ("sku/SKU-B", [21], 400, "the body must be a JSON object of policy keys"),
    ("sku/SKU-NOPE", {"lead_time_days": 5}, 404, "unknown SKU SKU-NOPE"),
    ("class/Z", {"lead_time_days": 5}, 404, "no class Z: the classes are A, B, C"),
    ("sku/SKU-A/clear", {}, 404, "it follows the configuration"),
]  # fmt: skip


def test_bad_policies_on_the_board_are_refused_in_words_and_change_nothing(app, store, forecast):
    before = _policy_state(store)
    web = board_web(app, "sam")
    for path, body, status, words in BAD_ON_THE_BOARD:
        r = web.post(f"{BOARD_POLICIES}/{path}", json=body)
        assert r.status_code == status, (path, r.json)
        assert words in r.json["error"], (path, r.json)
    assert web.post(f"{BOARD_POLICIES}/scope/SKU-B", json={}).status_code == 404
    # Without the page's CSRF token, or with a picker's session: refused.
    web.environ_base.pop("HTTP_X_CSRFTOKEN")
    r = web.post(f"{BOARD_POLICIES}/sku/SKU-B", json={"lead_time_days": 5})
    assert r.status_code == 400 and r.json["error"] == "csrf", r.json
    assert _policy_state(store) == before
