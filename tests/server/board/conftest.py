"""Fixtures of the board's tests: a supervisor on the board, and a desk on REST."""

from __future__ import annotations

import pytest
from floorkit import board_web

from server.people import auth


@pytest.fixture
def web(floor):
    """Sam, a supervisor, on the board: every POST carries the page's CSRF token."""
    return board_web(floor.app, "sam")


@pytest.fixture
def rest(floor):
    """A REST client with an API key that may read and write orders."""
    key = auth.create_api_key(floor.store, "desk", ["read", "orders:write"])
    client = floor.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client
