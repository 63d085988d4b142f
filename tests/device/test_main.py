"""`scanfloor-device` itself (device/main.py), as a real process: a config it cannot run on
stops it at once saying what is wrong (exit status 2), never a traceback, and it
does not start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_device(tmp_path: Path, body: str, *args: str) -> subprocess.CompletedProcess:
    config = tmp_path / "device.toml"
    config.write_text('[device]\ntoken = "abcdefgh12"\nscreen = "plain"\n' + body)
    return subprocess.run(
        [sys.executable, "-m", "device.main", "--config", str(config), *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,  # a device that started would run until stopped: this fails then
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('server = "ftp//10.0.0.2"\n', "server"),
        ("[simulate]\nenabled = true\n", "outside [device]: simulate"),
        ('printer = "tcp://127.0.0.1:9100?timeout=-1"\n', "timeout='-1' must be above 0"),
    ],
    ids=["server-url", "table-beside-device", "printer-timeout"],
)
def test_a_bad_config_stops_the_device_with_its_reason(
    tmp_path: Path, body: str, said: str
) -> None:
    done = run_device(tmp_path, f'data_dir = "{tmp_path / "data"}"\n' + body)
    assert done.returncode == 2, done.stderr
    assert said in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "data").exists()  # nothing made: no journal


def test_a_data_dir_that_cannot_be_made_stops_the_device(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run_device(tmp_path, f'data_dir = "{blocker / "journal"}"\n')
    assert done.returncode == 2, done.stderr
    assert "cannot open the scan journal" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("level", ["bogus", "verbose"])
def test_an_unknown_log_level_is_refused_by_the_option_parser(tmp_path: Path, level: str) -> None:
    config = tmp_path / "device.toml"
    config.write_text('[device]\ntoken = "abcdefgh12"\n')
    done = subprocess.run(
        [sys.executable, "-m", "device.main", "--config", str(config), "--log-level", level],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--log-level: invalid choice" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_log_level_is_taken_in_any_case(tmp_path: Path) -> None:
    # A config error after the option is parsed: the level itself was taken.
    done = run_device(tmp_path, "reply_timeout = 0\n", "--log-level", "info")
    assert done.returncode == 2 and "reply_timeout" in done.stderr
    assert "Traceback" not in done.stderr
