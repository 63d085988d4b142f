"""On PostgreSQL a query in flight lets the gevent loop run (psycopg 3 waits cooperatively)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PROGRAM = """
from gevent import monkey; monkey.patch_all()
import sys, time, gevent
from server.store import open_store
a, b = open_store(sys.argv[1]), open_store(sys.argv[1])
ticks = []
def tick():
    for _ in range(10):
        ticks.append(time.perf_counter()); gevent.sleep(0.05)
t = time.perf_counter()
gevent.joinall([gevent.spawn(s.one, "SELECT pg_sleep(0.5)") for s in (a, b)] + [gevent.spawn(tick)])
print(round(time.perf_counter() - t, 3), len(ticks))
"""


def test_two_queries_in_two_greenlets_overlap_and_the_loop_runs_meanwhile(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite calls block the loop by design (kept short)")
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, database_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    took, ticks = float(out[0]), int(out[1])
    assert took < 0.95  # not 1.0 s: the two half-second queries ran side by side
    assert ticks == 10  # another greenlet kept running while both waited


# A greenlet killed (Hub.stop, a link dropped) or timed out mid-statement: psycopg leaves the
# connection with the statement in flight, and before the fix every later call of the process
# failed with "another command is already in progress".
CUT = """
from gevent import monkey; monkey.patch_all()
import json, sys, time, gevent, psycopg
sys.modules["pandas"] = None  # sqlite-utils imports it when installed: 3 s of CPU, unused here
from server.store import open_store
store, other = open_store(sys.argv[1]), psycopg.connect(sys.argv[1], autocommit=True)
def write_then_wait():
    with store.write():
        store.execute("INSERT INTO counters (name, value) VALUES ('cut', 1)")
        store.execute("SELECT pg_sleep(30)")
out, t = [], time.perf_counter()
g = gevent.spawn(write_then_wait); gevent.sleep(0.3); g.kill()
out.append(store.one("SELECT COUNT(*) AS n FROM counters WHERE name = 'cut'")["n"])
try:
    with gevent.Timeout(0.3):
        store.one("SELECT pg_sleep(30)")
except gevent.Timeout:
    pass
store.execute("INSERT INTO counters (name, value) VALUES ('after', 1)")
out.append(other.execute("SELECT COUNT(*) FROM counters WHERE name = 'after'").fetchone()[0])
out.append(other.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(30%'").fetchone()[0])
out.append(round(time.perf_counter() - t, 1))
store.close()
print(json.dumps(out))
"""


def test_a_call_cut_mid_statement_leaves_the_next_calls_a_working_connection(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: a SQLite call is never cut mid-statement (it never yields)")
    run = subprocess.run(
        [sys.executable, "-c", CUT, database_url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, [line for line in run.stderr.splitlines() if "Error:" in line][:1]
    missing, after, sleeping, took = json.loads(run.stdout.splitlines()[-1])
    assert missing == 0  # the killed write's transaction was rolled back: it was never acked
    assert after == 1  # a write after both cuts committed on the new connection
    assert sleeping == 0  # both cut statements were cancelled on the server, not left running
    assert took < 20  # not waited out (30 s each)
