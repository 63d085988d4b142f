"""Reading `scanfloor import` files: catalogue JSON, catalogue CSVs and order CSVs, all checked first."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ValidationError

from server.core.schemas import (
    CatalogueIn,
    LocationIn,
    OrderIn,
    OrderLineIn,
    ProductIn,
    StockIn,
    WarehouseIn,
)

CSV_MODELS: dict[str, type[BaseModel]] = {
    "warehouses": WarehouseIn,
    "locations": LocationIn,
    "products": ProductIn,
    "stock": StockIn,
}
LIST_SEPARATOR = ";"  # products' `barcodes` column
ORDER_LINE_COLUMNS = ("sku", "qty")

Problems = list[tuple[str, str]]


class ImportProblems(ValueError):
    """Files that cannot be imported; `problems` lists (where, message) for each."""

    def __init__(self, problems: Problems):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _nested(model: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Fields holding a model (an address): CSV spells them as `<field>_<subfield>` columns."""
    out = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out[name] = ann
    return out


def columns(model: type[BaseModel], skip: Sequence[str] = ()) -> set[str]:
    """The CSV headers a model reads."""
    nested = _nested(model)
    cols = {n for n in model.model_fields if n not in nested and n not in skip}
    for name, sub in nested.items():
        cols |= {f"{name}_{f}" for f in sub.model_fields}
    return cols


def _unflatten(model: type[BaseModel], row: dict[str, str]) -> dict[str, Any]:
    """A CSV row as the model's input: empty cells left out so defaults apply."""
    nested = _nested(model)
    out: dict[str, Any] = {name: {} for name in nested}
    for col, value in row.items():
        if value is None or value.strip() == "":
            continue
        value = value.strip()
        head = next((n for n in nested if col.startswith(f"{n}_")), None)
        if head is not None:
            out[head][col[len(head) + 1 :]] = value
        elif col == "barcodes":
            out[col] = [c.strip() for c in value.split(LIST_SEPARATOR) if c.strip()]
        else:
            out[col] = value
    return out


def _field(loc: Sequence[str | int], nested: Sequence[str] = ()) -> str:
    """A pydantic location as a CSV user reads it: `address_city`, `barcodes[1]`."""
    parts = list(loc)
    text = ""
    if len(parts) > 1 and parts[0] in nested and isinstance(parts[1], str):
        text = f"{parts.pop(0)}_{parts.pop(0)}"
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "row"


def _rows(path: Path, allowed: set[str], problems: Problems) -> Iterator[tuple[int, dict]]:
    """(line number, row) of a CSV whose headers are all known."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            headers = reader.fieldnames or []
            if not headers:
                problems.append((path.name, "empty file: expected a header row"))
                return
            unknown = [h for h in headers if h not in allowed]
            if unknown:
                problems.append(
                    (
                        path.name,
                        f"unknown column(s) {', '.join(unknown)}; expected some of "
                        f"{', '.join(sorted(allowed))}",
                    )
                )
                return
            for row in reader:
                if None in row:
                    problems.append(
                        (f"{path.name} line {reader.line_num}", "more cells than headers")
                    )
                    continue
                if any((v or "").strip() for v in row.values()):
                    yield reader.line_num, row
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        problems.append((path.name, f"cannot read it: {exc}"))


def _read_json(path: Path, problems: Problems) -> CatalogueIn | None:
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        problems.append((path.name, f"not valid JSON: {exc}"))
        return None
    try:
        return CatalogueIn.model_validate_json(text)  # JSON types strictly, as the REST API
    except ValidationError as exc:
        problems.extend((f"{path.name} {_field(e['loc'])}", e["msg"]) for e in exc.errors())
        return None


class Catalogue(NamedTuple):
    """A catalogue read from files, and where each item came from (for messages)."""

    data: CatalogueIn
    origins: dict[str, list[str]]

    def where(self, field: str) -> str:
        """`stock[3].sku` as the user's file names it: `stock.csv line 5 sku`."""
        m = re.match(r"^(\w+)\[(\d+)\]\.?(.*)$", field)
        if not m or m.group(1) not in self.origins:
            return field
        kind, index, rest = m.group(1), int(m.group(2)), m.group(3)
        origin = self.origins[kind][index]
        nested = list(_nested(CSV_MODELS[kind])) if " line " in origin else []
        return f"{origin} {_field(rest.split('.'), nested) if rest else ''}".strip()


def read_catalogue(files: Sequence[tuple[Path, str]]) -> Catalogue:
    """One catalogue from JSON files and CSV files of a kind; every problem at once."""
    problems: Problems = []
    parts: dict[str, list[BaseModel]] = {kind: [] for kind in CSV_MODELS}
    origins: dict[str, list[str]] = {kind: [] for kind in CSV_MODELS}
    for path, kind in files:
        if kind == "json":
            cat = _read_json(path, problems)
            if cat is not None:
                for name in parts:
                    items = getattr(cat, name)
                    parts[name].extend(items)
                    origins[name].extend(f"{path.name} {name}[{i}]" for i in range(len(items)))
            continue
        model = CSV_MODELS[kind]
        nested = list(_nested(model))
        for line, row in _rows(path, columns(model), problems):
            try:
                # CSV cells are text: read "3" as 3 here, unlike JSON.
                parts[kind].append(model.model_validate(_unflatten(model, row), strict=False))
                origins[kind].append(f"{path.name} line {line}")
            except ValidationError as exc:
                problems.extend(
                    (f"{path.name} line {line} {_field(e['loc'], nested)}", e["msg"])
                    for e in exc.errors()
                )
    if problems:
        raise ImportProblems(problems)
    return Catalogue(CatalogueIn.model_validate(parts), origins)


def read_orders(path: Path) -> list[tuple[str, OrderIn]]:
    """Orders from a CSV, one row per line, grouped by (channel, order_id): (where, order)."""
    problems: Problems = []
    allowed = columns(OrderIn, skip=("lines",)) | set(ORDER_LINE_COLUMNS)
    groups: dict[tuple[str, str], list[tuple[int, dict]]] = {}
    for line, row in _rows(path, allowed, problems):
        if not (row.get("order_id") or "").strip():
            problems.append((f"{path.name} line {line}", "order_id is empty"))
            continue
        channel = (row.get("channel") or "").strip() or OrderIn.model_fields["channel"].default
        key = (channel, row["order_id"].strip())
        groups.setdefault(key, []).append((line, row))
    out: list[tuple[str, OrderIn]] = []
    for (_, order_id), rows in groups.items():
        where = f"{path.name} order {order_id}"
        head = {k: v for k, v in rows[0][1].items() if k not in ORDER_LINE_COLUMNS}
        for line, row in rows[1:]:
            differ = [
                k
                for k, v in head.items()
                if (row.get(k) or "").strip() not in ("", (v or "").strip())
            ]
            if differ:
                problems.append(
                    (
                        f"{path.name} line {line}",
                        f"{', '.join(differ)} differ from line {rows[0][0]}",
                    )
                )
        data = _unflatten(OrderIn, head)
        data["lines"] = [
            _unflatten(OrderLineIn, {c: row.get(c) for c in ORDER_LINE_COLUMNS}) for _, row in rows
        ]
        try:
            out.append((where, OrderIn.model_validate(data, strict=False)))
        except ValidationError as exc:
            for e in exc.errors():
                loc = list(e["loc"])
                if len(loc) > 1 and loc[0] == "lines" and isinstance(loc[1], int):
                    at, field = f"{path.name} line {rows[loc[1]][0]}", _field(loc[2:])
                else:
                    at, field = where, _field(loc, ["ship_to"])
                problems.append((f"{at} {field}", e["msg"]))
    if problems:
        raise ImportProblems(problems)
    return out
