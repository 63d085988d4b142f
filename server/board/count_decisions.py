"""A supervisor decides a count that still differs after its recount, from the board."""

from __future__ import annotations

from server.board.supervise import Refused
from server.floor.scanning import Effects
from server.inventory import counts
from server.store import Store


def decide(store: Store, actor: str, task_id: int, approve: bool) -> Effects:
    """Approve (the bin is set to the recount) or reject; audited with the board user."""
    try:
        task = counts.decide(store, task_id, approve, actor)
    except KeyError:
        raise Refused(404, f"no count {task_id}") from None
    except counts.CountConflict as exc:
        raise Refused(409, str(exc)) from None
    effects = Effects(board=True)
    effects.offer_work.add(task["warehouse"])  # stock moved: waiting orders may be served
    return effects
