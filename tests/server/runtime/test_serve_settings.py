"""`scanfloor-server` and `scanfloor worker` refuse to start on settings they cannot use: they
say what is wrong on one line per problem (no traceback), exit 2 and start nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.demo.procs import free_port

REPO = Path(__file__).resolve().parents[3]
PROGRAMS = {
    "scanfloor-server": ["-m", "server.runtime.serve", "--host", "127.0.0.1"],
    "scanfloor worker": ["-m", "server.runtime.worker"],
}


def _start(program: str, config: Path, data: Path, env: dict[str, str] | None = None):
    port = ["--port", str(free_port())] if program == "scanfloor-server" else []
    return subprocess.run(
        [sys.executable, *PROGRAMS[program], "--config", str(config), "--data-dir", str(data)]
        + port,
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,  # a process that starts serving instead of refusing fails the test here
    )


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize(
    "text, said",
    [
        (None, "config file {config} not found"),
        ("[http\nport = 1\n", "config file {config} is not valid TOML: "),
        ("[http]\nprot = 9000\n", "bad settings ({config} and SCANFLOOR_* variables):\n"
         "  http.prot: not a setting"),
        ("[http]\nport = 'abc'\n", "  http.port: Input should be a valid integer"),
        ("[worker]\nnice = 40\n", "  worker.nice: Input should be less than or equal to 19"),
    ],
)  # fmt: skip
def test_bad_settings_stop_the_process_at_start(tmp_path, program, text, said):
    config = tmp_path / "server.toml"
    if text is not None:
        config.write_text(text)
    data = tmp_path / "data"
    done = _start(program, config, data)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"{program}: ")
    assert said.format(config=config) in done.stderr
    assert "Traceback" not in done.stderr and "serving on" not in done.stdout + done.stderr
    assert not data.exists()  # nothing made


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_bad_variable_stops_the_process_at_start(tmp_path, program):
    config = tmp_path / "server.toml"
    config.write_text("")
    done = _start(program, config, tmp_path / "data", {"SCANFLOOR_LOGIN__ATTEMPTS": "0"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert "  login.attempts: Input should be greater than or equal to 1 (got '0')" in done.stderr
