"""Starting the real processes on loopback: the server and device processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from server.runtime.cluster import stop_process


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until url answers 200; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def start_server(
    data_dir: Path, port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """Run `scanfloor-server` on 127.0.0.1:port with its data in data_dir; returns once healthy."""
    full_env = {**os.environ, "SCANFLOOR_DATA_DIR": str(data_dir), **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.runtime.serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=full_env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health", proc=proc)
    except BaseException:  # a SIGTERM while waiting too: the caller never gets this process
        stop(proc)
        raise
    return proc


def start_device(config: Path, log: Path) -> subprocess.Popen:
    """Run `scanfloor-device --config config`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "device.main", "--config", str(config), "--log-level", "INFO"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> int:
    """SIGTERM, then SIGKILL if it does not end in time."""
    return stop_process(proc, timeout)
