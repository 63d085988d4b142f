"""The floor's own labels: every kind renders, scans back to its barcode, and reaches a printer."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from floorkit import small_catalogue

from device.sim.label_preview import decode_png, render_png
from device.sim.zpl_printer import ZplPrinterSim
from server.cli.main import main
from server.floor.domain import floor_labels as fl
from server.floor.printers import PrinterUnreachable, parse_printer_url, send_raw
from shared.commands import CARDS, read_card

pytest.importorskip("zplkit", reason="zplkit renders labels in tests (dev extra)")
pytest.importorskip("zxingcpp", reason="zxing-cpp decodes labels in tests (dev extra)")

SAMPLES = [
    fl.totes(7, 7)[0],
    fl.totes(12345678, 12345678)[0],
    fl.bin_label("WH-EAST", "E-01-02", "LE-01-02", "pick"),
    fl.bin_label("WH-EAST", "A-01-01", "A-01-01"),
    fl.bin_label("WH-X", "B_1", "B>1^2~3_4\\5"),  # every character ZPL treats specially
    *fl.commands(found_up_to=2),
    fl.badge("Ada O'Brien"),
]


def scanned(zpl: str, dpi: int) -> list[tuple[str, str]]:
    return decode_png(render_png(zpl, dpi))


@pytest.mark.parametrize("size", list(fl.SIZES))
@pytest.mark.parametrize("dpi", fl.SUPPORTED_DPI)
@pytest.mark.parametrize("label", SAMPLES, ids=lambda x: x.barcode)
def test_every_label_scans_back_to_its_barcode(label, size, dpi):
    zpl = fl.render(label, size, dpi)
    w, h = fl.SIZES[size]
    assert zpl.startswith("^XA\n^CI28\n") and zpl.endswith("^XZ\n")
    assert f"^PW{w * dpi}" in zpl and f"^LL{h * dpi}" in zpl
    assert "~" not in zpl  # no control command can hide in a label
    assert scanned(zpl, dpi) == [("Code 128", label.barcode)]


def test_what_each_kind_holds():
    assert [x.barcode for x in fl.totes(1, 3)] == ["TOTE-1", "TOTE-2", "TOTE-3"]
    assert fl.totes(7, 7, digits=4)[0].barcode == "TOTE-0007"
    cards = fl.commands(found_up_to=3)
    assert [c.barcode for c in cards] == [
        *(c.barcode for c in CARDS),
        "CMD-COUNT-1",
        "CMD-COUNT-2",
        "CMD-COUNT-3",
    ]
    assert all(read_card(c.barcode) for c in cards)
    assert "CALL A SUPERVISOR" in fl.render(next(c for c in cards if c.barcode == "CMD-HELP"))
    assert fl.badge("  Ada   Lovelace ").barcode == "BADGE-Ada Lovelace"
    zpl = fl.render(fl.bin_label("WH-EAST", "E-01-02", "LE-01-02", "pick"))
    assert "E-01-02" in zpl and "WH-EAST · zone pick · LE-01-02" in zpl


@pytest.mark.parametrize(
    "make",
    [
        lambda: fl.totes(5, 4),
        lambda: fl.totes(0, 10**8),
        lambda: fl.totes(1, 2, digits=9),
        lambda: fl.badge(""),
        lambda: fl.badge("ada^XZ"),
        lambda: fl.badge("-ada"),
        lambda: fl.badge("a" * 33),
        lambda: fl.bin_label("WH", "A", "é"),
        lambda: fl.render(fl.totes(1, 1)[0], "3x2"),
        lambda: fl.render(fl.totes(1, 1)[0], dpi=600),
        lambda: fl.render(fl.bin_label("WH", "A", "X" * 64), "2x1"),  # too wide for 2 inches
    ],
)
def test_impossible_labels_are_refused(make):
    with pytest.raises(ValueError):
        make()


def test_the_longest_bin_barcode_fits_a_4x6_label():
    label = fl.bin_label("WH", "A", "X" * 64)
    assert scanned(fl.render(label, "4x6"), 203) == [("Code 128", "X" * 64)]


# ---------------------------------------------------------------- the CLI


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    monkeypatch.delenv("SCANFLOOR_DATA_DIR", raising=False)

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def formats(zpl: str) -> list[str]:
    return [f + "^XZ\n" for f in zpl.split("^XZ\n") if f.strip()]


def test_totes_to_a_file(run, tmp_path):
    out = tmp_path / "totes.zpl"
    result = run("labels", "totes", "--from", "1", "--to", "50", "--size", "2x1", "-o", str(out))
    assert result.exit_code == 0, result.output
    labels = formats(out.read_text())
    assert len(labels) == 50
    assert scanned(labels[0], 203) == [("Code 128", "TOTE-1")]
    assert scanned(labels[-1], 203) == [("Code 128", "TOTE-50")]


def test_commands_and_badges_to_stdout(run):
    result = run("labels", "commands", "--dpi", "300")
    assert result.exit_code == 0
    labels = formats(result.stdout)
    assert len(labels) == len(CARDS) + 5
    got = [scanned(z, 300)[0][1] for z in labels]
    assert got == [c.barcode for c in fl.commands()]
    result = run("labels", "badges", "Ada", "Grace Hopper")
    assert [scanned(z, 203)[0][1] for z in formats(result.stdout)] == [
        "BADGE-Ada",
        "BADGE-Grace Hopper",
    ]
    assert run("labels", "badges", "x^XZ").exit_code != 0


def test_bins_from_the_locations_table(run, tmp_path):
    data = ["--data-dir", str(tmp_path / "data")]
    assert run("labels", "bins", *data).exit_code != 0  # no database yet
    assert run("init", *data).exit_code == 0
    cat = tmp_path / "catalogue.json"
    cat.write_text(json.dumps(small_catalogue()))
    assert run("import", str(cat), *data).exit_code == 0
    every = formats(run("labels", "bins", *data).stdout)
    assert len(every) == 8
    east = formats(run("labels", "bins", "--warehouse", "WH-EAST", *data).stdout)
    assert [scanned(z, 203)[0][1] for z in east] == [
        "LE-01-01",
        "LE-01-02",
        "LE-02-01",
        "LE-02-02",
    ]
    aisle = formats(run("labels", "bins", "--warehouse", "WH-WEST", "--aisle", "2", *data).stdout)
    assert [scanned(z, 203)[0][1] for z in aisle] == ["LW-02-01", "LW-02-02"]
    nothing = run("labels", "bins", "--warehouse", "WH-NOPE", *data)
    assert nothing.exit_code == 1 and "unknown warehouse WH-NOPE" in nothing.output
    empty = run("labels", "bins", "--warehouse", "WH-WEST", "--aisle", "9", *data)
    assert empty.exit_code != 0 and "no labels" in empty.output  # a known warehouse, no bins


def test_labels_go_to_a_printer_on_loopback(run):
    with ZplPrinterSim() as printer:
        result = run("labels", "totes", "--from", "3", "--to", "5", "--printer", printer.url)
        assert result.exit_code == 0, result.output
        got = printer.wait_for_labels(3)
    assert len(got) == 3
    assert [scanned(z.decode(), 203)[0][1] for z in got] == ["TOTE-3", "TOTE-4", "TOTE-5"]
    assert b"".join(z + b"\n" for z in got).decode() == fl.render_all(fl.totes(3, 5))


def test_a_printer_that_is_off_is_reported_and_nothing_claims_success(run):
    with ZplPrinterSim() as printer:
        url = printer.url
        printer.refuse_connections = True
        result = run("labels", "commands", "--printer", url)
    assert result.exit_code != 0
    assert "nothing was printed" in result.output and "sent" not in result.output
    with pytest.raises(PrinterUnreachable):
        send_raw(url, b"^XA^XZ", timeout=1)


@pytest.mark.parametrize(
    "url", ["http://host:9100", "tcp://", "tcp://host:0", "tcp://host:99999", "tcp://h/x", "host"]
)
def test_printer_urls(url):
    assert parse_printer_url("tcp://10.0.0.5") == ("10.0.0.5", 9100)
    assert parse_printer_url("tcp://printer-3:6101") == ("printer-3", 6101)
    with pytest.raises(ValueError):
        parse_printer_url(url)


def test_out_and_printer_together_is_a_usage_error(run, tmp_path):
    result = run("labels", "totes", "--from", "1", "--to", "1", "-o", str(tmp_path / "x"),
                 "--printer", "tcp://127.0.0.1:9100")  # fmt: skip
    assert result.exit_code == 2
