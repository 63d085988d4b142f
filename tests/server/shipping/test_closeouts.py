"""Close-outs over REST and the CLI: the manifest as JSON, CSV and a printable page; the
hand-over by REST; the carrier, service and rate on the order; a label per carrier."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest
from click.testing import CliRunner
from floorkit import pick_and_pack

from server.cli.main import main
from server.people import auth
from server.shipping import carriers
from server.shipping.domain.carriers import LocalCarrier, Rate
from server.shipping.domain.labels import ShippingLabel

PEN, PEN_BIN = "0012345678905", "LE-01-01"


@pytest.fixture
def api(floor):
    key = auth.create_api_key(floor.store, "sup")
    client = floor.app.test_client()

    def call(method: str, path: str, **kw):
        return client.open(path, method=method, headers={"X-API-Key": key}, **kw)

    return call


@pytest.mark.slow  # seconds, not milliseconds: scheduled first (tests/conftest.py)
def test_close_out_lists_the_packed_boxes_as_json_csv_and_a_page(floor, api):
    a = pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN, shop_number="#1043")
    b = pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN, service="express")
    got = api("POST", "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"})
    assert got.status_code == 201
    m = got.get_json()
    assert (m["carrier"], m["warehouse"], m["status"], m["count"]) == (
        "local",
        "WH-EAST",
        "closed",
        2,
    )
    assert [(p["tracking"], p["order"], p["service"]) for p in m["packages"]] == [
        (a["tracking"], "#1043", "economy"),
        (b["tracking"], b["order_id"], "express"),
    ]
    # CSV: tracking, shop number, service, weight, destination postcode.
    got = api("GET", m["csv_url"])
    assert got.status_code == 200 and got.mimetype == "text/csv"
    assert f"manifest-local-WH-EAST-{m['id']}.csv" in got.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(got.get_data(as_text=True))))
    assert rows == [
        {"tracking": a["tracking"], "sscc": a["sscc"], "order": "#1043", "service": "ECONOMY",
         "weight_kg": "0.140", "postcode": "12345", "country": "US", "rate": "4.50"},
        {"tracking": b["tracking"], "sscc": b["sscc"], "order": b["order_id"],
         "service": "EXPRESS", "weight_kg": "0.140", "postcode": "12345", "country": "US",
         "rate": "9.00"},
    ]  # fmt: skip
    page = api("GET", m["page_url"])
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert f"SCANFLOOR LOCAL manifest {m['id']}" in html
    assert f'data-tracking="{a["tracking"]}"' in html and "#1043" in html and "12345" in html
    # Nothing left to close: 409, and no empty manifest is made.
    again = api("POST", "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"})
    assert again.status_code == 409 and "no packed local package" in again.get_json()["message"]
    assert floor.store.one("SELECT COUNT(*) AS n FROM manifests")["n"] == 1


def test_close_out_refusals(floor, api):
    assert (
        api("POST", "/api/carriers/ups/closeouts", json={"warehouse": "WH-EAST"}).status_code == 404
    )
    assert (
        api("POST", "/api/carriers/local/closeouts", json={"warehouse": "WH-X"}).status_code == 404
    )
    assert api("POST", "/api/carriers/local/closeouts", json={}).status_code == 422
    assert api("GET", "/api/carriers/local/manifests/7.csv").status_code == 404
    listed = api("GET", "/api/carriers").get_json()["carriers"]
    assert listed[0]["name"] == "local" and listed[0]["dock_card"] == "CARRIER-LOCAL"
    assert [s["name"] for s in listed[0]["services"]] == ["economy", "standard", "express"]


def test_hand_over_by_rest_flags_what_was_not_loaded(floor, api):
    a = pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN)
    m = api("POST", "/api/carriers/local/closeouts", json={"warehouse": "WH-EAST"}).get_json()
    got = api("POST", f"/api/carriers/local/manifests/{m['id']}/handover", json={})
    assert got.status_code == 200
    out = got.get_json()
    assert out["status"] == "departed" and out["missing"] == 1
    assert (
        out["packages"][0]["state"] == "missing" and out["packages"][0]["tracking"] == a["tracking"]
    )
    again = api("POST", f"/api/carriers/local/manifests/{m['id']}/handover", json={})
    assert again.status_code == 409
    listed = api("GET", "/api/carriers/local/manifests?warehouse=WH-EAST").get_json()["manifests"]
    assert [(x["id"], x["status"], x["count"], x["loaded"], x["missing"]) for x in listed] == [
        (m["id"], "departed", 1, 0, 1)
    ]
    assert api("GET", "/api/carriers/local/manifests?status=closed").get_json() == {"manifests": []}
    assert api("GET", "/api/carriers/local/manifests?status=gone").status_code == 422
    assert (
        api("POST", f"/api/carriers/fastbox/manifests/{m['id']}/handover", json={}).status_code
        == 404
    )


def test_the_order_names_its_service_and_shows_the_rate(floor, api):
    bad = {
        "order_id": "shop-x",
        "lines": [{"sku": "SKU-B", "qty": 1}],
        "ship_to": {"name": "A", "line1": "1 Road", "city": "C", "postcode": "1", "country": "US"},
        "service": "overnight",
    }
    got = api("POST", "/api/orders", json=bad)
    assert got.status_code == 422
    why = "local has no service 'overnight' (it has economy, standard, express)"
    assert got.get_json()["problems"] == [{"field": "service", "message": why}]
    assert floor.store.one("SELECT COUNT(*) AS n FROM orders")["n"] == 0
    pkg = pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN, service="Standard")
    order = api("GET", f"/api/orders/{pkg['order_id']}").get_json()
    assert order["service"] == "standard"
    p = order["packages"][0]
    assert (p["carrier"], p["service"], p["zone"], p["rate_cents"]) == ("local", "standard", 1, 550)
    assert p["loaded_at"] is None
    # The label says the service and the zone: the local carrier's own layout.
    assert "^FDSTANDARD^FS" in pkg["zpl"] and "^FDZONE 1^FS" in pkg["zpl"]
    doc = api("GET", "/api/openapi.json").get_json()
    assert "service" in doc["components"]["schemas"]["OrderIn"]["properties"]
    assert "rate_cents" in doc["components"]["schemas"]["PackageOut"]["properties"]
    csv_op = doc["paths"]["/api/carriers/{carrier}/manifests/{manifest_id}.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]


@dataclass(frozen=True)
class BoxLabelCarrier(LocalCarrier):
    """A carrier that prints its own label: a plain box with the tracking number."""

    def label(self, label: ShippingLabel, rate: Rate, dpi: int) -> str:
        return f"^XA^FO50,50^A0N,60,60^FD{self.title} {label.tracking}^FS^XZ\n"


def test_the_label_is_the_carriers_own(floor):
    carriers.REGISTRY["boxco"] = BoxLabelCarrier(name="boxco", title="BOXCO", tracking_prefix="BX")
    try:
        pkg = pick_and_pack(floor, "shop-b", "TOTE-2", PEN, PEN_BIN, service="boxco:express")
    finally:
        del carriers.REGISTRY["boxco"]
    assert pkg["carrier"] == "boxco" and pkg["tracking"].startswith("BX")
    assert pkg["zpl"] == f"^XA^FO50,50^A0N,60,60^FDBOXCO {pkg['tracking']}^FS^XZ\n"


def test_scanfloor_closeout(floor, tmp_path, floor_settings):
    a = pick_and_pack(floor, "shop-a", "TOTE-1", PEN, PEN_BIN)
    floor.store.close()
    run = CliRunner().invoke(
        main,
        ["closeout", "--carrier", "local", "--warehouse", "WH-EAST",
         "--data-dir", str(floor_settings.data_dir),
         "--csv", str(tmp_path / "m.csv"), "--html", str(tmp_path / "m.html")],
        catch_exceptions=False,
    )  # fmt: skip
    assert run.exit_code == 0, run.output
    assert run.output.startswith("manifest 1: 1 local package(s) of WH-EAST")
    assert a["tracking"] in (tmp_path / "m.csv").read_text()
    assert a["tracking"] in (tmp_path / "m.html").read_text()
    again = CliRunner().invoke(
        main,
        ["closeout", "--carrier", "local", "--warehouse", "WH-EAST",
         "--data-dir", str(floor_settings.data_dir)],
    )  # fmt: skip
    assert again.exit_code == 1 and "no packed local package" in again.output
