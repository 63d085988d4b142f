"""The stages' settings, handed to them at start: the same in the server and the worker
process. Kept apart from server/app.py so that the worker, which serves nothing, does not
import Flask-SocketIO and the REST tables (about 1 s of CPU at every worker start)."""

from __future__ import annotations

from server.config import Settings
from server.floor import scanning
from server.inventory import counts
from server.inventory.domain.counts import CountClass, Tolerance
from server.notify import mail
from server.shipping import boxes, carriers, packages


def configure(settings: Settings) -> None:
    """Hand the stages their settings (the server and the worker process alike)."""
    packages.LABEL_SETTINGS.update(settings.label.model_dump())
    carriers.configure(settings)
    mail.configure(settings.email)
    scanning.REQUIRE_BADGE["on"] = settings.device.require_badge
    counts.configure(
        Tolerance(settings.counts.max_variance_units, settings.counts.max_variance_pct),
        tuple(CountClass(c.name, c.share, c.every_days) for c in settings.counts.classes),
        settings.counts.pick_days,
    )
    boxes.configure(
        [b.model_dump() for b in settings.boxes],
        settings.packing.fill_factor,
        settings.packing.weight_tolerance_g,
        settings.packing.weight_tolerance_pct,
    )
