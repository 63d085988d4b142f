"""The unit accounting (server/inventory/stock.py) through a day of one SKU: stock in, shipped, counted, returned, scrapped;
received = shipped + on hand + in transit + scrapped holds, and a unit changed behind the
ledger's back is reported, over REST and by the CLI."""

from __future__ import annotations

from click.testing import CliRunner
from floorkit import action, connect, scan
from trackkit import ship

from server.cli.main import main
from server.core.schemas import CorrectionIn, ReceiptIn
from server.inventory import stock
from server.people import auth
from server.returns import rmas

PEN = "0012345678905"  # SKU-B: 10 in E-01-01 (the catalogue), none in WH-WEST


def _return_one_good_one_damaged(app, socketio, token: str, tracking: str) -> None:
    dock = connect(app, socketio, token)
    assert action(dock, "return", "a1")["ok"]
    assert scan(dock, tracking, "a2")["code"] == "return_open"
    assert scan(dock, PEN, "a3")["code"] == "return_item_ok"
    assert action(dock, "return_grade", "a4", reason="resellable")["ok"]
    assert scan(dock, "LE-01-01", "a5")["code"] == "return_put_away"
    assert scan(dock, PEN, "a6")["code"] == "return_item_ok"
    assert action(dock, "return_grade", "a7", reason="damaged")["ok"]
    assert action(dock, "return_done", "a8")["ok"]


def test_every_unit_of_a_day_is_accounted_for_and_a_stray_one_is_reported(
    floor, floor_settings, monkeypatch
):
    app, socketio, store, tokens = floor
    stock.receive(
        store,
        ReceiptIn.model_validate(
            {"warehouse": "WH-EAST", "receipt_id": "PO-1",
             "lines": [{"location": "E-01-01", "sku": "SKU-B", "qty": 5}]}
        ),
    )  # fmt: skip
    oid, trackings = ship(store, "AC1", packages=3)  # 15 - 3 = 12 in E-01-01
    # A count finds one pen short in the face and two where none were known.
    for where, wh, counted in (("E-01-01", "WH-EAST", 11), ("W-02-02", "WH-WEST", 2)):
        body = {"warehouse": wh, "location": where, "sku": "SKU-B", "on_hand": counted}
        stock.correct(store, CorrectionIn.model_validate({**body, "reason": "count"}))
    rma, _ = rmas.authorise(store, oid, [("SKU-B", 2)], "api", "test", "")
    _return_one_good_one_damaged(app, socketio, tokens["packer"], trackings[0])

    (pens,) = stock.accounts(store, "SKU-B")
    assert (pens.initial, pens.receipts, pens.found, pens.returned) == (10, 5, 2, 2)
    assert (pens.shipped, pens.in_bins, pens.in_totes, pens.awaiting_putaway) == (3, 14, 0, 0)
    assert (pens.lost, pens.returned_scrap, pens.in_transit) == (1, 1, 0)
    assert pens.received == 19 == pens.shipped + pens.on_hand + pens.in_transit + pens.scrapped
    # The in-transit term is a hook: units between warehouses count as accounted for.
    assert stock.accounts(store, "SKU-B", in_transit={"SKU-B": 1})[0].missing == -1

    client = app.test_client()
    headers = {"Authorization": f"Bearer {auth.create_api_key(store, 'acct')}"}
    r = client.get("/api/stock/accounting", headers=headers)
    assert r.status_code == 200 and r.json["holds"] and r.json["unbalanced"] == []
    assert r.json["summary"] == "every unit accounted for (3 SKUs)"
    assert client.get("/api/stock/accounting?sku=NOPE", headers=headers).status_code == 404

    # A pen put in a bin without a stock move (a bug, a hand edit) is reported, not hidden.
    with store.write():
        store.execute("UPDATE stock SET on_hand = on_hand + 1 WHERE sku = 'SKU-B' AND on_hand = 2")
    r = client.get("/api/stock/accounting?sku=SKU-B", headers=headers)
    assert not r.json["holds"] and r.json["unbalanced"] == ["SKU-B"]
    assert r.json["skus"][0]["missing"] == -1
    assert r.json["summary"] == "1 of 1 SKUs not accounted for (received less found): SKU-B (-1)"
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(floor_settings.data_dir / "none.toml"))
    out = CliRunner().invoke(
        main, ["stock", "accounting", "--data-dir", str(floor_settings.data_dir)]
    )
    assert out.exit_code == 1, out.output
    assert "SKU-B" in out.output and "NOT ACCOUNTED FOR: -1" in out.output
    assert "SKU-A" in out.output.splitlines()[0] and "ok" in out.output.splitlines()[0]
    # A SKU that does not exist: an error, as REST's 404 (once "ok" and "every unit accounted for").
    out = CliRunner().invoke(
        main, ["stock", "accounting", "--sku", "NOPE", "--data-dir", str(floor_settings.data_dir)]
    )
    assert out.exit_code == 1 and out.output == "Error: no SKU NOPE\n", out.output
