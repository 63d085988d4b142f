"""A PostgreSQL primary and a synchronous standby on loopback: failover to try by hand.

Two clusters of the machine's own PostgreSQL binaries (`/usr/lib/postgresql/N/bin`, or
`SCANFLOOR_PG_BIN`) on free loopback ports, each in a folder of its own under DIR:

- the primary: `wal_level=replica`, `synchronous_commit=on`, and
  `synchronous_standby_names='standby1'` once the standby streams, so a COMMIT returns
  only when the standby has the WAL on its disk;
- the standby: `pg_basebackup -R` of the primary (a replication slot, `standby.signal`,
  `primary_conninfo` with `application_name=standby1`), streaming, with no synchronous
  standby of its own: once promoted it takes writes alone instead of waiting for one.

    .venv/bin/python -m scripts.standby /tmp/me-standby    # start both; Ctrl-C stops them

It prints the database URL to give scanfloor (both hosts, `target_session_attrs=read-write`,
so the server finds whichever one takes writes) and the commands that kill the primary and
promote the standby. Run as root, the clusters run as the `postgres` OS user (PostgreSQL
refuses root) and DIR is handed to it. tests/e2e/runtime/test_standby.py drives the same pair.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from scripts.demo.procs import free_port

DATABASE = "scanfloor"
STANDBY_NAME = "standby1"
PG_USER = "postgres"  # the clusters' superuser (initdb -U), and their OS user when run as root
TOOLS = ("initdb", "pg_ctl", "pg_basebackup")


def find_pg_bin() -> Path | None:
    """The newest PostgreSQL bin folder with initdb, pg_ctl and pg_basebackup, or None."""
    given = os.environ.get("SCANFLOOR_PG_BIN")
    found = [Path(given)] if given else []
    found += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in found:
        if all((folder / tool).is_file() for tool in TOOLS):
            return folder
    return None


def _as_pg_user() -> list[str]:
    """The prefix that runs a command as the clusters' OS user (PostgreSQL refuses root)."""
    return ["runuser", "-u", PG_USER, "--"] if os.geteuid() == 0 else []


def unavailable() -> str | None:
    """Why the pair cannot run on this machine, or None when it can."""
    if find_pg_bin() is None:
        return (
            "no PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) in /usr/lib/postgresql"
        )
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam(PG_USER)
        except KeyError:
            return f"run as root, and no {PG_USER!r} OS user to run PostgreSQL as"
    return None


def _stat(pid: int) -> list[str]:
    """A process's state and parent pid (from /proc), or [] if it is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[:2]
    except (OSError, IndexError):
        return []


class Node:
    """One cluster: its folder, its port, its postmaster."""

    def __init__(self, pair: PgPair, name: str):
        self.pair, self.name = pair, name
        self.data = pair.base / name
        self.log = pair.base / f"{name}.log"
        self.port = 0

    @property
    def admin_url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def url(self, db: str = DATABASE) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/{db}"

    def configure(self, lines: dict[str, str]) -> None:
        """Settings appended to postgresql.conf (a later line wins over an earlier one)."""
        text = "".join(f"{k} = {v}\n" for k, v in lines.items())
        self.pair.run("sh", "-c", f"cat >> '{self.data}/postgresql.conf'", stdin=text)

    def start(self) -> None:
        """Start on a free loopback port (another one if that port was taken meanwhile)."""
        for _ in range(3):
            self.port = free_port()
            self.configure({"port": str(self.port)})
            done = self.pair.run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start",
                check=False,
            )  # fmt: skip
            if done.returncode == 0:
                return
            if "could not bind" not in self.log.read_text(errors="replace"):
                break
        raise RuntimeError(f"{self.name} did not start:\n{self.log.read_text()[-2000:]}")

    def postmaster(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def processes(self) -> list[int]:
        """The live postmaster and every live child of it (backends, WAL sender, ...)."""
        pm = self.postmaster()
        if pm is None or _stat(pm)[:1] in ([], ["Z"], ["X"]):
            return []
        found = [pm]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                stat = _stat(int(entry.name))
                if stat[1:2] == [str(pm)] and stat[0] not in ("Z", "X"):
                    found.append(int(entry.name))
        return found

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the postmaster and all its children at once (the host died); returns once
        none of them runs."""
        doomed = self.processes()
        for pid in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while any(_stat(pid)[:1] not in ([], ["Z"], ["X"]) for pid in doomed):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name}: processes still running after SIGKILL")
            time.sleep(0.01)

    def stop(self, mode: str = "fast") -> None:
        """Stop it if it runs (`pg_ctl stop -m mode`; SIGKILL if that fails)."""
        if not self.processes():
            return
        stopped = self.pair.run(
            "pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "20", "stop", check=False
        )
        if stopped.returncode != 0:
            self.kill()

    def promote(self) -> float:
        """`pg_ctl promote` (waits until it takes writes); returns the seconds it took."""
        started = time.monotonic()
        self.pair.run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")
        return time.monotonic() - started

    def query(self, sql: str, db: str = "postgres") -> list[tuple]:
        with psycopg.connect(self.url(db), autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []


class PgPair:
    """A primary and its synchronous standby under `base` (made, and handed to the
    clusters' OS user when run as root)."""

    def __init__(self, base: Path, bin_dir: Path | None = None):
        self.base = Path(base)
        found = bin_dir or find_pg_bin()
        if found is None:
            raise RuntimeError(unavailable() or "no PostgreSQL binaries")
        self.bin = found
        self.primary = Node(self, "primary")
        self.standby = Node(self, "standby")

    def run(self, tool: str, *args: str, check: bool = True, stdin: str | None = None):
        exe = str(self.bin / tool) if (self.bin / tool).is_file() else tool
        done = subprocess.run(
            [*_as_pg_user(), exe, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=self.base,
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done

    def url(self, db: str = DATABASE, connect_timeout: int = 2) -> str:
        """Both hosts, the one that takes writes chosen at every connect (libpq's multi-host)."""
        hosts = f"127.0.0.1:{self.primary.port},127.0.0.1:{self.standby.port}"
        return (
            f"postgresql://{PG_USER}@{hosts}/{db}"
            f"?target_session_attrs=read-write&connect_timeout={connect_timeout}"
        )

    def start(self) -> PgPair:
        """initdb the primary, start it, make the database, clone the standby, go synchronous."""
        self.base.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            import pwd

            entry = pwd.getpwnam(PG_USER)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self.base.chmod(0o700)
            if self.run("test", "-w", str(self.base), check=False).returncode != 0:
                raise RuntimeError(f"{PG_USER} cannot reach {self.base}: give a folder under /tmp")
        p, s = self.primary, self.standby
        self.run(
            "initdb", "-D", str(p.data), "-U", PG_USER, "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        p.configure(
            {
                "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": "''",  # TCP only: no socket file in a shared folder
                "wal_level": "replica",
                "synchronous_commit": "on",
                "max_wal_senders": "4",
                "max_replication_slots": "4",
                "max_connections": "40",
                "shared_buffers": "16MB",
            }
        )
        p.start()
        p.query(f"CREATE DATABASE {DATABASE}")
        self.run(
            "pg_basebackup", "-D", str(s.data), "-d",
            f"host=127.0.0.1 port={p.port} user={PG_USER} application_name={STANDBY_NAME}",
            "-R", "-C", "-S", STANDBY_NAME, "-X", "stream", "-c", "fast", "--no-sync",
        )  # fmt: skip
        s.configure(
            {
                "primary_conninfo": (
                    f"'host=127.0.0.1 port={p.port} user={PG_USER} application_name={STANDBY_NAME}'"
                ),
                "synchronous_standby_names": "''",  # promoted, it writes alone (see the docs)
                "hot_standby": "on",
            }
        )
        s.start()
        # Synchronous only now: before the standby streams, every COMMIT would wait for it.
        p.query(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
        p.query("SELECT pg_reload_conf()")
        self.wait_synchronous()
        return self

    def replication(self) -> list[tuple]:
        """pg_stat_replication on the primary: (name, state, sync_state, replay lag bytes)."""
        return self.primary.query(
            "SELECT application_name, state, sync_state, "
            "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication"
        )

    def wait_synchronous(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            rows = self.replication()
            if any(r[0] == STANDBY_NAME and r[1:3] == ("streaming", "sync") for r in rows):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the standby is not synchronous after {timeout} s: {rows}")
            time.sleep(0.05)

    def stop(self, mode: str = "fast") -> None:
        for node in (self.standby, self.primary):
            node.stop(mode)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dir", type=Path, help="a new folder for both clusters")
    args = parser.parse_args(argv)
    why = unavailable()
    if why:
        print(why, file=sys.stderr)
        return 2
    if args.dir.exists() and any(args.dir.iterdir()):
        print(f"{args.dir} is not empty: give a new folder", file=sys.stderr)
        return 2
    pair = PgPair(args.dir.resolve())
    try:
        pair.start()
        as_user = " ".join(_as_pg_user())
        pg_ctl = f"{as_user} {pair.bin / 'pg_ctl'}".strip()
        print(f"primary  127.0.0.1:{pair.primary.port}  {pair.primary.data}")
        print(f"standby  127.0.0.1:{pair.standby.port}  {pair.standby.data}  (synchronous)")
        print(f"\nSCANFLOOR_DATABASE_URL='{pair.url()}'")
        print("\nkill the primary:   kill -9 $(head -1 " + f"{pair.primary.data}/postmaster.pid)")
        print(f"promote the standby: {pg_ctl} -D {pair.standby.data} promote")
        print(f"watch:  psql '{pair.primary.url('postgres')}' -c 'TABLE pg_stat_replication'")
        print("\nCtrl-C stops both.")
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    finally:
        pair.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
