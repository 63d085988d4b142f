"""The cancel rule alone (server/capture/domain/cancelling.py): a declared table of order facts
and what the rule says of each, in words."""

from __future__ import annotations

import pytest

from server.capture.domain.cancelling import (
    CancelFacts,
    Rest,
    partly,
    said,
    why_not_cancel,
)

FLOOR = Rest((("SKU-B", 1),), "WH-EAST")
WAITING = Rest((("SKU-C", 2),))
RESHIP = Rest((("SKU-B", 1),), "WH-EAST", "SF0000000017")

# (facts, refusal or None, whether only the rest goes, the words of what it cancels)
TABLE = [
    (CancelFacts("SO-1", "received", 0, (WAITING,)), None, False,
     "cancels order SO-1: 2 x SKU-C waiting for stock"),
    (CancelFacts("SO-1", "allocated", 0, (FLOOR,)), None, False,
     "cancels order SO-1: 1 x SKU-B on the floor in WH-EAST"),
    (CancelFacts("SO-1", "allocated", 0, (RESHIP,)), None, False,
     "cancels order SO-1: the re-ship of lost parcel SF0000000017: 1 x SKU-B on the floor in "
     "WH-EAST"),
    (CancelFacts("SO-1", "partially_allocated", 1, (FLOOR, WAITING)), None, True,
     "cancels the rest of order SO-1: 1 x SKU-B on the floor in WH-EAST; 2 x SKU-C waiting "
     "for stock; the parcel with the carrier goes on"),
    (CancelFacts("SO-1", "allocated", 2, (RESHIP,)), None, True,
     "cancels the rest of order SO-1: the re-ship of lost parcel SF0000000017: 1 x SKU-B on "
     "the floor in WH-EAST; the 2 parcels with the carrier go on"),
    (CancelFacts("SO-1", "shipped", 1), "order SO-1 has shipped: it can no longer be cancelled",
     False, None),
    (CancelFacts("SO-1", "delivered", 3), "order SO-1 has shipped: it can no longer be cancelled",
     False, None),
    (CancelFacts("SO-1", "cancelled", 0), "order SO-1 is already cancelled", False, None),
]  # fmt: skip


@pytest.mark.parametrize("facts,why,rest_only,words", TABLE)
def test_the_rule_over_a_table_of_orders(facts, why, rest_only, words):
    assert why_not_cancel(facts) == why
    assert partly(facts) is rest_only
    if words is not None:
        assert said(facts) == words
