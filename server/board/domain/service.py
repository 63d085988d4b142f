"""Customer service's rules: which actions apply to an order as it stands, and why not.

The order page asks these rules what to offer; the server asks the same rules before it acts,
so what the page does not offer the server refuses, with the same sentence. Each rule answers
None (the action applies) or a sentence a person reads ("order SO-000012 has shipped: its
address can no longer change").

- change the address: before picking starts (no unit picked, no list with a picker);
- cancel: the rule of REST's cancel, the same function (server/capture/domain/cancelling.py):
  anything of the order not with a carrier may be cancelled; with a parcel of it with a
  carrier, the page offers "cancel the rest" and says which units that cancels;
- re-ship a lost parcel: a parcel with a carrier (its shipment shipped), not delivered, not
  already marked lost; a lost parcel again once its re-ship was cancelled (the rest of the
  order cancelled) while the order goes on, but not while its re-ship is on the floor, nor
  while its units wait for stock (a re-ship short-picked to a bin, with no warehouse to take
  it), nor once sent again, nor when the order is cancelled;
- resend a customer mail: a mail that went out or was refused (not one still on its way,
  nor one that had no address, nor one written while e-mail was off).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.capture.domain import cancelling

ACTIONS = ("change_address", "cancel", "reship", "resend_mail")
NOT_YET_SHIPPED = ("received", "backordered", "partially_allocated", "allocated", "picking",
                   "picked", "packed")  # fmt: skip
RESENDABLE = ("sent", "refused")


@dataclass(frozen=True)
class Parcel:
    """A package as the rules see it."""

    id: int
    tracking: str
    shipped: bool  # its shipment is with the carrier
    delivered: bool
    lost: bool
    replaced: bool = False  # its re-ship was packed: the new parcel has its label
    # A lost parcel's re-ship, not yet packed: "floor" (a shipment on the floor), "waiting" (its
    # units wait for stock), "cancelled" (cancelled with the rest of the order), or None.
    reship: str | None = None
    waiting: str = ""  # the units that wait, in words ("1 x SKU-B")


@dataclass(frozen=True)
class Mail:
    """A customer mail as the rules see it."""

    id: int
    kind: str
    status: str


@dataclass(frozen=True)
class OrderFacts:
    """What the rules need to know of an order."""

    id: str
    status: str
    picking_started: bool
    parcels: tuple[Parcel, ...] = ()
    mails: tuple[Mail, ...] = ()
    email: str | None = None
    cancel: cancelling.CancelFacts | None = None  # the cancel rule's facts (None: as `status`)


def why_not_change_address(o: OrderFacts) -> str | None:
    """None if the ship-to may change now, else why not."""
    if o.status == "cancelled":
        return f"order {o.id} is cancelled: there is nothing to send"
    if o.status not in NOT_YET_SHIPPED:
        return f"order {o.id} has shipped: its address can no longer change"
    if o.picking_started:
        return f"picking of order {o.id} has started: its address can no longer change"
    return None


def why_not_cancel(o: OrderFacts) -> str | None:
    """None if the order (or its rest) may be cancelled now, else why not: REST's own rule."""
    return cancelling.why_not_cancel(o.cancel or cancelling.CancelFacts(o.id, o.status, 0))


def cancel_rest(o: OrderFacts) -> str | None:
    """What "cancel the rest" cancels, in words, when a parcel of the order is with a carrier
    and the rest may be cancelled; None otherwise (the cancel is the whole order's, or none)."""
    if o.cancel is None or not cancelling.partly(o.cancel):
        return None
    return cancelling.said(o.cancel)


def why_not_reship(o: OrderFacts, package_id: int) -> str | None:
    """None if this parcel may be marked lost and sent again, else why not."""
    parcel = next((p for p in o.parcels if p.id == package_id), None)
    if parcel is None:
        return f"package {package_id} is not a parcel of order {o.id}"
    if parcel.lost and parcel.replaced:
        return f"parcel {parcel.tracking} is already marked lost and was sent again"
    if parcel.lost and o.status == "cancelled":
        return f"order {o.id} is cancelled: parcel {parcel.tracking} is not sent again"
    if parcel.lost and parcel.reship == "waiting":
        return (
            f"parcel {parcel.tracking} is already marked lost: its re-ship waits for stock "
            f"({parcel.waiting} on no shelf that could take it); it goes to the floor when the "
            "stock comes in"
        )
    if parcel.lost and parcel.reship != "cancelled":
        return (
            f"parcel {parcel.tracking} is already marked lost: its re-ship is on the floor, "
            "not yet packed"
        )
    if parcel.lost:  # its re-ship was cancelled with the rest of the order: it may go again
        return None
    if not parcel.shipped:
        return f"parcel {parcel.tracking} has not left with a carrier: it is not lost"
    if parcel.delivered:
        return f"parcel {parcel.tracking} was delivered: it is not lost"
    return None


def why_not_resend(o: OrderFacts, mail_id: int) -> str | None:
    """None if this mail may be sent again, else why not."""
    m = next((m for m in o.mails if m.id == mail_id), None)
    if m is None:
        return f"mail {mail_id} is not a mail of order {o.id}"
    if not o.email:
        return f"order {o.id} has no e-mail address to send to"
    if m.status == "pending":
        return f"the {m.kind.replace('_', ' ')} mail is still on its way: it is not sent again"
    if m.status not in RESENDABLE:
        return f"the {m.kind.replace('_', ' ')} mail was never sent ({_words(m.status)})"
    return None


def _words(status: str) -> str:
    return {"no_address": "the order had no e-mail address", "off": "e-mail was turned off"}.get(
        status, status
    )


def lost_words(p: Parcel) -> str:
    """Where a lost parcel's re-ship is, in words (for the page, beside the parcel)."""
    if p.replaced:
        return "sent again"
    if p.reship == "waiting":
        return f"its re-ship waits for stock ({p.waiting})"
    if p.reship == "cancelled":
        return "its re-ship was cancelled"
    return "its re-ship is on the floor"


def offered(o: OrderFacts) -> dict[str, object]:
    """Every action with what the page offers: for the order-wide ones None (offered) or the
    sentence saying why not; for parcels and mails, the ids offered."""
    return {
        "change_address": why_not_change_address(o),
        "cancel": why_not_cancel(o),
        "cancel_rest": cancel_rest(o),
        "reship": _ids(o.parcels, lambda p: why_not_reship(o, p.id)),
        "resend_mail": _ids(o.mails, lambda m: why_not_resend(o, m.id)),
        "lost": {p.id: lost_words(p) for p in o.parcels if p.lost},
    }


def _ids(items: Iterable[Parcel | Mail], why: object) -> list[int]:
    return [i.id for i in items if why(i) is None]  # type: ignore[operator]
