"""Servers for load runs: a seeded site under the real server, or the bare echo, on a free loopback port."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from scripts.demo.procs import free_port, stop, wait_http
from scripts.load.floorsite import Site, seed_site

ROOT = Path(__file__).resolve().parents[2]  # the checkout (this file is in scripts/load/)


@contextlib.contextmanager
def running(
    cmd: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> Iterator[tuple[str, int]]:
    """Run a server command with `--port` added; yields (base URL, pid) once /api/health answers."""
    import os

    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        cwd=cwd,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", timeout=60, proc=proc)
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        stop(proc)


@contextlib.contextmanager
def serve_site(
    pickers: int,
    packers: int = 0,
    orders_per_picker: int = 40,
    extra_orders: int = 0,
    template: Path | None = None,
    env: dict[str, str] | None = None,
    code: Path = ROOT,
) -> Iterator[tuple[str, int, Site]]:
    """A fresh seeded site (or a copy of a seeded template folder) under the real server.

    `code`: the checkout whose server runs (another version's, for a side-by-side run).
    """
    work = Path(tempfile.mkdtemp(prefix="scanfloor-load-"))
    try:
        if template is not None:
            shutil.copytree(template.data_dir, work / "data")
            site = Site(work / "data", template.devices, template.orders)
        else:
            site = seed_site(
                work / "data", pickers, packers, pickers * orders_per_picker + extra_orders
            )
        cmd = [sys.executable, "-m", "server.runtime.serve", "--data-dir", str(site.data_dir)]
        if code != ROOT:  # its own `server` package first, before this checkout's
            env = {**(env or {}), "PYTHONPATH": str(code)}
        with running(cmd, work / "server.log", env, cwd=code) as (url, pid):
            yield url, pid, site
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def serve_echo(gc_as_server: bool = False) -> Iterator[tuple[str, int]]:
    """The bare Socket.IO ack echo (scripts/load/echo_server.py), with the serving process's
    GC settings if `gc_as_server`."""
    with tempfile.TemporaryDirectory(prefix="scanfloor-echo-") as tmp:
        cmd = [sys.executable, str(ROOT / "scripts" / "load" / "echo_server.py")]
        cmd += ["--gc-as-server"] if gc_as_server else []
        with running(cmd, Path(tmp) / "echo.log") as (url, pid):
            yield url, pid
