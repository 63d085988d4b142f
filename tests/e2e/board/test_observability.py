"""The real server process: JSON log lines when asked, and /metrics for Prometheus."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.e2e, pytest.mark.server_alone]


def test_json_logs_and_metrics_from_the_real_server(tmp_path, server_proc):
    base = server_proc(tmp_path, env={"SCANFLOOR_LOG_FORMAT": "json"})
    with urllib.request.urlopen(base + "/metrics", timeout=5) as resp:
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"scanfloor_scans", "scanfloor_scan_seconds", "scanfloor_outbox_events"} <= names
    assert {"scanfloor_devices_connected", "scanfloor_board_clients"} <= names
    assert "scanfloor_sqlite_commit_seconds" in names

    # The access log line is written after the response has gone out, and SIGTERM ends the
    # process at once: stop only once the line is in the log, or a loaded machine loses it.
    deadline = time.monotonic() + 10
    while "GET /metrics" not in server_proc.log(base):
        assert time.monotonic() < deadline, server_proc.log(base)[-2000:]
        time.sleep(0.05)
    server_proc.stop(base)
    lines = [json.loads(line) for line in server_proc.log(base).splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    for line in lines:
        assert {"time", "level", "logger", "message"} <= line.keys(), line
    assert any(line["logger"] == "scanfloor" and "serving on" in line["message"] for line in lines)
    # config/server.toml ships secret_key = "change-me": the server says so at start.
    assert any(
        line["level"] == "WARNING"
        and 'secret_key is the example value "change-me"' in line["message"]
        for line in lines
    )
    assert any("GET /metrics" in line["message"] for line in lines)
