"""A return authorised from the board's order drawer: what may come back is shown, the
button makes the RMA, and a bad request is refused in words, changing nothing."""

from __future__ import annotations

from floorkit import board_web
from trackkit import ship


def test_a_supervisor_authorises_a_return_from_the_order_view(floor):
    store = floor.store
    oid, _ = ship(store, "B1", packages=2)
    web = board_web(floor.app, "sam")
    view = web.get(f"/board/api/orders/{oid}").get_json()
    assert view["returnable"] == {"SKU-B": 2} and view["returns"] == []

    before = store.all("SELECT * FROM rmas")
    for body, status, words in [
        ({"lines": [{"sku": "SKU-B", "qty": 3}]}, 422, "3 of SKU-B asked, 2 may still be returned"),
        ({"lines": [{"sku": "SKU-A", "qty": 1}]}, 422, "SKU-A was not shipped on this order"),
        ({"lines": []}, 400, "lines must name at least one SKU"),
        ({"lines": [{"sku": "SKU-B", "qty": 0}]}, 400, "return at least one unit"),
        ({"lines": [{"sku": "SKU-B", "qty": 1}], "why": "x"}, 400, "unknown field(s) why"),
    ]:
        r = web.post(f"/board/api/orders/{oid}/return", json=body)
        assert r.status_code == status and words in r.get_json()["error"], r.get_json()
    r = web.post("/board/api/orders/SO-999999/return", json={"lines": [{"sku": "SKU-B", "qty": 1}]})
    assert r.status_code == 404 and r.get_json()["error"] == "no order SO-999999"
    assert store.all("SELECT * FROM rmas") == before
    assert store.all("SELECT * FROM audit_log") == []

    r = web.post(
        f"/board/api/orders/{oid}/return",
        json={"lines": [{"sku": "SKU-B", "qty": 1}], "reason": "scratched"},
    )
    assert r.status_code == 200 and r.get_json() == {"ok": True, "order": oid, "rma": "RMA-000001"}
    view = web.get(f"/board/api/orders/{oid}").get_json()
    assert view["returnable"] == {"SKU-B": 1}
    assert view["returns"] == [{"rma": "RMA-000001", "status": "authorised", "source": "board"}]
    says = [e["says"] for e in view["timeline"]]
    assert "Return authorised: RMA-000001, scratched" in says
    audit = store.all("SELECT actor, action, target FROM audit_log")
    assert audit == [{"actor": "sam", "action": "return_authorise", "target": "RMA-000001"}]
