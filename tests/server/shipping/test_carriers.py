"""Carriers in the domain: zones by distance, rates by weight, check digits, service choice."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from server.config import CarrierSettings, Settings
from server.core.geo import great_circle_km
from server.shipping.domain.carriers import (
    Carrier,
    LocalCarrier,
    ManifestLine,
    RateError,
    choose_service,
    manifest_csv,
)

NEW_YORK = (40.71, -74.00)
PHILADELPHIA = (39.95, -75.17)  # ~130 km
BOSTON = (42.36, -71.06)  # ~306 km
CHICAGO = (41.88, -87.63)  # ~1,145 km
LOS_ANGELES = (34.05, -118.24)  # ~3,940 km
TODAY = date(2026, 11, 30)


@pytest.fixture
def local() -> LocalCarrier:
    return LocalCarrier()


def test_the_local_carrier_is_a_carrier(local):
    assert isinstance(local, Carrier)
    assert [s.name for s in local.services()] == ["economy", "standard", "express"]


@pytest.mark.parametrize(
    "to, zone", [(NEW_YORK, 1), (PHILADELPHIA, 1), (BOSTON, 2), (CHICAGO, 3), (LOS_ANGELES, 4)]
)
def test_zones_by_great_circle_distance(local, to, zone):
    assert local.zone(NEW_YORK, to) == zone


def test_zone_edges_and_no_coordinates(local):
    # 150 km is still zone 1; just past it is zone 2.
    north = (NEW_YORK[0] + 150 / 111.195, NEW_YORK[1])
    assert great_circle_km(*NEW_YORK, *north) == pytest.approx(150, abs=0.01)
    nearly = (NEW_YORK[0] + 149.9 / 111.195, NEW_YORK[1])
    beyond = (NEW_YORK[0] + 150.2 / 111.195, NEW_YORK[1])
    assert local.zone(NEW_YORK, nearly) == 1 and local.zone(NEW_YORK, beyond) == 2
    # A ship-to without coordinates pays the farthest zone: a quote is never too low.
    assert local.zone(NEW_YORK, None) == 4


@pytest.mark.parametrize(
    "weight, cents",
    [(0, 550), (500, 550), (501, 650), (2000, 650), (4999, 900), (30000, 2200), (30001, 4400),
     (60000, 4400), (60001, 6600)],
)  # fmt: skip
def test_rates_by_weight_band(local, weight, cents):
    rate = local.rate(weight, NEW_YORK, PHILADELPHIA, "standard")
    assert (rate.zone, rate.cents, rate.transit_days) == (1, cents, 3)


def test_rates_by_zone_and_service(local):
    assert local.rate(1000, NEW_YORK, LOS_ANGELES, "express").cents == 1800
    assert local.rate(1000, NEW_YORK, BOSTON, "economy").cents == 640
    with pytest.raises(RateError, match="no service 'overnight'"):
        local.rate(1000, NEW_YORK, BOSTON, "overnight")


def test_tracking_numbers_carry_a_check_digit(local):
    t = local.tracking_number(42)
    assert t == "SF0000000420" and local.is_tracking(t)
    for i in range(2, len(t)):  # any one digit misread fails the check
        wrong = t[:i] + str((int(t[i]) + 1) % 10) + t[i + 1 :]
        assert not local.is_tracking(wrong) and local.looks_like_tracking(wrong)
    other = LocalCarrier(name="fastbox", tracking_prefix="FB")
    assert not other.is_tracking(t) and not other.looks_like_tracking(t)
    assert other.is_tracking(other.tracking_number(42))


def test_service_choice_order_then_channel_then_promise(local):
    def choose(**kw):
        kw.setdefault("today", TODAY)
        rate, why = choose_service(local, 1000, NEW_YORK, BOSTON, **kw)
        return rate.service, why

    assert choose(wanted="express", channel_default="economy") == ("express", "order")
    assert choose(wanted="EXPRESS") == ("express", "order")
    assert choose(channel_default="standard") == ("standard", "channel")
    # A service the carrier lacks falls through to the next rule.
    assert choose(wanted="overnight", channel_default="standard") == ("standard", "channel")
    assert choose() == ("economy", "cheapest")
    assert choose(promised_by=date(2026, 12, 5)) == ("economy", "promised")  # 5 days: economy
    assert choose(promised_by=date(2026, 12, 4)) == ("standard", "promised")
    assert choose(promised_by=date(2026, 12, 1)) == ("express", "promised")
    assert choose(promised_by=date(2026, 11, 29)) == ("express", "fastest")  # too late for all


def test_a_carrier_is_configured_whole_or_refused():
    CarrierSettings(services={"express": {"transit_days": 1}}, rates={"express": [[1] * 5] * 4})
    bad = [
        {"rates": {"economy": [[1] * 5] * 4}},  # standard and express have no rates
        {"zone_km": [600, 150]},
        {"weight_g": []},
        {"tracking_prefix": "sf1"},
        {"services": {"Next Day": {"transit_days": 1}}, "rates": {"Next Day": [[1] * 5] * 4}},
    ]
    for fields in bad:
        with pytest.raises(ValidationError):
            CarrierSettings(**fields)
    with pytest.raises(ValidationError, match="shipping.carrier"):
        Settings(shipping={"carrier": "fastbox"})
    with pytest.raises(ValidationError, match="no service 'overnight'"):
        Settings(shipping={"channel_services": {"web": "overnight"}})
    with pytest.raises(ValidationError, match="share a tracking_prefix"):
        Settings(carriers={"local": {}, "fastbox": {}})


def test_manifest_csv(local):
    lines = [
        ManifestLine("SF0000000427", "006141410000000012", "#1043", "express", 1250, "10001",
                     "US", 1280),
        ManifestLine("SF0000000434", "006141410000000029", "=HYPERLINK(1)", "economy", 80,
                     "SW1A 1AA", "GB", None),
    ]  # fmt: skip
    text = manifest_csv(local.manifest(lines))
    assert text.split("\r\n") == [
        "tracking,sscc,order,service,weight_kg,postcode,country,rate",
        "SF0000000427,006141410000000012,#1043,EXPRESS,1.250,10001,US,12.80",
        "SF0000000434,006141410000000029,'=HYPERLINK(1),ECONOMY,0.080,SW1A 1AA,GB,",
        "",
    ]


@pytest.mark.parametrize("dpi", [203, 300])
def test_the_local_label_shows_the_zone_and_still_scans(local, dpi):
    pytest.importorskip("zplkit", reason="zplkit renders labels in tests (dev extra)")
    pytest.importorskip("zxingcpp", reason="zxing-cpp decodes labels in tests (dev extra)")
    from device.sim.label_preview import decode_png, render_png
    from server.core.addresses import Address
    from server.shipping.domain.labels import ShippingLabel
    from shared.barcodes import make_sscc

    a = Address(name="Ada", line1="1 Long Road", city="Springfield", postcode="12345", country="US")
    rate = local.rate(1200, NEW_YORK, CHICAGO, "express")
    tracking, sscc = local.tracking_number(42), make_sscc(0, "0614141", 7)
    label = ShippingLabel(a, a, "SO-000001", tracking, sscc, local.title, "EXPRESS", 1200)
    zpl = local.label(label, rate, dpi)
    assert "^FDZONE 3^FS" in zpl and "^FDEXPRESS^FS" in zpl and "^FDSCANFLOOR LOCAL^FS" in zpl
    found = {text for _, text in decode_png(render_png(zpl, dpi))}
    assert tracking in found and any(sscc in text for text in found)


def test_the_shipped_config_is_the_built_in_defaults(monkeypatch):
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "config" / "server.toml"
    monkeypatch.setenv("SCANFLOOR_CONFIG", str(path))
    settings = Settings()
    assert settings.carriers == {"local": CarrierSettings()}
    assert settings.shipping.carrier == "local"
