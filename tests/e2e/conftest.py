"""End-to-end fixtures: the real server as a subprocess on a free loopback port, and Chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.demo.procs import free_port

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY_PATHS = ("/api/health", "/board")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(proc: subprocess.Popen) -> None:
    """Stop a process (SIGTERM, then SIGKILL after 10 s); one that has ended already is left."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class ServerProcs:
    """Starts `python -m server.runtime.serve` processes and stops them; `procs` maps base URL to process."""

    def __init__(self, log_dir: Path, alone: bool = False):
        self.log_dir = log_dir
        # Without the worker process scanfloor-server starts beside itself (its imports and
        # polling cost 1-2 s of CPU per server): for tests marked `server_alone`, where
        # nothing needs background work (planning, lease sweeps, webhooks, mail).
        self.alone = alone
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs: dict[str, Path] = {}

    def __call__(
        self, data_dir: str | Path, env: dict[str, str] | None = None, timeout: float = 60.0
    ) -> str:
        """Start a server on data_dir and return its base URL once it answers (a start takes
        1-2 s on a quiet machine, over 15 s on a loaded one beside other test workers)."""
        for _ in range(3):  # the free port may be taken between probe and bind
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            log = self.log_dir / f"server-{port}.log"
            alone = {"SCANFLOOR_WORKER__WITH_SERVER": "false"} if self.alone else {}
            proc_env = {**os.environ, "PYTHONUNBUFFERED": "1", **alone, **(env or {})}
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    [sys.executable, "-m", "server.runtime.serve", "--host", "127.0.0.1"]
                    + ["--port", str(port), "--data-dir", str(data_dir)],
                    cwd=REPO,
                    env=proc_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            self.procs[base], self.logs[base] = proc, log
            if self._wait_ready(base, proc, timeout):
                if proc_env.get("SCANFLOOR_WORKER__WITH_SERVER") != "false":
                    self._wait_worker(base, proc, timeout)
                return base
            self.stop(base)
            if "Address already in use" not in log.read_text(errors="replace"):
                break
        pytest.fail(f"server did not start on {base}; log:\n{self.log(base)[-4000:]}")

    def _wait_ready(self, base: str, proc: subprocess.Popen, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if any(_answers(base + path) for path in READY_PATHS):
                return True
            time.sleep(0.1)
        return False

    def _wait_worker(self, base: str, proc: subprocess.Popen, timeout: float) -> None:
        """Until the worker the server started runs its loops. It starts beside the server,
        niced: on a machine loaded by other test workers it can take over 15 s after the
        server answers, and a test that waits for its work (webhooks, mail, planning) with a
        deadline of its own would count that start against it."""
        deadline = time.monotonic() + timeout
        while "worker running" not in self.log(base):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the worker of {base} did not start; log:\n{self.log(base)[-4000:]}")
            time.sleep(0.1)

    def log(self, base_url: str) -> str:
        """What the server printed so far."""
        path = self.logs.get(base_url)
        return path.read_text(errors="replace") if path and path.exists() else ""

    def stop(self, base_url: str) -> None:
        """Stop one server (SIGTERM, then SIGKILL after 10 s)."""
        proc = self.procs.pop(base_url, None)
        if proc is not None:
            stop(proc)

    def stop_all(self) -> None:
        for base in list(self.procs):
            self.stop(base)


@pytest.fixture
def server_proc(request, tmp_path_factory) -> Iterator[ServerProcs]:
    """Factory: `server_proc(data_dir) -> base_url` runs the real server; all stopped at the end."""
    alone = request.node.get_closest_marker("server_alone") is not None
    procs = ServerProcs(tmp_path_factory.mktemp("server-logs"), alone)
    yield procs
    procs.stop_all()


@pytest.fixture(scope="module")
def module_server_proc(request, tmp_path_factory) -> Iterator[ServerProcs]:
    """As `server_proc`, for a whole module: one real server shared by tests that only read
    (a test that writes starts its own with `server_proc`); all stopped after the module."""
    alone = request.node.get_closest_marker("server_alone") is not None
    procs = ServerProcs(tmp_path_factory.mktemp("module-server-logs"), alone)
    yield procs
    procs.stop_all()


@pytest.fixture
def gunicorn_server(tmp_path) -> Iterator[Callable[..., str]]:
    """Factory: `gunicorn_server(data_dir, env=None) -> base_url`, the production form: gunicorn
    with scanfloor's worker class (server/runtime/gunicorn_worker.py) on data_dir."""
    pytest.importorskip("gunicorn", reason="gunicorn is not installed (pip install gunicorn)")
    procs: list[subprocess.Popen] = []

    def start(data_dir: Path, env: dict[str, str] | None = None) -> str:
        port = free_port()
        worker = "server.runtime.gunicorn_worker.Worker"
        with open(tmp_path / "gunicorn.log", "wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-k", worker, "-w", "1"]
                + ["-b", f"127.0.0.1:{port}", "server.runtime.wsgi:app"],
                cwd=REPO,
                env={**os.environ, "SCANFLOOR_DATA_DIR": str(data_dir), **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(base + "/api/health", timeout=1):
                    return base
            except OSError:
                time.sleep(0.1)
        pytest.fail("gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()[-2000:])

    yield start
    for proc in procs:
        stop(proc)


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium from the system package; skipped where it is not installed."""
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip(f"chromium is not installed ({CHROMIUM}; apt-get install -y chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            with contextlib.suppress(Exception):
                browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh browser page (own context: no shared cookies or storage)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def problems(browser_page) -> list[str]:
    """What went wrong in the browser page: uncaught errors and console errors (a test ends
    with `assert problems == []`)."""
    seen: list[str] = []
    browser_page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    browser_page.on("console", lambda m: seen.append(m.text) if m.type == "error" else None)
    return seen
