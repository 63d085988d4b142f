"""The floor end to end, all real: server and device processes, a serial scanner on a
pseudo-terminal, labels over TCP to a listener, rendered to PNG and decoded back."""

from __future__ import annotations

import json
import os
import pty

import pytest
import requests
from floorkit import order_body, small_catalogue
from serialkit import Worker, device_config

from device.sim.zpl_printer import ZplPrinterSim
from scripts.demo import procs
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


def test_order_in_label_out(tmp_path, server_proc):
    zplkit = pytest.importorskip("zplkit", reason="zplkit renders labels in tests")  # noqa: F841
    from device.sim.label_preview import decode_png, render_png

    data = tmp_path / "data"
    store = open_store(data / "scanfloor.db")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    key = auth.create_api_key(store, "e2e")
    picker_token = auth.create_device(store, "picker-e1", "picker", "WH-EAST")
    packer_token = auth.create_device(store, "packer-e1", "packer", "WH-EAST")
    store.close()

    base = server_proc(data)
    headers = {"Authorization": f"Bearer {key}"}
    r = requests.post(
        f"{base}/api/orders",
        json=order_body("e2e-1", [("SKU-A", 2), ("SKU-B", 1)]),
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "allocated" and order["warehouse"] == "WH-EAST"

    printer = ZplPrinterSim(out_dir=tmp_path / "labels").start()
    devices = []
    workers = {}
    try:
        (tmp_path / "dev").mkdir()
        for name, token, role in [
            ("picker-e1", picker_token, "picker"),
            ("packer-e1", packer_token, "packer"),
        ]:
            master, slave = pty.openpty()
            label_printer = printer.url if role == "packer" else None
            path = tmp_path / "dev" / f"{name}.toml"
            cfg = device_config(path, name, base, token, os.ttyname(slave), label_printer)
            devices.append(procs.start_device(cfg, tmp_path / "logs" / f"{name}.log"))
            workers[role] = Worker(base, headers, name, master)

        picker, packer = workers["picker"], workers["packer"]
        state = picker.wait_screen("pick_tote", timeout=30)
        picker.scan("TOTE-0042")
        picker.scan("NOT-HERE")  # a wrong scan is refused and changes nothing
        assert picker.state()["screen"] == "pick_location"
        while (state := picker.state())["screen"] in ("pick_location", "pick_item"):
            picker.scan(state["expect"]["barcodes"][0])
        assert state["screen"] == "idle"

        packer.wait_screen("pack_start")
        packer.scan("TOTE-0042")
        while (state := packer.state())["screen"] == "pack_verify":
            packer.scan(state["expect"]["barcodes"][0])
        assert state["screen"] == "pack_label"

        # The label arrives on the TCP listener; render it and scan what the image holds.
        (label,) = printer.wait_for_labels(1, timeout=15)
        codes = dict((text, fmt) for fmt, text in decode_png(render_png(label)))
        pkg = requests.get(f"{base}/api/orders/{order['id']}", headers=headers, timeout=5).json()[
            "packages"
        ][0]
        assert pkg["tracking"] in codes, codes
        assert any(text.replace("(00)", "").endswith(pkg["sscc"]) for text in codes), codes
        packer.scan(pkg["tracking"])
        packer.wait_screen("pack_start")

        final = requests.get(f"{base}/api/orders/{order['id']}", headers=headers, timeout=5).json()
        assert final["status"] == "packed"
        assert [e["status"] for e in final["timeline"]][-1] == "packed"
        assert {"received", "allocated", "picking", "picked", "packed"} <= {
            e["status"] for e in final["timeline"]
        }
        stats = requests.get(f"{base}/api/stats", headers=headers, timeout=5).json()
        assert (
            stats["wrong_scans"] == 1
            and stats["labels_printed"] == 1
            and stats["packages_confirmed"] == 1
        )
        assert len(printer.labels) == 1  # printed exactly once
    finally:
        for proc in devices:
            procs.stop(proc)
        printer.stop()
    for name in ("picker-e1", "packer-e1"):
        log = (tmp_path / "logs" / f"{name}.log").read_text()
        assert "Traceback" not in log, log
    assert json.dumps(final)  # the order reads back as JSON
