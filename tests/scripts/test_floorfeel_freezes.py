"""The feel bench reads the server's gc.freeze lines, as this version and older ones write them."""

from __future__ import annotations

import gc
import logging

from scripts.load.floorfeel import freezes
from server.runtime import loopwatch


def test_the_bench_reads_the_freeze_lines_the_server_writes_now_and_wrote_before(tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="scanfloor.loop"):
        loopwatch.freeze("storm", 0)
        loopwatch.freeze("warm-up", None)
    gc.unfreeze()
    log = tmp_path / "server.log"
    log.write_text(
        "x INFO scanfloor.loop gc.freeze (start-up): 104234 objects frozen in 51 ms\n"
        + "".join(f"x INFO {r.name} {r.getMessage()}\n" for r in caplog.records)
        + "a line about something else\n"
    )
    got = freezes(log)
    assert [(f["why"], f["what"]) for f in got] == [
        ("start-up", "objects frozen"),
        ("storm", "unreachable found first"),
        ("warm-up", "nothing collected first"),
    ]
    assert got[0]["objects"] == 104234 and got[0]["ms"] == 51
    assert got[2]["objects"] is None
    assert freezes(tmp_path / "missing.log") == []
