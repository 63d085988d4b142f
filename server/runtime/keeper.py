"""Keeping one child process running: the worker beside `scanfloor-server` or `serve-cluster`.

`Keeper.start()` starts the child, `keep()` (a thread, or a greenlet under gevent: it
only polls and sleeps) starts it again whenever it exits, quick deaths backing off up to
30 s so a broken config does not spin, and `stop()` ends it (SIGTERM, SIGKILL after
10 s). The child gets SIGTERM from the kernel should its parent die without stopping
it (Linux's parent-death signal), so a SIGKILLed server leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("scanfloor.keeper")
RESTART_BACKOFF_MAX = 30.0


def _child_setup(nice: int = 0) -> None:
    """In the child before exec: its own process group (a terminal's Ctrl-C reaches the
    parent, which stops it in order), SIGTERM when the parent dies (Linux), and its nice
    value from the start (its imports at start-up must not slow the server either)."""
    os.setpgid(0, 0)
    if nice:
        os.nice(nice)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def worker_command(data_dir: Path | str | None = None) -> list[str]:
    """The command line of a worker process for this interpreter."""
    args = [sys.executable, "-m", "server.runtime.worker"]
    return args + (["--data-dir", str(data_dir)] if data_dir is not None else [])


class Keeper:
    """One child process kept running until `stop()`."""

    def __init__(
        self,
        args: list[str],
        name: str = "worker",
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        nice: int = 0,
    ):
        self.args = args
        self.nice = nice
        self.name = name
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.restarts = 0  # quick deaths in a row
        self.started = 0  # times started in all
        self._started_at = 0.0
        self._stopping = False

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self) -> None:
        """Start the child now."""
        out = self.log_path.open("ab") if self.log_path else None
        try:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT if out else None,
                preexec_fn=functools.partial(_child_setup, self.nice),
            )
        finally:
            if out:
                out.close()
        self._started_at = time.monotonic()
        self.started += 1
        log.info("%s started, pid %d", self.name, self.proc.pid)

    def check(self) -> float:
        """Start the child again if it exited and its back-off is over; returns how long to
        wait before looking again."""
        if self._stopping or (self.proc is not None and self.proc.poll() is None):
            return 0.5
        if self.proc is not None:
            ran = time.monotonic() - self._started_at
            self.restarts = 0 if ran > 60 else self.restarts + 1
            log.warning(
                "%s pid %d exited with %s; starting it again",
                self.name,
                self.proc.pid,
                self.proc.returncode,
            )
            self.proc = None
            wait = min(RESTART_BACKOFF_MAX, 2.0 ** (self.restarts - 1)) if self.restarts else 0
            self._started_at = time.monotonic() + wait  # start when the back-off is over
            if wait:
                return wait
        if time.monotonic() >= self._started_at:
            try:
                self.start()
            except OSError as exc:
                log.error("%s would not start: %s", self.name, exc)
                self.proc, self._started_at = None, time.monotonic() + 5
        return 0.5

    def keep(self) -> None:
        """Keep the child running until `stop()` (run it in a thread or a greenlet)."""
        while not self._stopping:
            time.sleep(self.check())

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child (SIGTERM, SIGKILL after `timeout`) and keep it stopped."""
        self._stopping = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
