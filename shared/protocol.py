"""The device protocol on Socket.IO namespace /device, and the board's on /board.

Every message is defined here once; server and device validate what they send
and receive against these models. Each device message carries an `id` the device
made (a repeated id is the same message); each server event to a device carries
a per-device `seq` (persisted until the device reports it has seen it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from shared.text import NoHidden

PROTOCOL_VERSION = 1
# Versions the server accepts in the connect auth; any other refuses the connect.
SUPPORTED_PROTOCOLS = frozenset({PROTOCOL_VERSION})
DEVICE_NAMESPACE = "/device"
BOARD_NAMESPACE = "/board"
# Largest message a device may send; bigger ones are refused by the transport.
MAX_MESSAGE_BYTES = 64 * 1024
# Why a worker made a short pick, and why a worker asks for help (action `reason`).
SHORT_REASONS = ("empty", "damaged", "missing", "wrong_item")
HELP_REASONS = ("damaged", "no_stock", "wrong_item", "blocked", "other")
RETURN_GRADES = ("resellable", "damaged", "defective", "missing", "wrong_item", "other")

# Every integer on the wire: at most 2^53 - 1, the largest every JSON reader (JavaScript's
# Number too) holds exactly, and far below SQLite's 2^63 - 1.
MAX_INT = 2**53 - 1
Count = Annotated[int, Field(ge=0, le=MAX_INT)]  # seqs, quantities, ids
MessageId = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
]
# Scanner data: printable text plus the GS1 group separator (0x1D).
Barcode = Annotated[
    str, StringConstraints(min_length=1, max_length=200, pattern=r"^[\x1d\x20-\x7e]+$")
]

Role = Literal["picker", "packer"]
Screen = Literal[
    "idle",  # nothing to do: wait for work
    "pick_tote",  # scan an empty tote to start the pick list
    "pick_location",  # go to a bin and scan its label
    "pick_item",  # scan the item(s) in the bin
    "pick_put",  # cluster picking: scan the order's tote to confirm the put
    "pick_short",  # short pick asked: scan the count card, or CMD-SHORT again if the bin is empty
    "pick_done",  # list finished: take the tote to packing
    "pack_start",  # scan a tote or pick list
    "pack_verify",  # scan every item of the order
    "pack_label",  # label printing: scan it to confirm
    "pack_check",  # weighed outside the tolerance: recount, weigh again, or supervisor accepts
    "receive_location",  # receiving: scan the bin the goods go into
    "receive_item",  # receiving: scan each item (GS1 lot, expiry, count read from the barcode)
    "dock_carrier",  # dock: scan the card of the carrier whose truck is loaded
    "dock_load",  # dock: scan each package onto the truck
    "count_location",  # cycle count: go to the bin and scan its label
    "count_item",  # cycle count: scan each item in the bin (blind: no expected quantity)
    "return_open",  # returns: scan the parcel's label or its RMA number
    "return_item",  # returns: scan each unit in the parcel
    "return_grade",  # returns: grade the unit (resellable, or scrap with a reason)
    "return_bin",  # returns: a resellable unit goes into a bin: scan it
    "replen_reserve",  # replenishment: go to the reserve bin and scan its label
    "replen_item",  # replenishment: scan the items to move (each, or a GS1 count)
    "replen_face",  # replenishment: take them to the pick face and scan its label
    "transfer_open",  # transfers in: scan the package's label or the transfer number
    "transfer_item",  # transfers in: scan each unit
    "transfer_bin",  # transfers in: scan the bin the unit goes into
]
ExpectKind = Literal["none", "tote", "location", "item", "container", "label", "carrier", "package"]


class _Strict(BaseModel):
    """A protocol message: unknown fields refused, JSON types taken strictly (no `"3"` for 3).

    Numbers are finite: JSON has no NaN or Infinity, though Python's encoder writes them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------- connect
class ConnectAuth(_Strict):
    """The `auth` payload of a device's Socket.IO connect."""

    token: Annotated[str, StringConstraints(min_length=8, max_length=200)]
    last_seen_seq: Count = Field(0, description="Highest server event seq the device has seen.")
    protocol: int = Field(
        PROTOCOL_VERSION,
        description="Protocol version; the server refuses the connect for one it does not speak.",
        json_schema_extra={"enum": sorted(SUPPORTED_PROTOCOLS)},
    )
    device_version: Annotated[str, NoHidden()] | None = Field(None, max_length=40)
    journal_seq: Count | None = Field(
        None,
        description="Highest seq in the device's journal; above the last one the server "
        "applied, the board shows the difference as scans the device still holds.",
    )

    @field_validator("protocol")
    @classmethod
    def _spoken(cls, version: int) -> int:
        if version not in SUPPORTED_PROTOCOLS:
            speaks = ", ".join(str(v) for v in sorted(SUPPORTED_PROTOCOLS))
            raise PydanticCustomError(
                "protocol_version",
                "protocol {version} is not spoken here: this server speaks protocol {speaks}",
                {"version": version, "speaks": speaks},
            )
        return version


# ---------------------------------------------------------------- state
class Expect(_Strict):
    """What the server expects the worker to scan next."""

    kind: ExpectKind
    barcodes: list[str] = Field(default_factory=list)


class Progress(_Strict):
    done: Count
    total: Count


class StepView(_Strict):
    """One pick step as the handheld shows it."""

    step_id: Count
    location: str
    location_barcode: str
    sku: str
    product_name: str
    item_barcodes: list[str]
    qty: Count
    picked: Count
    order_id: str
    put: Count = Field(0, description="units confirmed in the order's tote")
    lot: str = Field(
        "", description="lot-tracked stock: the lot to pick (its GS1 barcode is checked)"
    )


class MoveView(_Strict):
    """A move to a pick face as the handheld works it (screens `replen_*`), so a device can
    judge its scans while offline as it judges a pick list's."""

    task_id: Count
    sku: str
    name: str = Field(description="the product's name")
    reserve: str = Field(description="the reserve bin's code")
    reserve_barcode: str
    face: str = Field(description="the pick face's code")
    face_barcode: str
    item_barcodes: list[str] = Field(description="the product's barcodes, else its SKU")
    qty: Count = Field(description="units planned")
    carried: Count = Field(description="units taken from the reserve bin so far")
    urgent: bool = Field(False, description="picks wait for this move")


def _null(value: Any) -> bool:
    return value is None


def _empty(value: Any) -> bool:
    return not value


class DeviceState(_Strict):
    """What the handheld draws: the screen, the instruction, what to scan next."""

    screen: Screen
    instruction: str
    detail: str = ""
    expect: Expect = Expect(kind="none")
    pick_list_id: Count | None = None
    order_id: str | None = None
    tote: str | None = None
    orders: list[str] = Field(
        default_factory=list, description="the list's orders, in cart position order"
    )
    totes: dict[str, str] = Field(
        default_factory=dict, description="order id -> its tote on the cart"
    )
    fetch_cart: bool = Field(
        False, description="the list was given back mid-pick: fetch its cart first"
    )
    # Left out when empty, as the packing fields below: an earlier device still reads the rest.
    reships: dict[str, str] = Field(
        default_factory=dict,
        exclude_if=_empty,
        description="re-ships on this list (picking) or bench (packing): order id -> the "
        "tracking number of the lost parcel its units replace",
    )
    progress: Progress | None = None
    step: StepView | None = None
    remaining: list[StepView] = Field(
        default_factory=list, description="Steps still to do, so the device can guide offline."
    )
    move: MoveView | None = Field(
        None,
        exclude_if=_null,
        description="replenishment: the move being worked, so the device can guide offline",
    )
    # The packing fields are left out when null: a device of an earlier release (it refuses
    # fields it does not know) still reads every screen but a bench's with a box or a label.
    box: str | None = Field(
        None,
        exclude_if=_null,
        description="packing: the box's code (the packer's choice, else the smallest that fits; "
        "none when no box fits or none is configured)",
    )
    expected_weight_g: Count | None = Field(
        None,
        exclude_if=_null,
        description="packing, once labelled: what the package should weigh (items + tare)",
    )
    weight_tolerance_g: Count | None = Field(
        None,
        exclude_if=_null,
        description="packing, once labelled: how far off the scale may be, in grams",
    )
    measured_weight_g: Count | None = Field(
        None,
        exclude_if=_null,
        description="pack_check: what the scale said when the package was held",
    )


# ---------------------------------------------------------------- device -> server
class LocalVerdict(_Strict):
    """What the device told the worker when it judged a scan alone (offline)."""

    ok: bool
    code: str = Field(max_length=40)


class ScanIn(_Strict):
    """Event `scan`: the worker scanned a barcode. Answered by a ScanReply ack."""

    id: MessageId
    barcode: Barcode
    at: float | None = Field(None, description="Device clock, seconds since epoch, when scanned.")
    seq: Count | None = Field(None, description="Device journal sequence number.")
    offline: bool = Field(False, description="Made while the server could not answer.")
    local: LocalVerdict | None = Field(
        None, description="The device's own verdict, if it gave one."
    )
    pick_list_id: Count | None = Field(
        None, description="Offline scans: the pick list the device judged it on."
    )
    move_id: Count | None = Field(
        None,
        description="Offline scans of a move to a pick face: the move the device judged it on "
        "(`DeviceState.move.task_id`); a move the device no longer holds gets `replen_changed`.",
    )
    weight_g: Count | None = Field(
        None,
        description="A pack station with a scale, scanning the label: the package's stable "
        "weight in grams. Absent: no scale, no weight check.",
    )


class PrintResultIn(_Strict):
    """Event `print_result`: how a print job went on the device's printer."""

    id: MessageId
    job_id: Annotated[int, Field(ge=1, le=MAX_INT)]  # Count's own ge=0 would win over a ge=1
    ok: bool
    error: str | None = Field(None, max_length=500)


class ActionIn(_Strict):
    """Event `action`: the worker asked for something (short pick, help, log out). Ack: Ack."""

    id: MessageId
    action: Literal[
        "short",
        "help",
        "logout",
        "login",
        "receive",
        "receive_done",
        "reprint",
        "weight_ok",
        "dock",
        "dock_done",
        "count_done",
        "return",
        "return_grade",
        "return_done",
        "transfer",
        "transfer_done",
    ]
    at: float | None = Field(None, description="Device clock, seconds since epoch.")
    seq: Count | None = Field(None, description="Device journal sequence number.")
    offline: bool = False
    pick_list_id: Count | None = None
    step_id: Count | None = None
    found: Count | None = Field(
        None,
        description="short: units the picker found in the bin; absent, the server asks first "
        "(screen pick_short) and changes nothing",
    )
    reason: (
        Literal[
            "empty",
            "damaged",
            "missing",
            "wrong_item",
            "no_stock",
            "blocked",
            "other",
            "resellable",
            "defective",
        ]
        | None
    ) = Field(
        None,
        description="short: why (empty, damaged, missing, wrong_item); help: why the worker "
        "calls (damaged, no_stock, wrong_item, blocked, other; absent: not said); return_grade: "
        "the unit's grade (resellable) or why it is scrapped (damaged, defective, missing, "
        "wrong_item, other)",
    )

    @model_validator(mode="after")
    def _reason_fits(self) -> ActionIn:
        allowed = {"short": SHORT_REASONS, "help": HELP_REASONS, "return_grade": RETURN_GRADES}.get(
            self.action, ()
        )
        if self.reason is not None and self.reason not in allowed:
            raise ValueError(f"reason {self.reason!r} does not go with action {self.action!r}")
        if self.action == "return_grade" and self.reason is None:
            raise ValueError(f"return_grade needs a reason: one of {', '.join(RETURN_GRADES)}")
        return self


class SeenIn(_Strict):
    """Event `seen`: the device has handled every server event up to `seq`."""

    id: MessageId
    seq: Count


# ---------------------------------------------------------------- server -> device
class ErrorBody(_Strict):
    """Why a message was refused: a code to switch on, a sentence to show."""

    code: str
    message: str


class ScanReply(_Strict):
    """Ack of `scan`: the result, the message for the worker, and the next state."""

    id: str
    ok: bool
    code: str
    message: str
    duplicate: bool = False
    state: DeviceState | None = None
    error: ErrorBody | None = None
    event_seq: Count | None = Field(
        None,
        description="The device's last event seq when this reply was made: older `state` "
        "events (seq at or below it) show an older screen than this reply's.",
    )


class Ack(_Strict):
    """Ack of `print_result`, `seen` and `action`; with `ok` false and `error`, the error ack
    any event may get instead of its usual ack."""

    id: str | None = None
    ok: bool
    error: ErrorBody | None = None


class StateEvent(_Strict):
    """Event `state`: the server changed the device's screen (new work, reconnect)."""

    seq: Count
    state: DeviceState
    message: str = ""


class PrintEvent(_Strict):
    """Event `print`: print this ZPL and report with `print_result`."""

    seq: Count
    job_id: Count
    package_id: Count
    order_id: str
    zpl: str
    copies: Count = 1


class ReplacedEvent(_Strict):
    """Event `replaced`: another connection signed in with this device's token; this link is closed."""

    message: str


class BoardSnapshot(BaseModel):
    """Event `snapshot` on /board: pick lists, devices and counters."""

    pick_lists: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    counts: dict[str, int]


class BoardDelta(BaseModel):
    """Event `delta` on /board: only the rows a change touched, merged into the last snapshot.
    A keep-alive holds only `at`: every field may be left out (nothing changed)."""

    pick_lists: list[dict[str, Any]] = Field(default_factory=list)
    removed_lists: list[int] = Field(default_factory=list)
    devices: list[dict[str, Any]] = Field(default_factory=list)
    counts: dict[str, int] | None = None


CLIENT_EVENTS: dict[str, type[BaseModel]] = {
    "scan": ScanIn,
    "print_result": PrintResultIn,
    "seen": SeenIn,
    "action": ActionIn,
}
# The acknowledgement each client event gets when the server takes it; any event the
# server cannot take is answered with an error Ack instead.
CLIENT_ACKS: dict[str, type[BaseModel]] = {
    "scan": ScanReply,
    "print_result": Ack,
    "seen": Ack,
    "action": Ack,
}
SERVER_EVENTS: dict[str, type[BaseModel]] = {
    "state": StateEvent,
    "print": PrintEvent,
    "replaced": ReplacedEvent,
}
BOARD_EVENTS: dict[str, type[BaseModel]] = {
    "snapshot": BoardSnapshot,
    "delta": BoardDelta,
}


class ProtocolError(ValueError):
    """A message that does not fit the protocol; `code` names the problem."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> ErrorBody:
        return ErrorBody(code=self.code, message=self.message)


def parse(model: type[BaseModel], payload: Any) -> Any:
    """Validate a payload against a protocol model, or raise ProtocolError saying why."""
    if not isinstance(payload, dict):
        raise ProtocolError("bad_message", f"expected a JSON object, got {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'message'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ProtocolError("bad_message", problems) from None


_BARCODE = TypeAdapter(Barcode)


def barcode_problem(text: str) -> str | None:
    """Why a scanner's text cannot travel in a `scan` message, or None if it can."""
    try:
        _BARCODE.validate_python(text)
    except ValidationError as exc:
        return exc.errors()[0]["msg"]
    return None


def dump(message: BaseModel) -> dict[str, Any]:
    """The JSON-ready dict of a protocol message."""
    return message.model_dump(mode="json")
