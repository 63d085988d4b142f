"""Server logs: `log_format = "json"` writes one JSON object per line."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest
from pydantic import ValidationError

from server.config import Settings
from server.runtime import logs


@pytest.fixture
def capture() -> tuple[logging.Logger, io.StringIO]:
    """A logger writing JSON lines into a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("scanfloor.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, out
    logger.removeHandler(handler)


def test_a_json_line_has_time_level_logger_and_message(capture):
    logger, out = capture
    logger.info("device %s (%s) connected", "picker-1", "picker")
    logger.warning('a "quoted"\nmulti-line message')
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert first["level"] == "INFO" and first["logger"] == "scanfloor.test-logs"
    assert first["message"] == "device picker-1 (picker) connected"
    assert datetime.fromisoformat(first["time"]).utcoffset().total_seconds() == 0
    assert second["level"] == "WARNING" and second["message"] == 'a "quoted"\nmulti-line message'
    assert "exc" not in first


def test_an_exception_goes_in_the_same_line(capture):
    logger, out = capture
    try:
        raise RuntimeError("printer on fire")
    except RuntimeError:
        logger.exception("print failed")
    (line,) = out.getvalue().splitlines()
    got = json.loads(line)
    assert got["level"] == "ERROR" and got["message"] == "print failed"
    assert "RuntimeError: printer on fire" in got["exc"]


def test_log_format_is_a_setting_and_an_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(tmp_path / "no-such-config.toml"))
    assert Settings().log_format == "text"
    monkeypatch.setenv("SCANFLOOR_LOG_FORMAT", "json")
    assert Settings().log_format == "json"
    assert isinstance(logs.formatter(Settings().log_format), logs.JsonFormatter)
    monkeypatch.setenv("SCANFLOOR_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError):
        Settings()


@pytest.mark.parametrize(
    "secret, warned",
    [("change-me", True), ("short", True), ("c0ffee" * 8, False)],
)
def test_a_weak_secret_key_is_warned_about_at_start(tmp_path, caplog, secret, warned):
    from server.app import create_app

    settings = Settings(data_dir=tmp_path / "data", secret_key=secret)
    with caplog.at_level(logging.WARNING, logger="scanfloor"):
        app, _ = create_app(settings)
    app.extensions["store"].close()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("secret_key" in m and "SCANFLOOR_SECRET_KEY" in m for m in said) is warned, said
