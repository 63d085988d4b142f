"""STAND-IN, replaced at merge by helper `auth`'s module of the same name.

Supervisor access for web pages and board actions. This stand-in lets everyone in
and names every actor "anonymous"; the board code uses only these four names
(`roles_required`, `current_actor`, `SUPERVISORS`, `board_socket_allowed`), so
the real module drops in without other changes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

SUPERVISORS = ("supervisor", "admin")


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A view decorator: only users with one of `roles` (stand-in: everyone)."""

    def wrap(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def allowed(*args: Any, **kwargs: Any) -> Any:
            return view(*args, **kwargs)

        return allowed

    return wrap


def current_actor() -> str:
    """The signed-in user's name for audit rows (stand-in: "anonymous")."""
    return "anonymous"


def board_socket_allowed() -> bool:
    """May this request open the /board namespace (stand-in: yes)."""
    return True
