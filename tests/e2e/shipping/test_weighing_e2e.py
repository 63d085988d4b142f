"""Weighing end to end, all real: a server process, device processes with serial scanners on
pseudo-terminals, and a serial scale on another pseudo-terminal sending continuous frames
(timeouts are generous: the machine running the suite may be busy).
A wrong weight holds the package (the supervisors' REST list shows it); weighed again
right, it is packed."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty

import pytest
import requests
from floorkit import order_body, small_catalogue
from serialkit import Worker, device_config

from scripts.demo import procs
from server.core.schemas import CatalogueIn
from server.inventory import catalogue
from server.people import auth
from server.store import open_store

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]

BOXES = """
[[boxes]]
code = "S"
barcode = "BOX-S"
length_mm = 250
width_mm = 180
height_mm = 100
max_weight_g = 5000
tare_g = 120
"""


class PtyScale:
    """A bench scale in continuous mode on a pty: sends its current frame every 20 ms."""

    def __init__(self) -> None:
        self.master, self.slave = pty.openpty()
        tty.setraw(self.slave)
        self.name = os.ttyname(self.slave)
        self.frame = b"ST,GS,+0000.00kg\r\n"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                os.write(self.master, self.frame)
            except OSError:
                return
            time.sleep(0.02)

    def put(self, kg: float) -> None:
        self.frame = f"US,GS,{kg:+08.2f}kg\r\n".encode()  # settling first
        time.sleep(0.1)
        self.frame = f"ST,GS,{kg:+08.2f}kg\r\n".encode()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(1)
        os.close(self.master)
        os.close(self.slave)


def test_a_wrong_weight_is_held_and_weighed_again(tmp_path, server_proc):
    data = tmp_path / "data"
    store = open_store(data / "scanfloor.db")
    catalogue.load(store, CatalogueIn.model_validate(small_catalogue()))
    key = auth.create_api_key(store, "e2e")
    picker_token = auth.create_device(store, "picker-e1", "picker", "WH-EAST")
    packer_token = auth.create_device(store, "packer-e1", "packer", "WH-EAST")
    store.close()
    config = tmp_path / "server.toml"
    config.write_text(BOXES)
    base = server_proc(data, env={"SCANFLOOR_CONFIG": str(config)})
    headers = {"Authorization": f"Bearer {key}"}
    r = requests.post(
        f"{base}/api/orders",
        json=order_body("e2e-w", [("SKU-A", 2), ("SKU-B", 1)]),  # 2 × 350 g + 20 g
        headers=headers,
        timeout=10,
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]

    scale = PtyScale()
    devices = []
    try:
        (tmp_path / "dev").mkdir()
        workers = {}
        for name, token, role in [
            ("picker-e1", picker_token, "picker"),
            ("packer-e1", packer_token, "packer"),
        ]:
            master, slave = pty.openpty()
            path = tmp_path / "dev" / f"{name}.toml"
            cfg = device_config(
                path, name, base, token, os.ttyname(slave), "fake://" if role == "packer" else None
            )
            if role == "packer":
                with cfg.open("a") as f:
                    f.write(f'scale = "serial://{scale.name}?baud=9600"\nscale_wait = 2\n')
            devices.append(procs.start_device(cfg, tmp_path / "logs" / f"{name}.log"))
            workers[role] = Worker(base, headers, name, master)
        picker, packer = workers["picker"], workers["packer"]
        picker.wait_screen("pick_tote", timeout=30)
        picker.scan("TOTE-0042", timeout=30)
        while (state := picker.state())["screen"] in ("pick_location", "pick_item"):
            picker.scan(state["expect"]["barcodes"][0], timeout=30)

        packer.wait_screen("pack_start", timeout=30)
        packer.scan("TOTE-0042", timeout=30)
        while (state := packer.state())["screen"] == "pack_verify":
            assert state["box"] == "S"
            packer.scan(state["expect"]["barcodes"][0], timeout=30)
        assert state["screen"] == "pack_label" and state["expected_weight_g"] == 720 + 120
        tracking = state["expect"]["barcodes"][0]

        scale.put(1.42)  # something extra in the box
        packer.scan(tracking, timeout=30)
        state = packer.wait_screen("pack_check", timeout=30)
        assert state["instruction"] == "Weight 1.42 kg, expected 0.84 kg ± 0.05: check the items"
        held = requests.get(f"{base}/api/packages/held", headers=headers, timeout=5).json()
        assert [p["measured_g"] for p in held["packages"]] == [1420]

        scale.put(0.85)  # repacked
        packer.scan(tracking, timeout=30)
        packer.wait_screen("pack_start", timeout=30)
        final = requests.get(f"{base}/api/orders/{order_id}", headers=headers, timeout=5).json()
        assert final["status"] == "packed"
        held = requests.get(f"{base}/api/packages/held", headers=headers, timeout=5).json()
        assert held["packages"] == []
    finally:
        for proc in devices:
            procs.stop(proc)
        scale.stop()
    log = (tmp_path / "logs" / "packer-e1.log").read_text()
    assert "Traceback" not in log, log
