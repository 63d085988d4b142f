"""Reading the server's settings: a config file that is missing, not TOML, or names a key no
setting has, and a value that is not valid, are refused with what is wrong."""

from __future__ import annotations

import pytest

from server.config import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _no_config(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    for name in ("SCANFLOOR_DATA_DIR", "SCANFLOOR_HTTP__PORT", "SCANFLOOR_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_a_config_file_named_but_missing_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="config file .*nope.toml not found"):
        load_settings(tmp_path / "nope.toml")


def test_scanfloor_config_naming_no_file_reads_none(tmp_path):
    # $SCANFLOOR_CONFIG (and config/server.toml) are read when they exist: the defaults else.
    assert load_settings().http.port == 8800


def test_a_file_that_is_not_toml_is_refused_with_its_line(tmp_path):
    path = tmp_path / "server.toml"
    path.write_text('data_dir = "x"\n[http\nport = 1\n')
    with pytest.raises(SettingsError, match=r"server.toml is not valid TOML: .*line 2"):
        load_settings(path)


@pytest.mark.parametrize(
    "text, key",
    [
        ("[http]\nprot = 9000\n", "http.prot"),
        ("dta_dir = 'x'\n", "dta_dir"),
        ("[carriers.local]\ncutof = '17:00'\n", "carriers.local.cutof"),
        ("[[boxes]]\ncode='S'\nbarcode='B'\nlength_mm=1\nwidth_mm=1\nheight_mm=1\n"
         "max_weight_g=1\ntare_g=0\ncolour='red'\n", "boxes.0.colour"),
    ],
)  # fmt: skip
def test_an_unknown_key_in_the_file_is_refused(tmp_path, text, key):
    path = tmp_path / "server.toml"
    path.write_text(text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert f"  {key}: not a setting" in str(caught.value)


def test_an_unknown_key_under_a_table_in_the_environment_is_refused(monkeypatch):
    monkeypatch.setenv("SCANFLOOR_HTTP__PROT", "9000")
    with pytest.raises(SettingsError, match="http.prot: not a setting"):
        load_settings()


def test_other_scanfloor_variables_are_not_settings(monkeypatch):
    monkeypatch.setenv("SCANFLOOR_PASSWORD", "a long password")
    monkeypatch.setenv("SCANFLOOR_API_KEY", "sfk_x")
    assert load_settings().http.port == 8800


def test_a_bad_value_names_its_key_and_value(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_HTTP__PORT", "abc")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("bad settings (SCANFLOOR_* variables):")
    assert "http.port: Input should be a valid integer" in message and "'abc'" in message
    assert "Traceback" not in message and "errors.pydantic.dev" not in message


def test_a_bad_secret_is_not_printed_back(monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CARRIERS__LOCAL__EVENTS_SECRET", "whsec_not-base64-at-all")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert "carriers.local.events_secret: events_secret is whsec_" in str(caught.value)
    assert "not-base64-at-all" not in str(caught.value)


def test_the_shipped_config_has_no_unknown_key(monkeypatch):
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[2] / "config" / "server.toml"
    assert load_settings(shipped).http.port == 8800


def test_a_value_the_message_names_is_not_said_twice(monkeypatch):
    monkeypatch.setenv("SCANFLOOR_DATABASE_URL", "mysql://x")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value).count("'mysql://x'") == 1
