"""The device's config file (device/config.py): a value the device cannot use is refused when
the file is read, naming the key, so the device never starts on it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from device.config import load_device_settings

TOKEN = 'token = "abcdefgh12"\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "device.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "table", ["[simulate]\nenabled = true\n", "[devices]\nname = 'x'\n", "[device2]\n"]
)
def test_a_table_beside_device_is_refused_not_skipped(tmp_path: Path, table: str) -> None:
    path = write(tmp_path, "[device]\n" + TOKEN + table)
    with pytest.raises(ValueError, match=r"unknown key\(s\) outside \[device\]"):
        load_device_settings(path)


def test_a_key_beside_device_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, 'screen = "plain"\n[device]\n' + TOKEN)
    with pytest.raises(ValueError, match=r"outside \[device\]: screen"):
        load_device_settings(path)


def test_device_simulate_is_the_place_for_simulate(tmp_path: Path) -> None:
    path = write(tmp_path, "[device]\n" + TOKEN + "[device.simulate]\nseed = 1\n")
    assert load_device_settings(path).simulate.seed == 1


def test_a_file_without_the_device_table_is_read_as_its_keys(tmp_path: Path) -> None:
    assert load_device_settings(write(tmp_path, TOKEN + 'name = "p"\n')).name == "p"


@pytest.mark.parametrize(
    "server",
    ["ftp//x", "10.0.0.2:8800", "ws://10.0.0.2:8800", "http://", "http://10.0.0.2:port"],
)
def test_a_server_that_is_no_http_url_is_refused(tmp_path: Path, server: str) -> None:
    path = write(tmp_path, f'[device]\n{TOKEN}server = "{server}"\n')
    with pytest.raises(ValidationError, match="server"):
        load_device_settings(path)


@pytest.mark.parametrize(
    "server", ["http://10.0.0.2:8800", "https://scanfloor.example.com", "HTTP://[::1]:8800/"]
)
def test_http_and_https_servers_are_taken(tmp_path: Path, server: str) -> None:
    path = write(tmp_path, f'[device]\n{TOKEN}server = "{server}"\n')
    assert load_device_settings(path).server == server


@pytest.mark.parametrize("value", [0, -1])
def test_reply_timeout_must_be_above_zero(tmp_path: Path, value: int) -> None:
    path = write(tmp_path, f"[device]\n{TOKEN}reply_timeout = {value}\n")
    with pytest.raises(ValidationError, match="reply_timeout"):
        load_device_settings(path)


@pytest.mark.parametrize("token", ["short", "x" * 201])
def test_a_token_the_connect_cannot_carry_is_refused(tmp_path: Path, token: str) -> None:
    # The server's connect auth takes 8 to 200 characters: any other token could never connect.
    path = write(tmp_path, f'[device]\ntoken = "{token}"\n')
    with pytest.raises(ValidationError, match="token"):
        load_device_settings(path)
