"""Server processes of one site: who holds which device link, and who is gone.

`devices.connected` is what hand-out and lease expiry trust, and only a
disconnect the server sees clears it: a process killed with SIGKILL (or a host
that lost power) would leave its devices "connected" for ever. So each process
registers under an instance id, beats in `server_processes` every few seconds
while several processes share the site, and names itself as the owner of every
device link it holds (`devices.link_owner`). Any process clears the links of a
process that is gone: on this host, its pid no longer runs; on any host, it has
not beaten for `GONE_AFTER` seconds. A cleared device keeps its last heartbeat
as `last_seen`, so its lease runs from when its link was last known alive.

A lone process (no Redis) clears every link when it starts: nobody else can hold one.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

from server.core.clock import now
from server.store import Store

HEARTBEAT_SECONDS = 2.0
GONE_AFTER = 10.0  # seconds without a heartbeat before another host's process counts as gone


def _pid_started(pid: int) -> str:
    """When the pid's process started (clock ticks since boot, /proc), '' where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    # After "pid (comm)": field 3 is the state, field 22 the start time.
    return "Z" if fields[0] in ("Z", "X") else fields[19]


def pid_space() -> str:
    """Where this process's pid means something: the host's boot and pid namespace (a
    container sharing a hostname has its own), else the host name."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        return f"{socket.gethostname()}/{boot}/{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return socket.gethostname()


def new_instance() -> str:
    """An id for this process, unique across restarts and hosts."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def register(store: Store, instance: str) -> None:
    """Put this process on the site's list (its first heartbeat)."""
    at = now()
    store.execute(
        """INSERT INTO server_processes
           (instance, host, pid, pid_started, started_at, last_heartbeat) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (instance) DO UPDATE SET host = excluded.host, pid = excluded.pid,
             pid_started = excluded.pid_started, started_at = excluded.started_at,
             last_heartbeat = excluded.last_heartbeat""",
        (instance, pid_space(), os.getpid(), _pid_started(os.getpid()), at, at),
    )


def clear_all(store: Store, instance: str) -> int:
    """A lone process starts: no device is connected yet and no other process runs.

    Returns how many devices were still marked connected."""
    with store.write():
        store.execute("DELETE FROM server_processes WHERE instance != ?", (instance,))
        # Their links lived until the last process stopped, about now: the lease counts from here.
        cur = store.execute(
            """UPDATE devices SET connected = 0, link_owner = NULL,
                 last_seen = CASE WHEN connected = 1 THEN ? ELSE last_seen END
               WHERE connected = 1 OR link_owner IS NOT NULL""",
            (now(),),
        )
    return cur.rowcount


def beat(store: Store, instance: str, held: list[int]) -> None:
    """This process is alive. If it was taken for gone (a long stall), register again and
    claim back the links it still holds (inside a write, or a transaction of its own)."""
    with store.write():
        cur = store.execute(
            "UPDATE server_processes SET last_heartbeat = ? WHERE instance = ?", (now(), instance)
        )
        if cur.rowcount:
            return
        register(store, instance)
        for device_id in held:
            store.execute(
                "UPDATE devices SET connected = 1, link_owner = ? WHERE id = ?",
                (instance, device_id),
            )


def _alive(row: dict, host: str, cutoff: str) -> bool:
    if row["last_heartbeat"] < cutoff:
        return False
    if row["host"] != host:
        return True  # another host (or pid namespace): only its heartbeat tells
    if not Path("/proc").is_dir():
        return _pid_runs(row["pid"])
    started = _pid_started(row["pid"])  # '' gone, 'Z' a zombie, else its start time
    return started not in ("", "Z") and started == (row["pid_started"] or started)


def _pid_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # runs, as another user
        pass
    return True


def reap(
    store: Store,
    instance: str,
    gone_after: float = GONE_AFTER,
    at: datetime | None = None,
    everyone: bool = False,
) -> list[int]:
    """Clear the links of processes that are gone and forget them; returns the devices cleared.

    `everyone`: also clear links no live process owns (at start: links left by a lone process
    or by a process already forgotten).
    """
    cutoff = ((at or datetime.now(UTC)) - timedelta(seconds=gone_after)).isoformat(
        timespec="microseconds"
    )
    host = pid_space()
    with store.write():
        procs = store.all("SELECT * FROM server_processes")
        gone = [p for p in procs if p["instance"] != instance and not _alive(p, host, cutoff)]
        if not (gone or everyone):
            return []
        live = {p["instance"] for p in procs} - {p["instance"] for p in gone}
        held = store.all("SELECT id, link_owner FROM devices WHERE connected = 1")
        orphans = [d for d in held if d["link_owner"] not in live]
        beats = {p["instance"]: p["last_heartbeat"] for p in gone}
        for d in orphans:
            # The link was last known alive at its process's last heartbeat (an owner nobody
            # knows: now, so the device has its whole lease to come back).
            store.execute(
                f"""UPDATE devices SET connected = 0, link_owner = NULL,
                     last_seen = COALESCE({store.greatest}(last_seen, :beat), :beat, last_seen)
                   WHERE id = :id""",
                {"beat": beats.get(d["link_owner"], now()), "id": d["id"]},
            )
        for p in gone:
            store.execute("DELETE FROM server_processes WHERE instance = ?", (p["instance"],))
    return [d["id"] for d in orphans]


def running(store: Store, gone_after: float = GONE_AFTER) -> list[dict]:
    """The server and worker processes that are alive on the site (by their heartbeats and,
    on this host, their pids): what a stopped site has none of."""
    try:
        procs = store.all("SELECT * FROM server_processes")
    except store.Error:  # no such table: not a scanfloor database yet
        return []
    cutoff = (datetime.now(UTC) - timedelta(seconds=gone_after)).isoformat(timespec="microseconds")
    host = pid_space()
    return [p for p in procs if _alive(p, host, cutoff)]
