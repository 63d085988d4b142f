"""Server processes of one site: a process gone without a word leaves no device "connected"."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta

from floorkit import place

from server.app import create_app
from server.core.clock import now
from server.floor import leases
from server.runtime import processes


def _device(store, name: str = "picker-e1") -> dict:
    return store.one("SELECT * FROM devices WHERE name = ?", (name,))


def _link(store, name: str, owner: str | None, last_seen: str | None = None) -> None:
    store.execute(
        "UPDATE devices SET connected = 1, link_owner = ?, last_seen = COALESCE(?, last_seen, ?) "
        "WHERE name = ?",
        (owner, last_seen, now(), name),
    )


def _process(store, instance: str, pid: int, host: str | None = None, beat: str | None = None):
    store.execute(
        "INSERT INTO server_processes (instance, host, pid, pid_started, started_at, last_heartbeat)"
        " VALUES (?, ?, ?, '', ?, ?)",
        (instance, host or processes.pid_space(), pid, now(), beat or now()),
    )


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_lone_process_starts_with_no_device_connected(floor_settings, floor_store, floor_tokens):
    _link(floor_store, "picker-e1", "old-host:1:abc")
    _link(floor_store, "packer-e1", None)
    _process(floor_store, "old-host:1:abc", 1)
    app, _ = create_app(floor_settings)
    store = app.extensions["store"]
    try:
        assert store.all("SELECT name FROM devices WHERE connected = 1") == []
        (me,) = store.all("SELECT instance, pid FROM server_processes")
        assert (
            me["pid"] == os.getpid() and me["instance"] == app.extensions["scanfloor.hub"].instance
        )
    finally:
        store.close()


def test_links_of_a_killed_process_on_this_host_are_cleared_at_once(floor_store, floor_tokens):
    processes.register(floor_store, "me")
    beat = (datetime.now(UTC) - timedelta(seconds=1)).isoformat(timespec="microseconds")
    _process(floor_store, "killed", _dead_pid(), beat=beat)
    _link(floor_store, "picker-e1", "killed", last_seen="2020-01-01T00:00:00+00:00")
    _link(floor_store, "packer-e1", "me")
    picker = _device(floor_store)["id"]
    assert processes.reap(floor_store, "me") == [picker]
    gone = _device(floor_store)
    assert (gone["connected"], gone["link_owner"], gone["last_seen"]) == (0, None, beat)
    assert _device(floor_store, "packer-e1")["connected"] == 1
    assert [r["instance"] for r in floor_store.all("SELECT instance FROM server_processes")] == [
        "me"
    ]


def test_another_hosts_process_counts_as_gone_only_when_its_heartbeat_stops(
    floor_store, floor_tokens
):
    processes.register(floor_store, "me")
    _process(floor_store, "far", 4242, host="other-host")
    _link(floor_store, "picker-e1", "far")
    assert processes.reap(floor_store, "me") == []  # beating: alive, whatever its pid
    later = datetime.now(UTC) + timedelta(seconds=processes.GONE_AFTER + 1)
    assert processes.reap(floor_store, "me", at=later) == [_device(floor_store)["id"]]
    assert _device(floor_store)["connected"] == 0


def test_a_running_process_on_this_host_keeps_its_links(floor_store, floor_tokens):
    processes.register(floor_store, "me")
    sibling = subprocess.Popen(["sleep", "30"])
    try:
        _process(floor_store, "sibling", sibling.pid)
        _link(floor_store, "picker-e1", "sibling")
        assert processes.reap(floor_store, "me") == []
        sibling.kill()
        sibling.wait()
        assert processes.reap(floor_store, "me") == [_device(floor_store)["id"]]
    finally:
        sibling.kill()
        sibling.wait()


def test_a_process_taken_for_gone_claims_its_links_back(floor_store, floor_tokens):
    processes.register(floor_store, "slow")
    _link(floor_store, "picker-e1", "slow")
    later = datetime.now(UTC) + timedelta(seconds=processes.GONE_AFTER + 1)
    floor_store.execute(
        "UPDATE server_processes SET host = 'elsewhere' WHERE instance = 'slow'"
    )  # seen from another host: only the heartbeat tells
    assert processes.reap(floor_store, "other", at=later) == [_device(floor_store)["id"]]
    processes.beat(floor_store, "slow", [_device(floor_store)["id"]])
    again = _device(floor_store)
    assert (again["connected"], again["link_owner"]) == (1, "slow")


def test_a_cleared_picker_keeps_its_list_for_the_lease(floor_store, floor_tokens):
    from server.floor import work

    place(floor_store, "a", [("SKU-B", 1)])
    did = _device(floor_store)["id"]
    processes.register(floor_store, "me")
    _process(floor_store, "killed", _dead_pid())
    _link(floor_store, "picker-e1", "killed")
    with floor_store.write():
        assert work.offer_to(floor_store, did, "WH-EAST") is not None
    processes.reap(floor_store, "me")
    assert leases.expire(floor_store, 300) == []  # its link was alive a moment ago
    assert len(leases.expire(floor_store, 0.0)) == 1
