"""The forecast page in a real Chromium against the real server: a supervisor sets a SKU's
lead time under its chart and sees its reorder point move, clears it and sees it come back,
an invalid lead time refused in words with nothing changed, and a class's service level that
its SKU then follows; and the page keeps the newest
answer when two reads cross (SF.fresh), the older one held back by the test until the newer
one is drawn."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from floorkit import BOARD_PASSWORD, log_in, pen_and_mug_history

from server.config import ForecastSettings
from server.core.schemas import CatalogueIn
from server.inventory import catalogue, forecasting
from server.people import users

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.server_alone]

ROP = re.compile(r"reorder point (\d+\.\d)")
SHOTS = os.environ.get("BOARDCHECK_SHOTS")  # a path prefix: save the page as PNGs to look at


def _site(store) -> None:
    """Four weeks of pen and mug orders in WH-EAST, then the forecast: pens and mugs east,
    mugs and tea (stocked, never sold) west."""
    catalogue.load(
        store,
        CatalogueIn.model_validate(
            {
                "stock": [
                    {"warehouse": "WH-EAST", "location": "E-01-01", "sku": "SKU-B", "on_hand": 90},
                    {"warehouse": "WH-EAST", "location": "E-02-02", "sku": "SKU-A", "on_hand": 30},
                ]
            }
        ),
    )
    today = datetime.now(UTC).date()
    pen_and_mug_history(store, today)
    done = forecasting.run(store, ForecastSettings(history_days=28, horizon_days=14), today=today)
    assert done == {"WH-EAST": 2, "WH-WEST": 2}, done


def _open(server_proc, floor_settings, floor_store, page) -> str:
    users.add(floor_store, "sam", "supervisor", BOARD_PASSWORD)
    _site(floor_store)
    base = server_proc(floor_settings.data_dir)
    log_in(page, base, "sam", path="/board/forecast")
    return base


def _rop(caption) -> float:
    found = ROP.search(caption.text_content() or "")
    assert found, caption.text_content()
    return float(found.group(1))


def test_a_skus_lead_time_set_and_cleared_on_the_page_moves_its_reorder_point(
    floor_settings, floor_store, server_proc, browser_page
):
    from playwright.sync_api import expect

    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _open(server_proc, floor_settings, floor_store, page)
    expect(page.locator("body")).to_have_attribute("data-charts", "4")
    # The classes' policies above the charts, each key from the configuration.
    classes = page.locator("#fc-classes details.policy")
    expect(classes).to_have_count(3)
    expect(classes.nth(0).locator("summary")).to_contain_text("service level 0.98")

    pen = page.locator('figure.forecast[data-warehouse="WH-EAST"][data-sku="SKU-B"]')
    caption = pen.locator("figcaption")
    expect(caption).to_contain_text(ROP)
    before = _rop(caption)
    policy = pen.locator("details.policy")
    policy.locator("summary").click()
    lead = policy.locator('tr[data-key="lead_time_days"]')
    expect(lead.locator("td.value")).to_have_text("7")
    expect(lead.locator("td.from")).to_have_text("configuration")
    expect(policy.get_by_role("button", name="Clear policy")).to_have_count(0)

    # 21 days: the row is worked out again and the page drawn again, the policy still open.
    policy.get_by_label("lead time (days)").fill("21")
    policy.get_by_role("button", name="Set policy").click()
    said = page.locator("#fc-said")
    expect(said).to_have_text("Done: SKU-B's policy set: lead time (days) 21")
    expect(caption).not_to_contain_text(f"reorder point {before:.1f}")
    longer = _rop(caption)
    stored = floor_store.one(
        "SELECT lead_time_days, reorder_point FROM demand_forecasts "
        "WHERE warehouse = 'WH-EAST' AND sku = 'SKU-B'"
    )
    assert stored["lead_time_days"] == 21 and longer == pytest.approx(
        stored["reorder_point"], abs=0.051
    )
    assert longer > before + 10  # two more weeks of some two pens a day
    expect(lead.locator("td.from")).to_have_text("SKU policy")
    expect(lead.locator("input")).to_have_value("21")
    expect(policy.locator("form .meta").first).to_have_text("set here by sam · in every warehouse")
    # The chart was drawn again with it: its reorder point's line is on the canvas.
    expect(page.locator("body")).to_have_attribute("data-charts", "4")
    if SHOTS:
        classes.nth(0).locator("summary").click()
        page.screenshot(path=f"{SHOTS}-forecast-policy.png", full_page=True)
        classes.nth(0).locator("summary").click()

    # Cleared: the configuration's again, and the reorder point it had.
    policy.get_by_role("button", name="Clear policy").click()
    expect(said).to_have_text("Done: SKU-B's policy cleared: the configuration's again")
    expect(caption).to_contain_text(f"reorder point {before:.1f}")
    expect(lead.locator("td.from")).to_have_text("configuration")
    expect(lead.locator("input")).to_have_value("")

    # An invalid lead time: refused in words under the form, what was typed kept, nothing changed.
    policy.get_by_label("lead time (days)").fill("400")
    policy.get_by_role("button", name="Set policy").click()
    refused = "Not done: SKU-B's policy was not set: lead time (days): 400 is outside (0, 365]"
    expect(policy.locator("p.said")).to_have_text(refused)
    expect(said).to_have_text(refused)
    expect(policy.get_by_label("lead time (days)")).to_have_value("400")
    expect(caption).to_contain_text(f"reorder point {before:.1f}")
    assert floor_store.all("SELECT * FROM reorder_policies") == []

    # Class A's service level, set above the charts: the pen (class A east) follows it.
    a_class = classes.nth(0)
    a_class.locator("summary").click()
    a_class.get_by_label("service level").fill("0.99")
    a_class.get_by_role("button", name="Set policy").click()
    expect(said).to_have_text("Done: class A's policy set: service level 0.99")
    expect(a_class.locator("form .meta")).to_have_text("set here by sam")
    service = policy.locator('tr[data-key="service_level"]')
    expect(service.locator("td.from")).to_have_text("class policy")
    expect(service.locator("td.value")).to_have_text("0.99")
    assert [
        (a["actor"], a["action"], a["target"])
        for a in floor_store.all("SELECT actor, action, target FROM audit_log ORDER BY id")
    ] == [
        ("sam", "reorder policy set", "sku:SKU-B"),
        ("sam", "reorder policy cleared", "sku:SKU-B"),
        ("sam", "reorder policy set", "class:A"),
    ]
    assert errors == []


def test_the_newest_answer_stays_when_an_older_one_comes_late(
    floor_settings, floor_store, server_proc, browser_page
):
    """WH-EAST asked first and held back by the test, WH-WEST asked next and drawn; then
    WH-EAST's answer arrives: the page must keep showing WH-WEST (SF.fresh drops it)."""
    from playwright.sync_api import expect

    page = browser_page
    _open(server_proc, floor_settings, floor_store, page)
    body = page.locator("body")
    expect(body).to_have_attribute("data-answered", "1")
    held = []
    page.route(re.compile(r"/board/api/forecast\?warehouse=WH-EAST$"), lambda r: held.append(r))
    page.select_option("#fc-warehouse", "WH-EAST")
    for _ in range(200):  # the route's handler runs while the test waits on the page
        if held:
            break
        page.wait_for_timeout(25)
    assert len(held) == 1, "the WH-EAST read was not held back"
    page.select_option("#fc-warehouse", "WH-WEST")
    expect(body).to_have_attribute("data-answered", "2")
    figures = page.locator("figure.forecast")
    expect(figures).to_have_count(2)
    expect(page.locator("#fc-count")).to_have_text("2 SKUs")
    assert {f.get_attribute("data-warehouse") for f in figures.all()} == {"WH-WEST"}

    held[0].continue_()  # the older answer, come late
    expect(body).to_have_attribute("data-answered", "3")
    assert {f.get_attribute("data-warehouse") for f in figures.all()} == {"WH-WEST"}
    assert page.locator("#fc-warehouse").input_value() == "WH-WEST"
