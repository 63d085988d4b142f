"""A log-in's password check (argon2, tens of ms of CPU on purpose) runs off the serving loop.

Run in a process of its own patched by gevent, as the server is: a greenlet ticking every
2 ms notes the longest gap while `users.verify` checks a password, and while the same
check runs on the loop itself for comparison (the way it ran before).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import json, sys, time
import gevent
from server.people import users
from server.store import open_store

store = open_store(sys.argv[1], synchronous="NORMAL")
users.add(store, "sam", "supervisor", "a long enough password")
gaps = []

def tick():
    last = time.perf_counter()
    while True:
        gevent.sleep(0.002)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now

ticker = gevent.spawn(tick)
gevent.sleep(0.05)

def longest_gap_during(fn):
    gaps.clear()
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    gevent.sleep(0.01)
    return result, took, max(gaps)

out = {}
ok, took, gap = longest_gap_during(lambda: users.verify(store, "sam", "a long enough password"))
out["off_loop"] = {"ok": ok is not None, "took": took, "gap": gap}
bad, took, gap = longest_gap_during(lambda: users.verify(store, "sam", "not the password!"))
out["wrong"] = {"ok": bad is not None, "took": took, "gap": gap}
stored = store.one("SELECT password_hash FROM users WHERE name = 'sam'")["password_hash"]
_, took, gap = longest_gap_during(
    lambda: users._hasher.verify(stored, "a long enough password")  # on the loop
)
out["on_loop"] = {"took": took, "gap": gap}
print(json.dumps(out))
"""


def test_a_password_check_leaves_the_loop_free(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "users.db")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["off_loop"]["ok"] and not out["wrong"]["ok"]
    on, off = out["on_loop"], out["off_loop"]
    if on["gap"] < 0.02:
        pytest.skip(f"argon2 took only {on['took'] * 1000:.1f} ms here: nothing to tell apart")
    # On the loop the ticker waits the whole check; off it, it goes on ticking.
    assert on["gap"] >= 0.8 * on["took"], out
    assert off["gap"] < 0.5 * on["gap"], out
    assert out["wrong"]["gap"] < 0.5 * on["gap"], out
