"""Command cards and the floor's own barcode forms: totes, pick lists."""

from __future__ import annotations

import pytest

from shared.commands import CARDS, card_set, is_command, read_card, short_found
from shared.picking import is_tote, parse_pick_list_ref, pick_list_ref
from shared.protocol import ActionIn, barcode_problem


def test_every_card_is_a_valid_action_and_travels_as_a_barcode():
    for card in card_set(found_up_to=9):
        assert barcode_problem(card.barcode) is None
        ActionIn(id="a-1", action=card.action, found=card.found, reason=card.reason)
        assert read_card(card.barcode) == card
        assert read_card(f"  {card.barcode.lower()}\r\n") == card


def test_card_set_is_the_fixed_cards_then_the_counts():
    cards = card_set(found_up_to=3)
    assert cards[: len(CARDS)] == list(CARDS)
    assert [c.barcode for c in cards[len(CARDS) :]] == ["CMD-COUNT-1", "CMD-COUNT-2", "CMD-COUNT-3"]
    assert len({c.barcode for c in cards}) == len(cards)


def test_a_fixed_short_card_asks_and_a_count_card_answers():
    shorts = [c for c in CARDS if c.action == "short"]
    assert [c.barcode for c in shorts] == [
        "CMD-SHORT", "CMD-SHORT-EMPTY", "CMD-SHORT-DAMAGED", "CMD-SHORT-MISSING", "CMD-SHORT-WRONG",
    ]  # fmt: skip
    assert all(c.found is None and "ASKS THE COUNT" in c.caption for c in shorts)
    for text in ("CMD-COUNT-7", "cmd-short-7", "CMD-COUNT-0007"):
        card = read_card(text)
        assert (card.action, card.found, card.reason) == ("short", 7, "missing"), text
    assert read_card("CMD-COUNT-0").found == 0
    assert read_card("CMD-SHORT-7").barcode == "CMD-SHORT-7"  # the older form, as scanned


@pytest.mark.parametrize(
    "barcode",
    [
        "CMD-SHORT-12345",
        "CMD-SHORT-LOST",
        "CMD-SHORT-",
        "CMD-SHORT-²",
        "CMD-HELPME",
        "TOTE-1",
        "",
        "CMD-COUNT",
        "CMD-COUNT-",
        "CMD-COUNT-12345",
        "CMD-COUNT-DAMAGED",
        "CMD-COUNT-²",
        "CMD-COUNT-1x",
    ],
)
def test_not_a_card(barcode):
    assert read_card(barcode) is None and not is_command(barcode)


def test_short_counts_are_bounded():
    assert short_found(9999).barcode == "CMD-COUNT-9999"
    assert short_found(9999, prefix="CMD-SHORT").barcode == "CMD-SHORT-9999"
    with pytest.raises(ValueError):
        short_found(10_000)
    with pytest.raises(ValueError):
        short_found(-1)


@pytest.mark.parametrize(
    ("text", "tote"),
    [("TOTE-1", True), ("TOTE-12345678", True), ("TOTE-123456789", False), ("TOTE-", False),
     ("tote-1", False), ("TOTE-1A", False), ("TOTE-١", False), ("TOTE-1\n", False)],
)  # fmt: skip
def test_tote_pattern(text, tote):
    assert is_tote(text) is tote


@pytest.mark.parametrize(
    ("text", "list_id"),
    [("PL-000004", 4), ("PL-4", 4), ("PL-9007199254740991", 2**53 - 1), ("PL-9007199254740992", None),
     ("PL-" + "9" * 30, None), ("PL-²", None), ("PL-", None), ("PL-4x", None)],
)  # fmt: skip
def test_pick_list_barcodes(text, list_id):
    assert parse_pick_list_ref(text) == list_id
    if list_id is not None and text.startswith("PL-0"):
        assert pick_list_ref(list_id) == text
