"""The handheld's screen, rendered to text at a 3.5-inch terminal's size (60 x 20)."""

from __future__ import annotations

import io
import sys
import time

import pytest

from device.screen import GREEN, RED, PlainScreen, TtyScreen, big_line, plain_text
from server.floor.domain import picking
from server.floor.domain.floor import PickList, Step
from shared.picking import scan_keys

WIDTH, HEIGHT = 60, 20


def picking_state(at_location: bool = False):
    step = Step(1, 1, "SO-1", "E-01-02", "LE-01-02", "SKU-A", "Blue mug", ("4006381333931",), 3)
    step = Step(**{**step.__dict__, "at_location": at_location})
    return picking.screen(PickList(4, "assigned", "TOTE-7", (step,)))


def test_instruction_in_block_letters_when_it_fits():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state()
    text = plain_text(screen.render(WIDTH, HEIGHT))
    rows = text.split("\n")
    assert len(rows) == HEIGHT and all(len(r) <= WIDTH for r in rows)
    for row in big_line("E-01-02"):
        assert row in rows  # "GO TO" / "E-01-02", 4 rows each
    assert "ONLINE" not in rows[0] and "CONNECTING" in rows[0]
    assert "0/3" in rows[1]


def test_long_instruction_keeps_the_headline_big_and_the_rest_readable():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state(at_location=True)
    text = plain_text(screen.render(WIDTH, HEIGHT))
    assert "\n".join(big_line("PICK 3")) in text
    assert "Pick 3 × Blue mug from E-01-02" in text


def test_good_is_green_bad_is_red_with_its_own_sound(tmp_path):
    out = io.StringIO()
    hook = tmp_path / "sounds.txt"
    cmd = f"{sys.executable} -c \"open(r'{hook}', 'a').write('{{kind}}\\n')\""
    screen = TtyScreen(out=out, sound_command=cmd)
    screen.state = picking_state()
    screen.scan_result(True, "At E-01-02")
    assert GREEN in screen.render(WIDTH, HEIGHT) and "✔ At E-01-02" in out.getvalue()
    screen.scan_result(False, "Wrong location LE-09. Go to E-01-02")
    assert RED in screen.render(WIDTH, HEIGHT)
    assert screen.sounds == ["good", "bad"]
    deadline = time.monotonic() + 15  # the hook runs in its own process, without waiting
    while (not hook.exists() or len(hook.read_text().split()) < 2) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.05)
    assert sorted(hook.read_text().split()) == ["bad", "good"]
    while out.getvalue().count("\a") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.getvalue().count("\a") == 3  # three bells for a bad scan, none for a good one


def test_offline_waiting_and_printer_state_are_on_top():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state()
    screen.status("offline", 4)
    screen.printer_state("printer is out of paper (1 label waiting)")
    top = plain_text(screen.render(WIDTH, HEIGHT)).split("\n")[0]
    assert "OFFLINE — 4 scans waiting" in top and "OUT OF PAPER" in top


def test_plain_screen_says_offline_and_waiting():
    out = io.StringIO()
    screen = PlainScreen(out=out, name="p1")
    screen.show(picking_state())
    screen.status("offline", 2)
    screen.scan_result(False, "Wrong item X. Pick Blue mug")
    last = out.getvalue().strip().split("\n")[-1]
    assert "<offline> (2 scans waiting)" in last and "ERROR: Wrong item" in last
    assert "| GO TO E-01-02" in last


@pytest.mark.parametrize(
    "barcode, kept",
    [
        ("CMD-SHORT", "short::empty"),  # no count yet: a question first
        ("cmd-short-2", "short:2:missing"),
        ("CMD-COUNT-3", "short:3:missing"),
        ("CMD-COUNT-0", "short:0:missing"),
        ("CMD-SHORT-DAMAGED", "short::damaged"),
        ("CMD-SHORT-WRONG", "short::wrong_item"),
        ("CMD-COUNT-DAMAGED", None),
        ("CMD-HELP", "help"),
        ("CMD-HELP-NO-STOCK", "help::no_stock"),  # a help card that says why
        ("cmd-help-blocked", "help::blocked"),
        ("CMD-HELP-LOST", None),
        ("CMD-LOGOUT", "logout"),
        ("CMD-SHORT-12345", None),
        ("CMD-SHORT-LOST", None),
        ("TOTE-1", None),
    ],
)
def test_command_cards(barcode, kept):
    from device.scanflow import parse_command

    assert parse_command(barcode) == kept


def test_every_screen_has_a_headline_of_plain_words():
    from typing import get_args

    from device.screen import headline
    from shared.protocol import DeviceState, Screen

    for name in get_args(Screen):
        words = headline(DeviceState(screen=name, instruction="x"))
        assert "_" not in words and words.isupper(), (name, words)


def test_quantity_and_product_name_are_in_block_letters():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state(at_location=True)
    screen.scan_result(True, "At E-01-02")
    rendered = screen.render(WIDTH, HEIGHT)
    assert "\n".join(big_line("PICK 3")) in plain_text(rendered)
    assert "\n".join(big_line("BLUE MUG")) in plain_text(rendered)
    assert "Pick 3 × Blue mug from E-01-02" in plain_text(rendered)


def test_a_long_bin_code_is_never_broken():
    step = Step(1, 1, "SO-1", "AISLE12-BAY03-L2", "LAISLE12-BAY03-L2", "SKU-A", "Blue mug",
                ("4006381333931",), 3)  # fmt: skip
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking.screen(PickList(4, "assigned", "TOTE-7", (step,)))
    text = plain_text(screen.render(WIDTH, HEIGHT))
    assert "Go to AISLE12-BAY03-L2" in text  # whole, on one line
    # In block letters only "GO TO": the code is too long for them, and no piece of it is drawn.
    blocks = [r for r in text.split("\n") if set(r) & set("▀▄█") and not r.startswith("[")]
    assert blocks == big_line("GO TO"), blocks
    narrow = plain_text(screen.render(24, HEIGHT))
    assert "AISLE12-BAY03-L2" in narrow and "AISLE12-\n" not in narrow


def test_a_wrong_scan_shows_what_was_scanned_whole():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state(at_location=True)
    code = "]C1010950110153000310ABC123"
    screen.scan_result(False, f"Wrong item {code}: not on this list. Pick Blue mug")
    text = plain_text(screen.render(WIDTH, HEIGHT))
    assert code in text and "Pick Blue mug" in text


def seen(screen, width=WIDTH, height=HEIGHT) -> str:
    """The screen as the worker reads it: no colours, no trailing blanks."""
    return "\n".join(r.rstrip() for r in plain_text(screen.render(width, height)).split("\n"))


def test_a_wrong_scan_turns_the_whole_screen_red_with_its_headline_and_sound():
    out = io.StringIO()
    screen = TtyScreen(out=out)
    screen.state = picking_state()
    assert "\n".join(big_line("GO TO")) in seen(screen)
    screen.scan_result(
        False, "Wrong bin: LE-09 is another location. Go to E-01-02", "wrong_location"
    )
    rows = screen.render(WIDTH, HEIGHT).split("\n")
    assert len(rows) == HEIGHT and all(len(plain_text(r)) <= WIDTH for r in rows)
    # Every row under the status and progress bars is red, the cards' row included.
    assert all(r.startswith(RED) for r in rows[2:]), rows
    text = seen(screen)
    assert "\n".join(big_line("WRONG BIN")) in text
    assert "\n".join(big_line("GO TO")) not in text  # the headline changed...
    assert "LE-09 is another location" in text and "Still: Go to E-01-02" in text  # ...the way on
    assert screen.sounds == ["bad"]
    deadline = time.monotonic() + 10
    while out.getvalue().count("\a") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert out.getvalue().count("\a") == 3
    # The next good scan gives the screen back.
    screen.scan_result(True, "At E-01-02")
    assert RED not in screen.render(WIDTH, HEIGHT) and screen.sounds == ["bad", "good"]


def test_a_barcode_of_nothing_says_so_in_big_letters_even_narrow():
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state()
    screen.scan_result(False, "garbage123 is not a location, item or tote", "unknown_barcode")
    for width in (60, 48, 24):
        text = seen(screen, width)
        assert "garbage123 is not a location, item or tote" in " ".join(text.split())
        assert ("\n".join(big_line("UNKNOWN")) in text) == (width >= 42)


def reship_state(at_location: bool = False, orders: tuple[str, ...] = ("SO-1",)):
    """A picker's list for SO-1 that re-ships lost parcel SF0000000007 (with SO-2 on the cart,
    an ordinary order, when `orders` names it)."""
    steps = tuple(
        Step(i, i, order, "E-01-02", "LE-01-02", "SKU-A", "Blue mug", ("4006381333931",), 1,
             at_location=at_location)
        for i, order in enumerate(orders, start=1)
    )  # fmt: skip
    totes = {o: f"TOTE-{n}" for n, o in enumerate(orders, start=7)} if len(orders) > 1 else {}
    pl = PickList(4, "assigned", "TOTE-7", steps, orders, totes, reships={"SO-1": "SF0000000007"})
    return picking.screen(pl)


def test_a_reship_says_so_on_the_handheld_tty_and_plain():
    state = reship_state()
    assert state.reships == {"SO-1": "SF0000000007"}
    screen = TtyScreen(out=io.StringIO())
    screen.state = state
    rows = plain_text(screen.render(WIDTH, HEIGHT)).split("\n")
    assert any(r.strip() == "RE-SHIP of SF0000000007" for r in rows[:4]), rows[:4]
    assert len(rows) == HEIGHT and all(len(r) <= WIDTH for r in rows)
    screen.scan_result(False, "Wrong location LE-09. Go to E-01-02", "wrong_location")
    wrong = plain_text(screen.render(WIDTH, HEIGHT)).split("\n")
    assert any("RE-SHIP of SF0000000007" in r for r in wrong[:4]), wrong[:4]
    out = io.StringIO()
    plain = PlainScreen(out=out, name="picker-e1")
    plain.show(state)
    assert "[RE-SHIP of SF0000000007] 0/1 | GO TO E-01-02" in out.getvalue()
    # An ordinary list shows no such line.
    plain.show(picking_state())
    assert "RE-SHIP" not in out.getvalue().splitlines()[-1]


def _judge(state, code: str):
    """The verdict the device gives alone (offline) on one scan."""
    return picking.judge_screen(state, code, scan_keys(code)[1], True, None)


def test_on_a_cart_only_the_reships_tote_says_so_and_offline_judging_keeps_it():
    state = reship_state(at_location=True, orders=("SO-1", "SO-2"))
    assert state.screen == "pick_item" and state.order_id == "SO-1"
    out = io.StringIO()
    plain = PlainScreen(out=out)
    plain.show(state)
    assert "[RE-SHIP of SF0000000007]" in out.getvalue()
    # The device judges the scans alone (offline): the screens it draws keep the marker.
    after = _judge(state, "4006381333931").state
    assert after.screen == "pick_put" and after.reships == state.reships
    after = _judge(after, "TOTE-7").state
    assert after.order_id == "SO-2" and after.reships == state.reships
    plain.show(after)
    assert "RE-SHIP" not in out.getvalue().splitlines()[-1]  # SO-2's step: ordinary work
    after = _judge(after, "LE-01-02").state
    after = _judge(after, "4006381333931").state
    after = _judge(after, "TOTE-8").state
    assert after.screen == "pick_done" and after.reships == state.reships
    plain.show(after)
    assert "[RE-SHIP of SF0000000007 (SO-1)]" in out.getvalue().splitlines()[-1]


@pytest.mark.parametrize("size", [(48, 16), (40, 12), (60, 20)])
def test_a_wrong_scan_keeps_its_message_and_what_is_still_asked_on_a_small_screen(size):
    """docs/protocol.md: the red screen shows the message whole and "Still: " with the
    instruction; on a short screen the block letters shrink first."""
    width, height = size
    screen = TtyScreen(out=io.StringIO())
    screen.state = picking_state()
    screen.scan_result(
        False, "Wrong bin: LE-09 is another location. Go to E-01-02", "wrong_location"
    )
    text = seen(screen, width, height)
    assert len(text.split("\n")) == height
    assert "Wrong bin: LE-09" in text and "Still:" in text, text
    headline = ("\n".join(big_line(h)) for h in ("WRONG BIN", "WRONG"))
    assert "WRONG BIN" in text or any(h in text for h in headline)  # big, or one bold line
