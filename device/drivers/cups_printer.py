"""Printers behind a CUPS raw queue: ``lp -d QUEUE -o raw``, the label bytes on stdin.

For USB printers that CUPS already owns, or a print server the site runs. CUPS
passes raw jobs through untouched, so the ZPL reaches the printer as made.
CUPS cannot read a Zebra's paper sensor through a raw queue, but it does know
when a queue is stopped or refusing jobs: that is asked (``lpstat -p``) before
each job, so a label is not left waiting unseen in a stopped queue.

``lp`` and ``lpstat`` run with ``LC_ALL=C`` so their messages can be read here.
"""

from __future__ import annotations

import os
import re
import subprocess

from .base import Printer, PrinterError, PrinterStatus

_JOB_ID = re.compile(r"request id is (\S+)")
_NO_LP = "CUPS's lp command is not installed (on Debian: apt install cups-client)"


class CupsPrinter(Printer):
    """A CUPS queue that takes raw ZPL; ``server`` is CUPS's host[:port] when not local."""

    def __init__(
        self,
        queue: str,
        *,
        server: str | None = None,
        timeout: float = 10.0,
        check_status: bool = True,
        lp: str = "lp",
        lpstat: str = "lpstat",
    ) -> None:
        if not queue or not re.fullmatch(r"[^\s/#]+", queue):
            raise ValueError(f"{queue!r} is not a CUPS queue name")
        self.queue = queue
        self.server = server
        self.timeout = timeout
        self.check_status = check_status
        self.lp = lp
        self.lpstat = lpstat
        self.last_job: str | None = None

    def lp_command(self, title: str | None = None) -> list[str]:
        """The ``lp`` command line that prints one raw job to this queue."""
        cmd = [self.lp]
        if self.server:
            cmd += ["-h", self.server]
        cmd += ["-d", self.queue, "-o", "raw"]
        if title:
            cmd += ["-t", title]
        return cmd

    def _run(self, cmd: list[str], data: bytes | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        try:
            return subprocess.run(
                cmd, input=data, capture_output=True, timeout=self.timeout, env=env, check=False
            )
        except FileNotFoundError as exc:
            raise PrinterError(
                _NO_LP if cmd[0] == self.lp else f"{cmd[0]} not found", "io"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise PrinterError(
                f"print queue {self.queue}: CUPS did not answer within {self.timeout:g} s",
                "offline",
            ) from exc
        except OSError as exc:
            raise PrinterError(
                f"print queue {self.queue}: cannot run {cmd[0]}: {exc}", "io"
            ) from exc

    def _failure(self, output: str) -> PrinterError:
        """Turn what lp or lpstat said on failure into a message a worker can act on."""
        text = output.strip()
        if "not accepting jobs" in text:
            return PrinterError(
                f"print queue {self.queue} is not accepting jobs: "
                f"a supervisor runs 'cupsaccept {self.queue}'",
                "paused",
            )
        if "does not exist" in text or "Invalid destination" in text:
            # lp says this too when cupsd is not running: both wait for someone to act.
            return PrinterError(
                f"print queue {self.queue} not found: is CUPS running and the queue "
                f"set up? (check: lpstat -p {self.queue})",
                "offline",
            )
        if "Unable to connect" in text or "Connection refused" in text or "not responding" in text:
            return PrinterError(f"print queue {self.queue}: CUPS is not reachable", "offline")
        first = text.splitlines()[0] if text else "no message"
        return PrinterError(f"print queue {self.queue}: {first}", "io")

    def status(self) -> PrinterStatus:
        """Ask CUPS whether the queue is enabled; it cannot see paper or ribbon on a raw queue."""
        cmd = [self.lpstat] + (["-h", self.server] if self.server else []) + ["-p", self.queue]
        try:
            done = self._run(cmd)
        except PrinterError as exc:
            return exc.as_status()
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if done.returncode != 0:
            return self._failure(out).as_status()
        if " disabled " in out or out.rstrip().endswith("disabled"):
            lines = [line.strip() for line in out.splitlines()[1:] if line.strip()]
            reason = f" ({lines[0]})" if lines else ""
            return PrinterStatus(
                False,
                "paused",
                f"print queue {self.queue} is stopped{reason}: fix the printer, "
                f"then a supervisor runs 'cupsenable {self.queue}'",
            )
        return PrinterStatus(True, "ok", f"print queue {self.queue} is ready")

    def print_label(self, zpl: bytes) -> None:
        """Hand the label to CUPS; raise ``PrinterError`` when the queue cannot take it."""
        if not zpl:
            raise ValueError("empty label")
        if self.check_status:
            self.status().raise_for_status()
        done = self._run(self.lp_command("scanfloor label"), zpl)
        out = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise self._failure(out)
        match = _JOB_ID.search(out)
        self.last_job = match.group(1) if match else None

    def close(self) -> None:
        """Nothing held between jobs."""
