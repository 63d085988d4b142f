"""After `make demo-serve`: the API key and the commands that put work on the board, with a
data dir the CLI really finds (`demo-out/latest/data`)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

from scripts.demo import run
from scripts.demo.__main__ import _put_work

REPO = Path(__file__).resolve().parents[2]


def test_demo_serve_prints_the_api_key_and_commands_that_find_the_demos_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = Path("demo-out") / "20261203-101500"
    out.mkdir(parents=True)
    said: list[str] = []
    run.seed_only(out, 7, 3, say=said.append)
    key = next(m.group(1) for s in said if (m := re.search(r"API key: (\S+)", s)))
    floor = run.Floor(out=out, port=8123)
    floor.api.headers["Authorization"] = f"Bearer {key}"

    lines = _put_work(out, floor)
    assert lines[0] == f"API key: {key}"
    assert Path("demo-out/latest").resolve() == out.resolve()
    cli = next(line for line in lines if "scanfloor import" in line)
    assert "--data-dir demo-out/latest/data" in cli
    assert any(f"Bearer {key}" in line and "/api/orders" in line for line in lines)
    # The printed data dir is the demo's: the CLI finds its database and its orders.
    allocate = shlex.split(cli.split("&&")[1])
    assert allocate[0] == ".venv/bin/scanfloor"
    done = subprocess.run(
        [sys.executable, "-m", "server.cli.main", *allocate[1:]],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "no database" not in done.stdout + done.stderr
    keys = subprocess.run(
        [sys.executable, "-m", "server.cli.main", "api-key", "list", "--data-dir",
         "demo-out/latest/data"],
        capture_output=True, text=True, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert keys.returncode == 0 and "demo" in keys.stdout, keys.stderr
