"""Transfers over REST: suggested from safety stock, planned once (by hand or from the
suggestion), read back; every bad request refused with words a person reads, changing nothing."""

from __future__ import annotations

from dbkit import rows

TABLES = ("transfers", "transfer_lines", "orders", "order_lines", "reservations", "audit_log")


def _snapshot(store) -> dict[str, list]:
    return {t: rows(store, t) for t in TABLES}


def test_a_suggestion_is_accepted_once_and_bad_plans_change_nothing(
    client, json_post, headers, store, catalogue
):
    with store.write():  # WH-WEST should keep 4 pens and has none: WH-EAST has 10 to spare
        store.execute(
            "INSERT INTO safety_stock (warehouse, sku, qty) VALUES ('WH-WEST', 'SKU-B', 4)"
        )
    got = client.get("/api/transfers/suggestions", headers=headers).get_json()
    assert got == {"suggestions": [
        {"sku": "SKU-B", "from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "qty": 4, "need": 4}
    ]}  # fmt: skip

    before = _snapshot(store)
    good = {"from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST",
            "lines": [{"sku": "SKU-B", "qty": 4}]}  # fmt: skip
    for body, status, words in [
        ({**good, "to_warehouse": "WH-NOPE"}, 422, "to_warehouse: no warehouse WH-NOPE"),
        ({**good, "to_warehouse": "WH-EAST"}, 422, "WH-EAST cannot send to itself"),
        ({**good, "lines": [{"sku": "SKU-NOPE", "qty": 1}]}, 422, "unknown SKU SKU-NOPE"),
        ({**good, "lines": [{"sku": "SKU-B", "qty": 11}]}, 422, "11 of SKU-B asked, WH-EAST has 10 free to send"),
        ({**good, "lines": [{"sku": "SKU-B", "qty": 1}] * 2}, 422, "SKU-B is on the transfer twice"),
        ({**good, "lines": [{"sku": "SKU-B", "qty": "4"}]}, 422, "lines"),
        ({**good, "lines": []}, 422, "lines"),
        ({**good, "source": "magic"}, 422, "source"),
        ([1, 2], 422, ""),
    ]:  # fmt: skip
        resp = json_post("/api/transfers", body)
        assert resp.status_code == status, (body, resp.get_json())
        said = resp.get_json()
        assert words in " ".join(f"{p['field']}: {p['message']}" for p in said["problems"]), said
    assert (
        client.post(
            "/api/transfers", data=b"{nope", headers={**headers, "Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert client.post("/api/transfers", json=good).status_code == 401  # no key
    assert _snapshot(store) == before

    body = {**good, "source": "suggestion", "request_id": "move-1"}
    resp = json_post("/api/transfers", body)
    assert resp.status_code == 201, resp.get_json()
    made = resp.get_json()
    assert (made["transfer"], made["status"], made["source"]) == (
        "TR-000001",
        "planned",
        "suggestion",
    )
    assert made["lines"] == [{"sku": "SKU-B", "qty": 4, "shipped": 0, "received": 0,
                              "in_transit": 0, "over": 0, "short": None, "lots": []}]  # fmt: skip
    again = json_post("/api/transfers", body)
    assert again.status_code == 200 and again.get_json()["transfer"] == "TR-000001"
    # What is coming is taken off the need: nothing more is suggested.
    assert client.get("/api/transfers/suggestions", headers=headers).get_json() == {
        "suggestions": []
    }
    listed = client.get("/api/transfers?status=planned", headers=headers).get_json()["transfers"]
    assert [t["transfer"] for t in listed] == ["TR-000001"]
    assert client.get("/api/transfers?status=received", headers=headers).get_json() == {
        "transfers": []
    }
    assert client.get(f"/api/transfers/{made['order_id']}", headers=headers).get_json() == made
    missing = client.get("/api/transfers/TR-999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["message"] == "no transfer TR-999999"
    assert client.get("/api/transfers?status=lost", headers=headers).status_code == 422
    assert client.get("/api/transfers/in-transit", headers=headers).get_json() == {"in_transit": []}


def test_a_request_id_again_with_another_body_is_409_and_changes_nothing(
    json_post, store, catalogue
):
    body = {"from_warehouse": "WH-EAST", "to_warehouse": "WH-WEST", "request_id": "move-2",
            "lines": [{"sku": "SKU-A", "qty": 2}, {"sku": "SKU-B", "qty": 1}]}  # fmt: skip
    first = json_post("/api/transfers", body)
    assert first.status_code == 201, first.get_json()
    before = _snapshot(store)
    for other in [
        {**body, "lines": [{"sku": "SKU-A", "qty": 3}, {"sku": "SKU-B", "qty": 1}]},
        {**body, "lines": [{"sku": "SKU-A", "qty": 2}]},
        {**body, "from_warehouse": "WH-WEST", "to_warehouse": "WH-EAST"},
        {**body, "source": "suggestion"},
        {**body, "to_warehouse": "WH-NOPE"},  # the key is looked at first, as for orders
    ]:
        resp = json_post("/api/transfers", other)
        assert resp.status_code == 409, (other, resp.get_json())
        assert resp.get_json() == {
            "error": "conflict",
            "message": "request_id move-2 was already used for TR-000001 with another body",
            "problems": [],
        }
    assert _snapshot(store) == before
    # The same body again, its lines in another order, still answers the first transfer.
    again = json_post("/api/transfers", {**body, "lines": body["lines"][::-1]})
    assert again.status_code == 200 and again.get_json() == first.get_json()
    assert _snapshot(store) == before
