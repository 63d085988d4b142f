"""The files a real device is set up with (example config, systemd unit, udev rule), and the
site's worker unit."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from device.config import DeviceSettings, SimulateSettings, load_device_settings
from device.drivers import open_printer, open_scanner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config" / "device.example.toml"
UNIT = ROOT / "config" / "systemd" / "scanfloor-device.service"
RULES = ROOT / "config" / "udev" / "99-scanfloor-scanner.rules"
SETUP_DOC = ROOT / "docs" / "device-setup.md"
INSTALLED_EXEC = "/opt/scanfloor/.venv/bin/scanfloor-device"
WORKER_UNIT = ROOT / "config" / "systemd" / "scanfloor-worker.service"
WORKER_EXEC = "/opt/scanfloor/.venv/bin/scanfloor"
SCALING_DOC = ROOT / "docs" / "scaling.md"


# -- config/device.example.toml ----------------------------------------------


def test_example_config_loads() -> None:
    settings = load_device_settings(EXAMPLE)
    assert settings.name == "picker-1" and settings.scanner == "stdin://"
    assert str(settings.data_dir) == "/var/lib/scanfloor-device"  # the unit's StateDirectory
    assert settings.printer is None and not settings.simulate.enabled


def test_every_setting_is_documented_in_the_example() -> None:
    text = EXAMPLE.read_text()
    assert "\n[device.simulate]\n" in text
    keys = [k for k in DeviceSettings.model_fields if k != "simulate"]
    for key in [*keys, *SimulateSettings.model_fields]:
        assert re.search(rf"^#? ?{key} = ", text, re.M), f"{key} missing from {EXAMPLE.name}"


def _documented_urls(scheme_kind: str) -> list[str]:
    text = EXAMPLE.read_text()
    block = text.split(f"\n{scheme_kind} = ")[0].rsplit("\n\n", 1)[-1]
    return re.findall(r"((?:evdev|serial|stdin|fake|tcp|file|cups)://[^\s`\"]*)", block)


def test_every_scanner_url_in_the_example_is_accepted() -> None:
    urls = _documented_urls("scanner")
    assert len(urls) >= 6
    for url in urls:
        if url == "stdin://":
            continue  # reads the test runner's stdin; tested in test_scanners.py
        scanner = open_scanner(url)  # absent devices are polled for, not an error
        scanner.close()


def test_every_printer_url_in_the_example_is_accepted() -> None:
    urls = _documented_urls("# printer")
    assert {u.split(":")[0] for u in urls} >= {"tcp", "file", "serial", "cups", "fake"}
    for url in urls:
        open_printer(url.replace("QUEUE", "zebra").replace("NAME", "pack-1")).close()


# -- the systemd unit ----------------------------------------------------------


def unit_settings(text: str) -> dict[str, dict[str, list[str]]]:
    """Sections of a unit file, each key with all its values in order."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            assert line.endswith("]"), line
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"bad unit line: {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_unit_structure() -> None:
    unit = unit_settings(UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["Restart"] == ["always"]
    assert service["User"] == ["scanfloor"] and service["Group"] == ["scanfloor"]
    assert service["ExecStart"][0].split()[0] == INSTALLED_EXEC
    assert "--config /etc/scanfloor/device.toml" in service["ExecStart"][0]
    assert "network-online.target" in unit["Unit"]["After"][0].split()
    assert "network-online.target" in unit["Unit"]["Wants"][0].split()
    assert service["ProtectSystem"] == ["strict"] and service["NoNewPrivileges"] == ["yes"]
    # With ProtectSystem=strict the journal must live in the state directory.
    assert service["StateDirectory"] == ["scanfloor-device"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_worker_unit_structure() -> None:
    unit = unit_settings(WORKER_UNIT.read_text())
    assert set(unit) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    assert service["Restart"] == ["always"] and unit["Unit"]["StartLimitIntervalSec"] == ["0"]
    assert service["User"] == ["scanfloor"] and service["Group"] == ["scanfloor"]
    command = service["ExecStart"][0].split()
    assert command[:2] == [WORKER_EXEC, "worker"]
    assert command[2:] == ["--config", "/etc/scanfloor/server.toml"]
    assert service["ProtectSystem"] == ["strict"] and service["NoNewPrivileges"] == ["yes"]
    # With ProtectSystem=strict the database must live in the state directory.
    assert service["StateDirectory"] == ["scanfloor"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_worker_unit_runs_a_command_that_exists() -> None:
    """`scanfloor worker --config ...` is a command of the CLI, and the worker takes --config."""
    from click.testing import CliRunner

    from server.cli.main import main

    assert "worker" in main.commands
    helped = subprocess.run(
        [sys.executable, "-m", "server.runtime.worker", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert helped.returncode == 0 and "--config" in helped.stdout and "--data-dir" in helped.stdout
    assert CliRunner().invoke(main, ["--help"]).output.count("worker") >= 1


def test_worker_setting_and_unit_are_documented() -> None:
    from server.config import WorkerSettings

    doc = SCALING_DOC.read_text()
    assert "## The worker" in doc and str(WORKER_UNIT.relative_to(ROOT)) in doc
    assert "journalctl -u scanfloor-worker" in doc
    for key in WorkerSettings.model_fields:
        assert f"`{key}`" in doc, key
    assert "with_server = false" in WORKER_UNIT.read_text()


@pytest.mark.parametrize(
    ("path", "installed"),
    [(UNIT, INSTALLED_EXEC), (WORKER_UNIT, WORKER_EXEC)],
    ids=["device", "worker"],
)
def test_unit_verifies_with_systemd_analyze(tmp_path: Path, path: Path, installed: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    # verify checks that ExecStart exists: point it at an executable that does.
    text = path.read_text().replace(installed, shutil.which("true") or "/bin/true")
    copy = tmp_path / path.name
    copy.write_text(text)
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
    # Unknown keys and bad values are only warnings (exit 0): any output is a failure.
    problems = [line for line in done.stderr.splitlines() if str(copy) in line or "Unknown" in line]
    assert done.returncode == 0 and problems == [], done.stderr


def test_systemd_analyze_would_catch_a_typo(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    bad = tmp_path / "bad.service"
    bad.write_text("[Service]\nExecStart=/bin/true\nRestart=sometimes\n")
    done = subprocess.run([analyze, "verify", str(bad)], capture_output=True, text=True)
    assert "Restart" in done.stderr or "restart" in done.stderr


# -- the udev rule -------------------------------------------------------------

_PAIR = re.compile(r'\s*([A-Z_]+(?:\{[^}]+\})?)\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"\s*(?:,|$)')
_MATCH_KEYS = {"ACTION", "SUBSYSTEM", "KERNEL", "ATTRS", "ENV", "SUBSYSTEMS"}
_ASSIGN_KEYS = {"GROUP", "MODE", "SYMLINK", "OWNER", "TAG"}


def udev_rules(text: str) -> list[list[tuple[str, str, str]]]:
    """Each rule line as (key, operator, value) triples; fails on anything unparsable."""
    rules = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        pairs, pos = [], 0
        while pos < len(line):
            m = _PAIR.match(line, pos)
            assert m, f"cannot parse udev rule at: {line[pos:]!r}"
            pairs.append(m.groups())
            pos = m.end()
        rules.append(pairs)
    return rules


def test_udev_rule_structure() -> None:
    rules = udev_rules(RULES.read_text())
    assert len(rules) == 2
    subsystems = set()
    for rule in rules:
        for key, op, _value in rule:
            base = key.split("{")[0]
            if base in _MATCH_KEYS:
                assert op in ("==", "!="), f"{key} must be matched with =="
            else:
                assert base in _ASSIGN_KEYS and op in ("=", "+="), f"{key}{op}"
        got = {key: value for key, _op, value in rule}
        subsystems.add(got["SUBSYSTEM"])
        assert re.fullmatch(r"[0-9a-f]{4}", got["ATTRS{idVendor}"])
        assert re.fullmatch(r"[0-9a-f]{4}", got["ATTRS{idProduct}"])
        assert got["MODE"] == "0660" and got["SYMLINK"] == "scanfloor-scanner"
        # The group the service runs in, so it can open and grab the scanner.
        assert got["GROUP"] == unit_settings(UNIT.read_text())["Service"]["Group"][0]
    assert subsystems == {"input", "tty"}
    assert "udevadm info" in RULES.read_text()


def test_udev_rule_verifies_with_udevadm() -> None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("udevadm is not installed")
    probe = subprocess.run([udevadm, "verify", "--help"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("this udevadm has no 'verify' (systemd 253 or newer has it)")
    done = subprocess.run([udevadm, "verify", str(RULES)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_setup_doc_names_the_files_it_installs() -> None:
    doc = SETUP_DOC.read_text()
    for path in (EXAMPLE, UNIT, RULES):
        assert str(path.relative_to(ROOT)) in doc
    assert "/dev/scanfloor-scanner" in doc and "journalctl -u scanfloor-device" in doc
