"""The buyer's reorder policies kept in the database: a SKU's or an ABC class's own lead time,
service level, cover and overstock days, set over REST (`/api/replenishment/policies`) or the
CLI (`scanfloor replen policy`).

A SKU's policy, key by key, is the first that sets it of:
1. the SKU's row here (`reorder_policies`, scope `sku`);
2. the SKU's `[forecast.skus.SKU]` in the configuration;
3. its class's row here (scope `class`);
4. the class's `[[forecast.classes]]` (and, for overstock days, `forecast.overstock_days`).

Setting or clearing a policy writes the row and, in the same transaction, works the stored
suggestions it touches out again from the last forecast's demand, error and stock position
(`reorder.suggest`: no forecasting library, no history read), so REST and the board show the
new reorder point at once; the next forecast run uses the policy too. Every change is audited.
Bad input (an unknown SKU or class, a value out of range, no key at all) is refused whole,
changing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.config import ForecastSettings
from server.core.clock import now
from server.inventory.domain import reorder
from server.people import audit
from server.store import Store

KEYS = ("lead_time_days", "service_level", "cover_days", "overstock_days")
# Each key as a buyer reads it (the board's forecast page, its refusals).
LABELS = {
    "lead_time_days": "lead time (days)",
    "service_level": "service level",
    "cover_days": "cover (days)",
    "overstock_days": "overstock (days)",
}
SCOPES = ("sku", "class")
# The bounds each key takes (the configuration's): (low, low included, high, high included).
BOUNDS: dict[str, tuple[float, bool, float, bool]] = {
    "lead_time_days": (0, False, 365, True),
    "service_level": (0.5, True, 1, False),
    "cover_days": (0, True, 365, True),
    "overstock_days": (0, False, 3660, True),
}


class PolicyError(ValueError):
    """A policy that cannot be set: each problem as (field, why)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.problems = problems or []


class UnknownPolicy(KeyError):
    """No such SKU or class (or, to clear, no policy of its own)."""

    def __str__(self) -> str:
        return str(self.args[0])


Stored = Mapping[tuple[str, str], Mapping[str, Any]]


def stored(store: Store) -> dict[tuple[str, str], dict[str, Any]]:
    """Every policy set here, by (scope, name)."""
    return {
        (r["scope"], r["name"]): dict(r)
        for r in store.all("SELECT * FROM reorder_policies ORDER BY scope, name")
    }


# Where a key in force comes from, as `in_force` says it: the SKU's policy set here, its
# class's set here, or the configuration (`[forecast.skus.SKU]`, the class's
# `[[forecast.classes]]` or `forecast.overstock_days`).
SOURCES = ("sku", "class", "config")


def in_force(
    settings: ForecastSettings, rows: Stored, abc: str, sku: str | None = None
) -> dict[str, dict[str, Any]]:
    """Each key of a SKU of class `abc` (or, without a SKU, of the class itself): its value
    and where it comes from, `{"value": 7.0, "from": "class"}` (the order in the module's
    docstring)."""
    cls = next(c for c in settings.classes if c.name == abc)
    own = settings.skus.get(sku) if sku is not None else None
    mine = rows.get(("sku", sku), {}) if sku is not None else {}
    theirs = rows.get(("class", abc), {})
    out = {}
    for key in KEYS:
        of_class = getattr(cls, key)
        if of_class is None:  # a class without overstock days of its own
            of_class = settings.overstock_days
        own_value = getattr(own, key) if own is not None else None
        value, source = next(
            (v, s)
            for v, s in (
                (mine.get(key), "sku"),
                (own_value, "config"),
                (theirs.get(key), "class"),
                (of_class, "config"),
            )
            if v is not None
        )
        out[key] = {"value": float(value), "from": source}
    return out


def effective(settings: ForecastSettings, rows: Stored, abc: str, sku: str) -> reorder.Policy:
    """A SKU of class `abc`: its policy, key by key (the order in the module's docstring)."""
    keys = in_force(settings, rows, abc, sku)
    return reorder.Policy(*(keys[k]["value"] for k in KEYS))


def _problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in values.items():
        if key not in KEYS:
            out.append((key, f"not a policy key (the keys: {', '.join(KEYS)})"))
            continue
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            out.append((key, "a number, or null for the configuration's"))
            continue
        low, low_in, high, high_in = BOUNDS[key]
        if (
            value < low
            or (value == low and not low_in)
            or value > high
            or (value == high and not high_in)
        ):
            span = f"{'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
            out.append((key, f"{value:g} is outside {span}"))
    if not out and all(values.get(k) is None for k in KEYS):
        out.append(("body", f"set at least one of {', '.join(KEYS)} (to go back to the "
                            "configuration, clear the policy)"))  # fmt: skip
    return out


def _check_name(store: Store, settings: ForecastSettings, scope: str, name: str) -> None:
    if scope == "sku":
        if store.one("SELECT 1 AS x FROM products WHERE sku = ?", (name,)) is None:
            raise UnknownPolicy(f"unknown SKU {name}")
    elif scope == "class":
        letters = [c.name for c in settings.classes]
        if name not in letters:
            raise UnknownPolicy(f"no class {name}: the classes are {', '.join(letters)}")
    else:
        raise UnknownPolicy(f"no policy scope {scope}: sku or class")


def view(store: Store, settings: ForecastSettings, scope: str, name: str) -> dict[str, Any]:
    """One SKU's or class's policy: what is set here, what the configuration says, and the
    suggestions that use it now (inside a read)."""
    _check_name(store, settings, scope, name)
    row = store.one("SELECT * FROM reorder_policies WHERE scope = ? AND name = ?", (scope, name))
    if scope == "sku":
        own = settings.skus.get(name)
        config = {k: getattr(own, k) if own is not None else None for k in KEYS}
    else:
        cls = next(c for c in settings.classes if c.name == name)
        config = {k: getattr(cls, k) for k in KEYS}
        if config["overstock_days"] is None:
            config["overstock_days"] = settings.overstock_days
    where = "sku = ?" if scope == "sku" else "abc = ?"
    used = store.one(f"SELECT COUNT(*) AS n FROM demand_forecasts WHERE {where}", (name,))
    return {
        "scope": scope,
        "name": name,
        "set": {k: row[k] if row else None for k in KEYS},
        "config": config,
        "set_by": row["set_by"] if row else None,
        "set_at": row["set_at"] if row else None,
        "suggestions": used["n"],
    }


def listing(store: Store, settings: ForecastSettings) -> dict[str, Any]:
    """Every class's policy and every SKU with one of its own (here or in the configuration)."""
    skus = sorted(set(settings.skus) | {n for s, n in stored(store) if s == "sku"})
    return {
        "classes": [view(store, settings, "class", c.name) for c in settings.classes],
        "skus": [view(store, settings, "sku", s) for s in skus],
    }


def on_page(
    store: Store, settings: ForecastSettings, suggestions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The board's forecast page (inside a read): each suggestion gets `policy`, its keys in
    force with where each comes from (null for a class the configuration no longer has), and
    `policy_set_by`, who set the SKU's policy here (null: none); answers every class's keys in
    force and who set its policy here."""
    rows = stored(store)
    known = {c.name for c in settings.classes}
    for s in suggestions:
        s["policy"] = in_force(settings, rows, s["abc"], s["sku"]) if s["abc"] in known else None
        s["policy_set_by"] = rows.get(("sku", s["sku"]), {}).get("set_by")
    return [
        {
            "name": c.name,
            "policy": in_force(settings, rows, c.name),
            "set_by": rows.get(("class", c.name), {}).get("set_by"),
        }
        for c in settings.classes
    ]


def refresh(store: Store, settings: ForecastSettings, scope: str, name: str) -> int:
    """Work the stored suggestions of a SKU or a class out again with the policies now (inside
    a write); returns how many."""
    where = "sku = ?" if scope == "sku" else "abc = ?"
    rows = store.all(
        f"SELECT warehouse, sku, abc, daily, sigma, position FROM demand_forecasts WHERE {where}",
        (name,),
    )
    if not rows:
        return 0
    policies = stored(store)
    known = {c.name for c in settings.classes}
    n = 0
    for r in rows:
        if r["abc"] not in known:  # a class the configuration no longer has: next run's
            continue
        pol = effective(settings, policies, r["abc"], r["sku"])
        sug = reorder.suggest(r["daily"], r["sigma"], r["position"], pol)
        store.execute(
            "UPDATE demand_forecasts SET lead_time_days = ?, service_level = ?, "
            "cover_target_days = ?, safety_stock = ?, reorder_point = ?, reorder_qty = ?, "
            "cover_days = ?, overstock = ? WHERE warehouse = ? AND sku = ?",
            (
                pol.lead_time_days, pol.service_level, pol.cover_days, sug.safety_stock,
                sug.reorder_point, sug.reorder_qty,
                None if sug.cover_days is None else round(sug.cover_days, 1),
                int(sug.overstock), r["warehouse"], r["sku"],
            ),
        )  # fmt: skip
        n += 1
    return n


def set_policy(
    store: Store,
    settings: ForecastSettings,
    scope: str,
    name: str,
    values: Mapping[str, Any],
    by: str,
) -> dict[str, Any]:
    """Set a SKU's or a class's own policy (every key; a key not given or null: the
    configuration's), and work its suggestions out again, in one write."""
    problems = _problems(values)
    if problems:
        raise PolicyError("the policy was not set: " + "; ".join(f"{f}: {w}" for f, w in problems),
                          problems)  # fmt: skip
    with store.write():
        _check_name(store, settings, scope, name)
        row = {k: (None if values.get(k) is None else float(values[k])) for k in KEYS}
        store.execute("DELETE FROM reorder_policies WHERE scope = ? AND name = ?", (scope, name))
        store.execute(
            "INSERT INTO reorder_policies (scope, name, lead_time_days, service_level, "
            "cover_days, overstock_days, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (scope, name, *(row[k] for k in KEYS), by, now()),
        )
        changed = refresh(store, settings, scope, name)
        audit.record(store, by, "reorder policy set", f"{scope}:{name}",
                     {**row, "suggestions": changed})  # fmt: skip
        return view(store, settings, scope, name)


def clear(
    store: Store, settings: ForecastSettings, scope: str, name: str, by: str
) -> dict[str, Any]:
    """Drop a SKU's or a class's own policy (back to the configuration's) and work its
    suggestions out again, in one write; UnknownPolicy when it has none here."""
    with store.write():
        _check_name(store, settings, scope, name)
        gone = store.execute(
            "DELETE FROM reorder_policies WHERE scope = ? AND name = ?", (scope, name)
        ).rowcount
        if not gone:
            raise UnknownPolicy(f"{'SKU' if scope == 'sku' else 'class'} {name} has no policy "
                                "of its own set here: it follows the configuration")  # fmt: skip
        changed = refresh(store, settings, scope, name)
        audit.record(store, by, "reorder policy cleared", f"{scope}:{name}",
                     {"suggestions": changed})  # fmt: skip
        return view(store, settings, scope, name)
