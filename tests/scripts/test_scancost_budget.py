"""The CPU budget scripts/cost/scancost.py prints for issue 14's 200 flat out target."""

from __future__ import annotations

import pytest

from scripts.cost import scancost


def test_the_budget_is_what_the_target_rate_asks_of_each_core(monkeypatch):
    monkeypatch.setattr(scancost, "CORES", 2)
    ours = [
        {"scans_per_s": 1500, "p99_ms": 180, "server_ms": 0.6, "fleet_ms": 0.25, "worker_cores": 0.2},
        {"scans_per_s": 1400, "p99_ms": 200, "server_ms": 0.7, "fleet_ms": 0.3, "worker_cores": 0.3},
        {"scans_per_s": 1600, "p99_ms": 170, "server_ms": 0.5, "fleet_ms": 0.2, "worker_cores": 0.1},
    ]  # fmt: skip
    echoes = [
        {"scans_per_s": 4000, "p99_ms": 90, "server_ms": 0.22, "fleet_ms": 0.14},
        {"scans_per_s": 5000, "p99_ms": 100, "server_ms": 0.20, "fleet_ms": 0.13},
        {"scans_per_s": 4500, "p99_ms": 95, "server_ms": 0.21, "fleet_ms": 0.12},
    ]
    b = scancost.budget(ours, echoes)
    assert b["target_rate"] == pytest.approx(0.70 * 4500)  # of the echo's median
    assert b["one_process_max"] == pytest.approx(1000 / 0.6)
    assert b["server_ms_needed_one_process"] == pytest.approx(1000 / 3150)
    # 3,150 scans/s at 0.6 + 0.25 ms, and the worker's 0.2 of a core.
    assert b["cores_needed"] == pytest.approx(3150 * 0.85 / 1000 + 0.2)
    # What the servers may spend when the fleet and the worker take their share of 2 cores.
    assert b["server_ms_needed_all_cores"] == pytest.approx(
        1000 * (2 - 0.2 - 3150 * 0.25 / 1000) / 3150
    )
    text = scancost.budget_report(ours, echoes, 200, "cmd")
    assert text.startswith(scancost.BUDGET_SECTION + "\n")
    assert "| 2 | scanfloor | 1,400 | 200 | 0.700 | 0.30 | 0.300 |" in text
    assert "| 3 | echo | 4,500 | 95 | 0.210 | — | 0.120 |" in text
    assert "3,150 scans/s" in text and "at most 1,667 scans/s" in text
