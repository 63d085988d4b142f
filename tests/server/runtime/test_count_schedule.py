"""The worker's count schedule, in process: the due counts made once, the servers told in the
same transaction, an idle picker handed one; a run cut short leaves nothing."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import gevent
import pytest
from floorkit import connect, last_state, settle, states

from server.config import CountSettings
from server.inventory import counts
from server.runtime import background, signals
from server.runtime.background import Worker


def _screen_of(client, deadline_s: float = 10.0) -> str:
    """The newest screen the handheld got, once it stops being idle (polled with a deadline)."""
    deadline = time.monotonic() + deadline_s
    seen: list[dict] = []
    while True:
        seen += states(client)
        if seen and seen[-1]["state"]["screen"] != "idle":
            return seen[-1]["state"]["screen"]
        assert time.monotonic() < deadline, f"still idle after {deadline_s} s"
        gevent.sleep(0.01)


def test_the_worker_makes_the_due_counts_once_and_an_idle_picker_gets_one(floor):
    app, socketio, store, tokens = floor
    picker = connect(app, socketio, tokens["picker"])
    assert last_state(picker)["state"]["screen"] == "idle"
    sent: list[list[dict]] = []
    worker = Worker(store, app.config["SETTINGS"], sent.append)
    seen = signals.last_id(store)

    # Four bins per warehouse, never counted: every one is due (A 1, B 1, C 2 of each).
    assert worker.schedule_counts() == 8
    made = counts.tasks(store, status="open")
    assert len({(t["warehouse"], t["location"]) for t in made}) == 8
    assert {t["source"] for t in made} == {"schedule"}
    assert sorted(t["reason"] for t in made if t["warehouse"] == "WH-EAST") == [
        "schedule: class A", "schedule: class B", "schedule: class C", "schedule: class C"
    ]  # fmt: skip
    # The news: written with the tasks (a lone server) and published (Redis), once.
    ((_, news),) = signals.after(store, seen)
    assert news["k"] == "work" and news["w"] == ["WH-EAST", "WH-WEST"] and news["id"]
    assert sent == [[news]]

    # The server hears of it as it does a few times a second: the idle picker gets a count.
    floor.hub.catch_up()
    settle()
    assert _screen_of(picker) == "count_location"

    # Again, at once or a period later: no bin gets a second open task, and nothing is said.
    assert worker.schedule_counts() == 0
    assert len(counts.tasks(store, status="open")) == 8
    assert sent == [[news]] and len(signals.after(store, seen)) == 1
    picker.disconnect(namespace="/device")


def test_a_schedule_run_cut_short_leaves_no_task_and_no_news(floor, monkeypatch):
    store = floor.store
    seen = signals.last_id(store)

    def cut(*_: object) -> None:  # the process dies between the tasks and the news
        raise SystemExit("killed")

    monkeypatch.setattr(background.signals, "emit", cut)
    with pytest.raises(SystemExit):
        Worker(store, floor.app.config["SETTINGS"]).schedule_counts()
    assert counts.tasks(store) == []
    monkeypatch.undo()
    assert signals.after(store, seen) == []
    # The next run makes them all.
    assert Worker(store, floor.app.config["SETTINGS"]).schedule_counts() == 8


def test_the_schedule_runs_at_start_only_when_a_period_is_set(floor):
    settings = floor.app.config["SETTINGS"]
    assert settings.counts.schedule_every_hours == 0  # off by default
    on = settings.model_copy(
        update={"counts": settings.counts.model_copy(update={"schedule_every_hours": 24})}
    )
    worker = Worker(floor.store, on)
    loop = gevent.spawn(worker.count_schedule)
    try:
        deadline = time.monotonic() + 10
        while not counts.tasks(floor.store):
            assert time.monotonic() < deadline, "no count scheduled at start"
            gevent.sleep(0.01)
        assert len(counts.tasks(floor.store)) == 8
        assert not loop.dead  # it waits for the next period
    finally:
        loop.kill()


def test_the_commented_counts_example_in_the_shipped_config_is_valid():
    """`config/server.toml` shows `[counts]` commented out: uncommented, it loads as written."""
    text = (Path(__file__).parents[3] / "config" / "server.toml").read_text()
    block = text[text.index("# [counts]") : text.index("[webhooks]")]
    example = "\n".join(
        line[2:] for line in block.splitlines() if re.match(r"# (\[|[a-z_]+ = )", line)
    )
    loaded = tomllib.loads(example)["counts"]
    settings = CountSettings.model_validate(loaded)
    assert settings.schedule_every_hours == 24 and settings.max_variance_units == 1
    assert [c.name for c in settings.classes] == ["A", "B", "C"]
