"""Every sentence a picker or packer reads, in one place: the server and the device (offline) both use it."""

from __future__ import annotations


def wait_for_work() -> str:
    return "No work right now. Wait here."


def scan_empty_tote() -> str:
    return "Scan an empty tote"


def go_to(location: str) -> str:
    return f"Go to {location}"


def pick(qty: int, name: str, location: str) -> str:
    return f"Pick {qty} × {name} from {location}"


def take_tote_to_packing(tote: str | None) -> str:
    return f"List done. Take tote {tote} to packing" if tote else "List done. Take it to packing"


def drop_off_confirm(totes: list[str]) -> str:
    """How the picker says the totes are at packing (the next list waits for it)."""
    which = " or ".join(totes) if totes else "the tote"
    return f"Put it at packing and scan {which}: then the next list"


def drop_off_first(totes: list[str]) -> str:
    return f"First take {', '.join(totes) or 'the tote'} to packing: {drop_off_confirm(totes)}"


def dropped_off(totes: list[str]) -> str:
    return f"{', '.join(totes) or 'Tote'} at packing. Next list"


def scan_tote_or_list() -> str:
    return "Scan a tote or pick list"


def totes_waiting(totes: list[str]) -> str:
    """Which totes wait for packing, by name (the first few): the packer knows which to fetch."""
    if not totes:
        return "No totes waiting"
    shown = ", ".join(totes[:3]) + (" …" if len(totes) > 3 else "")
    if len(totes) == 1:
        return f"Tote {shown} is waiting for packing"
    return f"{len(totes)} totes waiting for packing: {shown}"


def verify_items(done: int, total: int) -> str:
    return f"Scan each item: {done} of {total} checked"


def pack_label_headline() -> str:
    """The big words once every item is checked: what the packer does next."""
    return "LABEL BOX, SCAN IT"


def scan_label(tracking: str) -> str:
    return f"Stick the label on the box, then scan it ({tracking})"


def label_printing() -> str:
    return "Printing label…"


def label_not_printed() -> str:
    return "Label did not print"


def fix_printer(problem: str) -> str:
    return (
        f"Fix the printer ({problem}): the label prints by itself once it works. "
        "CMD-REPRINT sends it again"
    )


def label_sent_again(order_id: str | None) -> str:
    return f"Label for {order_id} sent to the printer again" if order_id else "Label sent again"


# Results of a scan -----------------------------------------------------------
WRONG_HEADLINES = {
    "wrong_location": "WRONG BIN",
    "unknown_barcode": "UNKNOWN CODE",
    "wrong_item": "WRONG ITEM",
    "item_not_in_order": "WRONG ITEM",
    "item_extra": "EXTRA ITEM",
    "wrong_tote": "WRONG TOTE",
    "not_a_tote": "NOT A TOTE",
    "tote_in_use": "TOTE IN USE",
    "not_this_cart": "WRONG CART",
    "wrong_lot": "WRONG LOT",
    "lot_required": "SCAN THE LOT",
    "wrong_label": "WRONG LABEL",
    "unknown_container": "UNKNOWN CODE",
    "other_warehouse": "OTHER WAREHOUSE",
    "drop_off_first": "TO PACKING FIRST",
    "weight_off": "CHECK WEIGHT",
    # Not a scan's verdict: what the device itself shows red (no scan was wrong).
    "printer": "CHECK PRINTER",
    "server_refused": "SERVER REFUSED",
    "replaced": "SIGNED OUT",
}


def still(instruction: str) -> str:
    """Under a refused scan: what the screen still asks for."""
    return f"Still: {instruction}"


def wrong_headline(code: str | None) -> str:
    """The big words a refused scan puts on the whole (red) screen."""
    return WRONG_HEADLINES.get(code or "", "WRONG SCAN")


def tote_taken(tote: str) -> str:
    return f"Tote {tote} started"


def tote_in_use(tote: str) -> str:
    return f"Tote {tote} is already in use. Take an empty one"


def not_a_tote(barcode: str) -> str:
    return f"{barcode} is not a tote. Scan an empty tote"


def location_ok(location: str) -> str:
    return f"At {location}"


def wrong_location(scanned: str, expected: str) -> str:
    return f"Wrong bin: {scanned} is another location. Go to {expected}"


def not_a_location(scanned: str, kind: str, expected: str) -> str:
    """An item or a tote scanned where the bin label is asked for."""
    return f"{scanned} is {kind}, not a bin label. Scan the label of bin {expected}"


def unknown_scan(scanned: str) -> str:
    """A barcode that is no location, item or tote the floor knows."""
    return f"{scanned} is not a location, item or tote"


def unknown_at_location(scanned: str, expected: str) -> str:
    return f"{unknown_scan(scanned)}. Go to {expected}"


def unknown_at_item(scanned: str, expected: str) -> str:
    return f"{unknown_scan(scanned)}. Pick {expected}"


def location_not_item(scanned: str, expected: str) -> str:
    return f"{scanned} is a bin label, not an item. Pick {expected}"


def item_ok(picked: int, qty: int) -> str:
    return f"Picked {picked} of {qty}"


def tote_not_item(scanned: str, expected: str) -> str:
    return f"{scanned} is a tote, not an item. Pick {expected}"


def not_on_list_item(scanned: str, expected: str) -> str:
    """Offline, a barcode the handheld's list does not hold (it cannot say more without the
    server's catalogue)."""
    return f"Wrong item: {scanned} is not on this list. Pick {expected}"


def not_this_bin(scanned: str, expected: str) -> str:
    """Offline, a barcode that is not this bin's label and not on the list."""
    return f"{scanned} is not the label of bin {expected}. Go to {expected}"


def wrong_item(scanned: str, expected: str, scanned_name: str) -> str:
    """Both products named: the one in hand and the one to pick."""
    return f"Wrong item: {scanned_name} ({scanned}). Pick {expected}"


def the_other(n: int, singular: str, plural: str) -> str:
    """ "the other 1 comes" / "the other 2 come": the verb agrees with the count."""
    return f"the other {n} {singular if n == 1 else plural}"


def still_to_check(items: list[tuple[int, str]]) -> str:
    return "Still to check: " + ", ".join(f"{n} × {name}" for n, name in items)


def unknown_barcode(barcode: str) -> str:
    return f"Unknown barcode {barcode}"


def list_done(tote: str | None) -> str:
    return take_tote_to_packing(tote)


def nothing_to_scan() -> str:
    return "Nothing to scan now"


def packed_elsewhere(ref: str, warehouse: str) -> str:
    return f"{ref} holds work of {warehouse}: pack it at a pack station of {warehouse}"


def list_not_ready(ref: str) -> str:
    return f"{ref} is not ready for packing"


def list_on_other_bench(ref: str) -> str:
    return f"{ref} is being packed at another bench"


def packing_started(ref: str, order_id: str) -> str:
    return f"Packing order {order_id} from {ref}"


def item_checked(done: int, total: int) -> str:
    return f"Checked {done} of {total}"


def item_not_in_order(barcode: str) -> str:
    return f"{barcode} is not in this order. Put it aside"


def item_already_checked(barcode: str) -> str:
    return f"All {barcode} already checked. Put the extra aside"


def order_on_hold(order_id: str, waiting: int, container: str) -> str:
    return (
        f"Order {order_id} is on hold: {waiting} more to come, and it ships complete only. "
        f"Put {container} on the hold shelf"
    )


def all_checked() -> str:
    return "All items checked. Printing label"


def wrong_label(scanned: str, expected: str) -> str:
    return f"Wrong label {scanned}. Scan label {expected}"


def package_confirmed(order_id: str) -> str:
    return f"Order {order_id} packed"


def bad_message(reason: str) -> str:
    return f"Message refused: {reason}"


def barcode_not_sent(barcode: str) -> str:
    shown = barcode.encode("ascii", "backslashreplace").decode()[:40]
    return f"Cannot send barcode {shown}: not counted. Scan another label or call a supervisor"


def id_reused(msg_id: str, event: str) -> str:
    return f"Message id {msg_id} was already used for a {event}: send this one with a new id"


def seq_not_issued(seq: int, highest: int) -> str:
    return f"Event {seq} was never sent to this device (the last is {highest})"


# Offline replay and worker actions ---------------------------------------------
def list_changed(ref: str) -> str:
    return f"Pick list {ref} is no longer yours. This scan did not count: follow the screen"


def replaced() -> str:
    return "Signed in on another connection: this one is closed"


def replaced_on_device() -> str:
    return "Signed in on another handheld with this token. Scan CMD-LOGIN to use this one instead"


def help_requested() -> str:
    return "Help requested: a supervisor has been told"


def logged_out() -> str:
    return "Logged out"


def scan_tote_for(order_id: str, position: int, count: int) -> str:
    return f"Scan an empty tote for order {order_id} ({position} of {count})"


def put_in_tote(tote: str, order_id: str) -> str:
    return f"Put it in tote {tote} ({order_id})"


def put_ok(tote: str) -> str:
    return f"In tote {tote}"


def wrong_tote(scanned: str, expected: str) -> str:
    return f"Wrong tote {scanned}. Put it in {expected}"


def take_totes_to_packing(totes: list[str]) -> str:
    if len(totes) == 1:
        return take_tote_to_packing(totes[0])
    return f"List done. Take {len(totes)} totes to packing"


def short_recorded(found: int, location: str) -> str:
    return f"Short pick at {location}: {found} found. Bin sent for a count"


def short_replaced(found: int, location: str, missing: int, refill: str, next_now: bool) -> str:
    """The missing units come from another bin: said so that it agrees with the headline,
    which shows the refill bin only when it is the very next stop."""
    rest = the_other(missing, "comes", "come")
    if next_now:
        return f"{short_recorded(found, location)}. Next: {rest} from bin {refill}"
    return f"{short_recorded(found, location)}. Later in this list {rest} from bin {refill}"


def short_elsewhere(found: int, location: str, missing: int, warehouse: str) -> str:
    rest = the_other(missing, "ships", "ship")
    return f"{short_recorded(found, location)}. {rest[0].upper()}{rest[1:]} from {warehouse}"


def short_backordered(found: int, location: str, missing: int, order_id: str) -> str:
    return (
        f"{short_recorded(found, location)}. None in stock elsewhere: "
        f"{the_other(missing, 'waits', 'wait')} as a backorder, the rest of {order_id} ships"
    )


def short_held(found: int, location: str, missing: int, order_id: str) -> str:
    return (
        f"{short_recorded(found, location)}. None in stock elsewhere: order {order_id} waits "
        f"for the other {missing} (it ships complete only): its tote goes on hold at packing"
    )


def short_if_empty_held(missing: int, order_id: str) -> str:
    return (
        f"If it is empty: none in stock elsewhere, so order {order_id} waits for the other "
        f"{missing} (it ships complete only) and its tote goes on hold"
    )


def how_many_in_bin(location: str) -> str:
    return (
        f"How many are in bin {location}? Scan the count card (CMD-COUNT-n), "
        "or CMD-SHORT again if it is empty"
    )


def short_if_empty_from_bin(missing: int, location: str) -> str:
    return f"If it is empty: {the_other(missing, 'comes', 'come')} from bin {location}"


def short_if_empty_from_warehouse(missing: int, warehouse: str) -> str:
    return f"If it is empty: {the_other(missing, 'ships', 'ship')} from {warehouse}"


def short_if_empty_backordered(missing: int, order_id: str) -> str:
    return (
        f"If it is empty: none in stock elsewhere, {the_other(missing, 'waits', 'wait')} as a backorder "
        f"and the rest of {order_id} ships"
    )


def short_plan_offline() -> str:
    return "Offline: where the rest comes from is decided when the link is back"


def short_counted(location: str) -> str:
    return f"Bin {location} is then set to your count and checked"


def short_nothing_to_do() -> str:
    return "Nothing to short here: scan the bin first"


def receive_scan_bin() -> str:
    return "Receiving: scan the bin the goods go into"


def receive_scan_items(units: int, location: str) -> str:
    return f"Scan each item into {location} · {units} scanned · CMD-DONE books them"


def receive_bin_ok(location: str) -> str:
    return f"Receiving into {location}"


def received(units: int, name: str) -> str:
    return f"+1 {name} ({units} scanned)" if units else name


def receive_bin_first() -> str:
    return "Scan the bin first"


def receive_unknown(barcode: str) -> str:
    return f"Unknown item {barcode}: put it aside for a supervisor"


def receive_bad_lot(lot: str) -> str:
    return f"Lot {lot} cannot be booked (letters, digits and . _ / - only): put it aside for a supervisor"


def receive_too_many(most: int) -> str:
    return f"Too many: one receipt takes at most {most:,} of an item per bin. Book these first"


def receipt_refused(reason: str) -> str:
    return f"Receipt not booked: {reason}. Call a supervisor"


def receipt_booked(units: int) -> str:
    return f"Received {units} units. Back to work"


def receive_nothing() -> str:
    return "Nothing scanned: receiving closed"


def nothing_to_reprint() -> str:
    return "No label on this bench to reprint"


def scan_lot(lot: str) -> str:
    return f"Lot-tracked: scan the item's GS1 barcode (lot {lot})"


def wrong_lot(scanned: str, expected: str) -> str:
    return f"Wrong lot {scanned}. Pick lot {expected}"


def logged_out_list(ref: str) -> str:
    return f"Logged out. {ref} went back to the queue"


def logged_in() -> str:
    return "Logged in. Waiting for work"


def logged_out_idle() -> str:
    return "Logged out. Scan CMD-LOGIN to start"


def fetch_cart(totes: list[str]) -> str:
    return f"Fetch the cart with tote {', '.join(totes)} and scan a tote"


def cart_found() -> str:
    return "Cart found. Carry on"


def not_this_cart(barcode: str, totes: list[str]) -> str:
    return f"{barcode} is not on this cart. Scan tote {', '.join(totes)}"


# The dock: loading packed boxes onto a carrier's truck ---------------------------------
def dock_scan_carrier() -> str:
    return "Dock: scan the card of the carrier whose truck you load (CARRIER-...)"


def dock_load(title: str, loaded: int, total: int) -> str:
    if total == 0:
        return f"{title}: nothing to load. Close out {title} first, then scan each package"
    return f"{title}: scan each package onto the truck ({loaded} of {total} loaded)"


def dock_carrier_ok(title: str) -> str:
    return f"Loading the {title} truck"


def dock_unknown_carrier(barcode: str) -> str:
    return f"{barcode} is not a carrier of this site"


def dock_carrier_first() -> str:
    return "Scan the carrier card first (CARRIER-...)"


def dock_loaded(tracking: str, loaded: int, total: int) -> str:
    return f"{tracking} loaded ({loaded} of {total})"


def dock_already_loaded(tracking: str) -> str:
    return f"{tracking} is already on the truck"


def dock_wrong_carrier(tracking: str, carrier: str) -> str:
    return f"{tracking} is a {carrier} package: take it to the {carrier} dock"


def dock_not_manifested(tracking: str, carrier: str) -> str:
    return f"{tracking} is on no {carrier} manifest: set it aside, close out {carrier} again"


def dock_not_packed(tracking: str) -> str:
    return f"{tracking} is not packed yet: take it back to packing"


def dock_other_warehouse(tracking: str, warehouse: str) -> str:
    return f"{tracking} belongs to warehouse {warehouse}: set it aside"


def dock_misread(barcode: str) -> str:
    return f"{barcode}: the check digit is wrong. Scan the label again"


def dock_unknown(barcode: str) -> str:
    return f"{barcode} is no package of ours. Scan the tracking barcode on the label"


def dock_cannot_ship(tracking: str, why: str) -> str:
    return f"{tracking} cannot ship: {why}. Set it aside, call a supervisor"


def dock_busy_bench() -> str:
    return "Finish the box on the bench first, then scan CMD-DOCK"


# What a handheld must finish before it starts another of the dock's modes, and its card.
_FINISH_FIRST = {
    "receive": "Book what was received first (CMD-DONE)",
    "return": "Close the return first (CMD-RETURN-DONE)",
    "transfer": "Close the transfer's receipt first (CMD-TRANSFER-DONE)",
    "dock": "Hand the truck over first (CMD-DOCK-DONE)",
}


def busy_in_mode(mode: str, card: str) -> str:
    """A card that starts a mode (`card`) while the handheld is in another (`mode`)."""
    return f"{_FINISH_FIRST[mode]}, then scan {card}"


def dock_handed_over(loaded: int, missing: list[str]) -> str:
    if not missing:
        return f"Truck handed over with {loaded} package(s)"
    shown = ", ".join(missing[:3]) + (" ..." if len(missing) > 3 else "")
    return f"Truck handed over with {loaded} package(s); {len(missing)} MISSING: {shown}"


def not_docking() -> str:
    return "Not loading a truck: scan CMD-DOCK first"


def dock_pack_stations_only() -> str:
    return "Only a pack station loads trucks at the dock"


# ---------------------------------------------------------------- badges
def signed_in(name: str) -> str:
    return f"Signed in: {name}"


def unknown_badge(name: str) -> str:
    return f"No worker {name}: ask a supervisor for your badge"


def badge_wrong_role(name: str, role: str, device_role: str) -> str:
    return f"{name} is a {role}: this is a {device_role}'s device"


def sign_in_first() -> str:
    return "Scan your badge first"


def kg(grams: int) -> str:
    """A weight as the packer reads it: 1.42 kg."""
    return f"{grams / 1000:.2f} kg"


def box_suggested(code: str) -> str:
    return f"Box: {code} (scan another box's barcode to change)"


def box_chosen(code: str) -> str:
    return f"Box {code} chosen"


def no_box_fits() -> str:
    return "No box fits: split the order or use an oversize box (scan its barcode)"


def box_changed_label_again(code: str) -> str:
    return f"Box {code} chosen: label printed again with its weight"


def box_too_small(code: str, why: str) -> str:
    return f"Box {code} chosen, but {why}"


def weight_off(measured_g: int, expected_g: int, tolerance_g: int) -> str:
    # The tolerance rounded up to 10 g, so what the packer reads never understates it.
    return (
        f"Weight {kg(measured_g)}, expected {kg(expected_g)} ± {-(-tolerance_g // 10) / 100:.2f}: "
        "check the items"
    )


def weight_check_what_to_do(tracking: str) -> str:
    return (
        f"Recount and repack, then put the box on the scale and scan the label ({tracking}) "
        "to weigh again; or a supervisor scans CMD-WEIGHT-OK to accept it"
    )


def weight_ok(measured_g: int) -> str:
    return f"Weight {kg(measured_g)} ok"


def weight_accepted(order_id: str) -> str:
    return f"Weight accepted by a supervisor: order {order_id} packed"


def nothing_held() -> str:
    return "No package on this bench is held for its weight"


def scale_not_steady() -> str:
    return "Scale not steady: let the box settle on the scale and scan the label again"


def reship_marker(reships: dict[str, str], order_id: str | None, orders: list[str]) -> str:
    """The re-ship line of a picker's or packer's screen: the order on screen (or, with none,
    each on the list) sends again a parcel the carrier lost; "" for ordinary work."""
    if order_id is None and len(orders) == 1:
        order_id = orders[0]
    if order_id is not None:
        lost = reships.get(order_id)
        return f"RE-SHIP of {lost}" if lost else ""
    return "; ".join(f"RE-SHIP of {lost} ({order})" for order, lost in sorted(reships.items()))
