"""The pure rules of returns: what may come back, grades, and every unit accounted for."""

from __future__ import annotations

import pytest

from server.returns.domain import returns as rules
from server.returns.domain import shop


def test_what_may_still_come_back_is_shipped_less_already_authorised():
    left = rules.returnable({"A": 3, "B": 1}, {"A": 1})
    assert left == {"A": 2, "B": 1}
    assert rules.line_problems([("A", 2), ("B", 1)], left) == []
    assert rules.line_problems([("A", 1), ("A", 2), ("C", 1)], left) == [
        ("lines[1].qty", "3 of A asked, 2 may still be returned"),
        ("lines[2].sku", "C was not shipped on this order"),
    ]
    assert rules.line_problems([("A", 1)], rules.returnable({"A": 1}, {"A": 2})) == [
        ("lines[0].qty", "1 of A asked, 0 may still be returned")
    ]


def test_a_return_takes_no_more_units_of_a_sku_than_it_authorised():
    lines = rules.lines({"A": 2, "B": 1}, [("A", "resellable"), ("A", "scrap")])
    assert [(x.sku, x.received, x.resellable, x.scrapped, x.left) for x in lines] == [
        ("A", 2, 1, 1, 0),
        ("B", 0, 0, 0, 1),
    ]
    assert rules.may_receive(lines, "A") == "all_received"
    assert rules.may_receive(lines, "B") == "ok"
    assert rules.may_receive(lines, "C") == "not_on_return"


@pytest.mark.parametrize(
    ("grade", "reason", "ok"),
    [
        ("resellable", None, True),
        ("scrap", "damaged", True),
        ("scrap", "wrong_item", True),
        ("scrap", None, False),  # a scrapped unit says why
        ("scrap", "meh", False),
        ("resellable", "damaged", False),
        ("lost", None, False),
    ],
)
def test_a_grade_is_resellable_or_scrap_with_a_reason_from_the_list(grade, reason, ok):
    assert (rules.grade_problem(grade, reason) is None) is ok


def test_rma_numbers_read_back():
    assert rules.rma_ref(42) == "RMA-000042"
    assert rules.is_rma("rma-000042") and not rules.is_rma("RMA-") and not rules.is_rma("SO-1")


def test_only_refund_lines_restocked_as_a_return_come_back():
    refund, problems = shop.parse(
        {
            "id": 890088186047892319,
            "order_id": 820982911946154508,
            "refund_line_items": [
                {"quantity": 1, "restock_type": "return", "line_item": {"sku": "SKU-B"}},
                {"quantity": 2, "restock_type": "no_restock", "line_item": {"sku": "SKU-A"}},
                {"quantity": 1, "restock_type": "cancel", "line_item": {"sku": "SKU-C"}},
                {"quantity": 1, "restock_type": "return", "line_item": {"sku": None}},
            ],
        }
    )
    assert problems == []
    lines, problems = shop.returned_lines(refund)
    assert lines == [("SKU-B", 1)]
    assert problems == [("refund_line_items[3].line_item.sku", "missing: we find goods by SKU")]
    assert shop.parse({"id": 1})[1][0][0] == "order_id"


@pytest.mark.parametrize(
    ("asked", "graded", "units", "held"),
    [
        ({"A": 2, "B": 1}, {}, {"A": 2, "B": 1}, []),
        ({"A": 0}, {}, {"A": 0}, []),
        ({"A": 1}, {"A": 1}, {"A": 1}, []),
        ({"A": 0, "B": 1}, {"A": 2}, {"A": 2, "B": 1},
         ["A stays at 2: 2 units already received at the dock, the shop asks 0"]),
        ({}, {"A": 1}, {"A": 1},
         ["A stays at 1: 1 unit already received at the dock, the shop asks 0"]),
    ],
)  # fmt: skip
def test_a_changed_return_follows_the_shop_but_never_below_what_was_graded(
    asked, graded, units, held
):
    assert rules.follow(asked, graded) == (units, held)
