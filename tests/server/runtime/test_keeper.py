"""The keeper of the worker process: started, started again after a death (backing off when
deaths come quickly), stopped for good."""

from __future__ import annotations

import os
import signal
import sys
import time

from server.runtime.keeper import Keeper, worker_command

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def wait_for(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_a_dead_child_is_started_again_and_quick_deaths_back_off():
    keeper = Keeper(SLEEPER, name="sleeper")
    try:
        keeper.start()
        first = keeper.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: keeper.proc.poll() is not None)
        # Died within a minute of its start: it waits a second, then starts again.
        assert keeper.check() == 1.0 and keeper.proc is None
        keeper.check()
        assert keeper.proc is None  # still backing off
        time.sleep(1.05)
        keeper.check()
        second = keeper.pid
        assert second not in (None, first) and keeper.proc.poll() is None
        os.kill(second, signal.SIGKILL)
        wait_for(lambda: keeper.proc.poll() is not None)
        assert keeper.check() == 2.0  # the next quick death waits longer
        assert keeper.started == 2
    finally:
        keeper.stop()


def test_stop_ends_the_child_and_keeps_it_stopped():
    keeper = Keeper(SLEEPER, name="sleeper")
    keeper.start()
    proc = keeper.proc
    keeper.stop(timeout=5)
    assert proc.poll() is not None
    keeper.check()
    assert keeper.proc is proc and keeper.started == 1  # not started again


def test_the_worker_command_runs_this_interpreter_on_the_data_dir(tmp_path):
    assert worker_command(tmp_path) == [
        sys.executable, "-m", "server.runtime.worker", "--data-dir", str(tmp_path),
    ]  # fmt: skip
