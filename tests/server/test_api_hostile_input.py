"""Hostile REST input (issue 10): a clear 4xx, nothing written, never a 500."""

from __future__ import annotations

import pytest


@pytest.fixture
def refused(snapshot, catalogue):
    """Sends a request and asserts it was refused with status (and error word), writing nothing."""

    def check(send, status: int, error: str | None = None):
        before = snapshot()
        resp = send()
        assert resp.status_code == status, resp.get_data(as_text=True)
        body = resp.get_json()
        assert body["message"], body
        if error is not None:
            assert body["error"] == error, body
        assert snapshot() == before
        return resp

    return check


# ---------------------------------------------------------------- 1. nesting
NESTED = "[" * 60000 + "]" * 60000


@pytest.mark.parametrize(
    "raw",
    [
        NESTED,
        '{"order_id": "deep-1", "lines": ' + NESTED + "}",
        '{"order_id": "deep-2", "ship_to": {"name": ' + "[" * 500 + "]" * 500 + "}}",
    ],
    ids=["whole-body", "in-a-field", "deeper-than-any-schema"],
)
def test_deeply_nested_json_is_400(client, headers, refused, raw):
    resp = refused(
        lambda: client.post(
            "/api/orders", data=raw, content_type="application/json", headers=headers
        ),
        400,
        "malformed_json",
    )
    assert "nested" in resp.get_json()["message"]
