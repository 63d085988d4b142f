"""The board's newer pages as a supervisor sees them, in a real Chromium against the real
server: the Transfers panel with a transfer on its way and its units in transit, a planned one
cancelled and a unit set aside at the dock accepted into a bin with its buttons, the "Moves to
pick faces" panel with an open move, a return authorised from an order's drawer with its
button, and the forecast page drawing a chart per SKU from four weeks of order history."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from floorkit import BOARD_PASSWORD, log_in, pen_and_mug_history
from trackkit import ship, ship_order

from server.config import ForecastSettings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue, forecasting, replenishment, transfers
from server.people import users

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]

HTTP_CODE = re.compile(r"\b[45]\d\d\b")
SHOTS = os.environ.get("BOARDCHECK_SHOTS")  # a path prefix: save the pages as PNGs to look at

# Pixels of the chart's canvas that are drawn (not transparent), and those of the reorder
# point's red (#c62828, antialiased): the page may say "reorder point" and still draw nothing.
CANVAS_PIXELS = """(fig) => {
  const c = fig.querySelector('canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let drawn = 0, red = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 0) drawn++;
    if (d[i + 3] > 128 && d[i] > 150 && d[i + 1] < 80 && d[i + 2] < 80) red++;
  }
  return {drawn, red, width: c.width, height: c.height};
}"""


def _site(store) -> dict:
    """Reserve stock behind the pen face, four weeks of pen and mug orders, a transfer shipped
    east to west, the face below its min (an open move), a shipped order, then the forecast."""
    catalogue.load(
        store,
        CatalogueIn.model_validate(
            {
                "locations": [
                    {"warehouse": "WH-EAST", "code": "E-03-01", "aisle": 3},
                    {"warehouse": "WH-EAST", "code": "R-01", "aisle": 9, "role": "reserve"},
                ],
                "stock": [
                    {"warehouse": "WH-EAST", "location": "E-03-01", "sku": "SKU-B", "on_hand": 90},
                    {"warehouse": "WH-EAST", "location": "E-03-01", "sku": "SKU-A", "on_hand": 30},
                    {"warehouse": "WH-EAST", "location": "R-01", "sku": "SKU-B", "on_hand": 30},
                ],
            }
        ),
    )
    today = datetime.now(UTC).date()
    pen_and_mug_history(store, today)
    moved, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-A", 1), ("SKU-B", 2)], "sam")
    ship_order(store, moved["order_id"])
    with store.write():  # a pen more than was shipped, set aside at WH-WEST's dock
        store.execute(
            "INSERT INTO transfer_lots (transfer_id, sku, lot, over) "
            "SELECT id, 'SKU-B', '', 3 FROM transfers WHERE transfer = ?",
            (moved["transfer"],),
        )
    planned, _ = transfers.plan(store, "WH-EAST", "WH-WEST", [("SKU-B", 1)], "sam")
    move = replenishment.set_limits(store, "WH-EAST", "E-01-01", "SKU-B", 12, 16, "sam")["task"]
    oid, _ = ship(store, "SHOP-7002", packages=2)
    done = forecasting.run(store, ForecastSettings(history_days=28, horizon_days=14), today=today)
    assert done["WH-EAST"] == 2, done
    return {"transfer": moved["transfer"], "planned": planned["transfer"], "move": move,
            "order": oid}  # fmt: skip


def test_transfers_moves_a_return_and_the_forecast_charts_in_a_browser(
    floor_settings, floor_store, server_proc, browser_page
):
    from playwright.sync_api import expect

    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    site = _site(floor_store)
    base = server_proc(floor_settings.data_dir)
    page = browser_page
    seen: list[str] = []
    page.on("pageerror", lambda e: seen.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and seen.append(f"console: {m.text}"))
    log_in(page, base, "sam")
    expect(page.locator("#link")).to_have_text("live")

    # Transfers: the shipped transfer, its units and those in transit per SKU; the planned one.
    expect(page.locator("#tr-summary")).to_have_text("2 open, 3 units in transit")
    row = page.locator("#tr-open tbody tr")
    expect(row).to_have_count(2)
    expect(row.nth(0).locator("td")).to_have_text(
        [site["transfer"], "WH-EAST → WH-WEST", "in transit", "3", "3", "on its way: receive it"]
    )
    expect(row.nth(1).locator("td")).to_have_text(
        [site["planned"], "WH-EAST → WH-WEST", "planned", "1", "0", "Cancel transfer"]
    )
    # Three pens set aside at the dock: a bin of the other warehouse, or more units than are
    # set aside, are refused in words; then two go into one of WH-WEST's bins and the third
    # is rejected.
    aside = page.locator("#tr-aside tbody tr")
    expect(aside.locator("td").first).to_have_text(site["transfer"])
    renders = int(page.locator("body").get_attribute("data-transfers") or 0)
    aside.locator("input.settle-bin").fill("E-01-01")
    aside.get_by_role("button", name="Accept into bin").click()
    toast = page.locator("#toast")
    expect(toast).to_have_text("Not done: E-01-01 is not a bin of WH-WEST")
    # The panel is drawn again after every action; what was typed stays in the bin field.
    page.wait_for_function(f"() => Number(document.body.dataset.transfers) > {renders}")
    expect(aside.locator("input.settle-bin")).to_have_value("E-01-01")
    aside.locator("input.settle-bin").fill("W-01-01")
    aside.locator("input.settle-units").fill("5")
    aside.get_by_role("button", name="Accept into bin").click()
    expect(toast).to_have_text(
        f"Not done: SKU-B on {site['transfer']}: 5 units asked, 3 are set aside"
    )
    aside.locator("input.settle-units").fill("2")
    aside.get_by_role("button", name="Accept into bin").click()
    expect(toast).to_have_text(
        f"Done: {site['transfer']}: SKU-B: 2 accepted into W-01-01; 1 still set aside"
    )
    expect(aside.locator("td").nth(3)).to_have_text("1")
    expect(aside.locator("input.settle-units")).to_have_value("")
    page.once("dialog", lambda d: d.accept())
    aside.get_by_role("button", name="Reject", exact=True).click()
    expect(toast).to_have_text(f"Done: {site['transfer']}: SKU-B: 1 rejected")
    expect(page.locator("#tr-aside tbody td.empty")).to_have_text("Nothing set aside.")
    page.once("dialog", lambda d: d.accept())
    row.nth(1).get_by_role("button", name="Cancel transfer").click()
    expect(toast).to_have_text(f"Done: {site['planned']}: cancelled")
    expect(row).to_have_count(1)
    expect(page.locator("#tr-summary")).to_have_text("1 open, 3 units in transit")
    expect(page.locator("#tr-transit tbody tr")).to_have_text(
        [re.compile(r"SKU-A\s*WH-EAST → WH-WEST\s*1"), re.compile(r"SKU-B\s*WH-EAST → WH-WEST\s*2")]
    )
    # The audit log says what was planned and settled in words, not "[object Object]".
    expect(
        page.locator(f'#audit tr:has(td.ref:text-is("{site["transfer"]}")) td.meta')
    ).to_have_text(
        [
            "set_aside: 0, sku: SKU-B, units: 1",
            "bin: W-01-01, set_aside: 1, sku: SKU-B, units: 2",
            "from: WH-EAST, lines: SKU-A 1, SKU-B 2, source: manual, to: WH-WEST",
        ]
    )
    # Moves: the pen face below its min, fed from the reserve bin, taken by nobody yet.
    expect(page.locator("#moves-count")).to_have_text("1")
    move = page.locator(f'#moves-table tbody tr[data-move="{site["move"]}"] td')
    expect(move).to_have_text(
        [f"#{site['move']}", "SKU-B Red pen", "R-01", "E-01-01", re.compile(r"^0 of \d+$"),
         "to reserve bin", "nobody yet"]
    )  # fmt: skip
    if SHOTS:
        page.screenshot(path=f"{SHOTS}-board.png", full_page=True)
        page.locator("#transfers").screenshot(path=f"{SHOTS}-transfers.png")
        page.locator("#moves").screenshot(path=f"{SHOTS}-moves.png")

    # A return from the order's drawer: one of the two pens comes back.
    page.fill("#order-q", site["order"])
    page.click("#order-find-go")
    page.locator(f'#order-results li.found[data-order="{site["order"]}"]').get_by_role(
        "button"
    ).click()
    returns = page.locator("#drawer #order-returns")
    expect(returns.locator(".return-line")).to_have_text(re.compile(r"SKU-B \(up to 2\)"))
    returns.locator('input[data-sku="SKU-B"]').fill("1")
    returns.locator("#return-reason").fill("scratched")
    returns.get_by_role("button", name="Authorise return").click()
    expect(toast).to_have_text(
        "Done: RMA-000001 authorised: the dock receives it by that number or the parcel's label"
    )
    assert not HTTP_CODE.search(toast.text_content() or "")
    expect(returns.locator("p.meta")).to_have_text(["RMA-000001 · authorised · from board"])
    expect(returns.locator(".return-line")).to_have_text(re.compile(r"SKU-B \(up to 1\)"))
    assert floor_store.one("SELECT rma, status FROM rmas") == {
        "rma": "RMA-000001",
        "status": "authorised",
    }
    if SHOTS:
        page.locator("#drawer").screenshot(path=f"{SHOTS}-return.png")

    # The forecast page: a chart per SKU, each drawn, with its reorder point.
    page.goto(base + "/board/forecast")
    expect(page.locator("body")).to_have_attribute("data-charts", "4")
    expect(page.locator("#fc-count")).to_have_text("4 SKUs")
    pen = page.locator('figure.forecast[data-warehouse="WH-EAST"][data-sku="SKU-B"]')
    expect(pen.locator("figcaption")).to_contain_text(re.compile(r"reorder point \d+\.\d"))
    expect(pen.locator(".u-legend")).to_contain_text("reorder point")
    for fig in page.locator("figure.forecast").all():
        px = fig.evaluate(CANVAS_PIXELS)
        assert px["width"] > 200 and px["drawn"] > 0.02 * px["width"] * px["height"], px
        assert px["red"] > 20, px  # the reorder point's line
    if SHOTS:
        page.screenshot(path=f"{SHOTS}-forecast.png", full_page=True)
    # The errors the browser logged: the refused bin and units, answered 422 (told in words).
    refused = (
        "console: Failed to load resource: the server responded with a status of 422 "
        "(UNPROCESSABLE ENTITY)"
    )
    assert seen == [refused, refused]
