"""docs/configuration.md's tables, made from the settings models (server/config.py, device/config.py).

Every setting with its TOML key, type, default, environment variable and description (the
string under the field in server/config.py). The docs site puts them in at build time
(scripts/docsite/hooks.py), so the page cannot drift from the code; tests/test_docs.py holds
that every setting has a description and that every variable named here sets its setting.
"""

from __future__ import annotations

import json
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt, MaxLen, MinLen
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import to_jsonable_python

from device.config import DeviceSettings
from server.config import Settings

PREFIX = Settings.model_config["env_prefix"]
NESTED = Settings.model_config["env_nested_delimiter"]
MARKER = "<!-- generated: settings -->"
DEVICE_MARKER = "<!-- generated: device settings -->"


@dataclass(frozen=True)
class Setting:
    """One key of the server's TOML file."""

    key: str  # dotted, as in TOML: `http.port`, `carriers.<name>.title`, `boxes[].code`
    section: str  # the table it sits in: "" (top level), `http`, `carriers.<name>`, `boxes`
    type: str
    default: str
    env: str | None  # the environment variable that sets it, or None (inside a list)
    description: str


def _placeholder(key: str) -> str:
    """The name of one entry of a table of tables: `carriers` -> `<carrier>`."""
    return f"<{key.removesuffix('s')}>"


def _model(annotation: Any) -> type[BaseModel] | None:
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def _type(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " or ".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        named = [_type(a) for a in args if a is not type(None)]
        return " or ".join(named) + (" or none" if type(None) in args else "")
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"table of {_type(args[1])}"
    if annotation is Path:
        return "path"
    if _model(annotation):
        return "table"
    return getattr(annotation, "__name__", str(annotation))


def _bounds(field: FieldInfo) -> list[str]:
    said = []
    for m in field.metadata:
        if isinstance(m, Gt):
            said.append(f"> {m.gt}")
        elif isinstance(m, Ge):
            said.append(f"≥ {m.ge}")
        elif isinstance(m, Lt):
            said.append(f"< {m.lt}")
        elif isinstance(m, Le):
            said.append(f"≤ {m.le}")
        elif isinstance(m, MinLen):
            said.append(f"at least {m.min_length} character" + "s" * (m.min_length != 1))
        elif isinstance(m, MaxLen):
            said.append(f"at most {m.max_length} characters")
        elif getattr(m, "pattern", None):
            said.append(f"matches `{m.pattern}`")
    return said


def _value(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        named = ", ".join(f"`[{k}]`" for k in value)
        return f"{named}, each with the defaults of its keys below"
    value = to_jsonable_python(value, by_alias=True)
    return "`" + json.dumps(value, separators=(", ", ": "), ensure_ascii=False) + "`"


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    return _value(field.get_default(call_default_factory=True, validated_data={}))


def _describe(field: FieldInfo) -> str:
    return " ".join((field.description or "").split())


def settings(
    model: type[BaseModel] = Settings, path: tuple[str, ...] = (), env: bool = True
) -> list[Setting]:
    """Every key of `model`, depth first, tables after the keys they sit beside; `env`: the
    model reads environment variables (the server's settings do, a device's do not)."""
    keys: list[Setting] = []
    tables: list[Setting] = []
    in_list = "[]" in "".join(path) or not env
    for name, field in model.model_fields.items():
        key = field.alias or name
        here = (*path, key)
        ann = field.annotation
        origin, args = get_origin(ann), get_args(ann)
        env = None if in_list else PREFIX + NESTED.join(here).upper()
        dotted = ".".join(here).replace(".[]", "[]")
        section = ".".join(path).replace(".[]", "[]").removesuffix("[]")
        row = Setting(dotted, section, _type(ann), _default(field), env, _describe(field))
        row = Setting(**{**row.__dict__, "type": ", ".join([row.type, *_bounds(field)])})
        if _model(ann):
            tables += settings(ann, here, env)
        elif origin is dict and _model(args[1]):
            keys.append(row)
            tables += settings(args[1], (*here, _placeholder(key)), env)
        elif origin is list and _model(args[0]):
            keys.append(row)
            tables += settings(args[0], (*here, "[]"), env)
        else:
            keys.append(row)
    return keys + tables


def _table_docs(model: type[BaseModel] = Settings, path: tuple[str, ...] = ()) -> dict[str, str]:
    """Each table's own description (the docstring of its model)."""
    said = {}
    for name, field in model.model_fields.items():
        ann, args = field.annotation, get_args(field.annotation)
        inner = _model(ann) or next((a for a in args if _model(a)), None)
        if inner is None:
            continue
        here = (*path, field.alias or name)
        if get_origin(ann) is dict:
            here = (*here, _placeholder(here[-1]))
        said[".".join(here)] = " ".join((inner.__doc__ or "").split())
        said.update(_table_docs(inner, here))
    return said


def _cell(text: str) -> str:
    """A table cell: `|` outside code spans escaped, so it does not end the cell."""
    parts = re.split(r"(`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("|", "\\|") for p in parts)


def render() -> str:
    """The server's settings as Markdown: one table per TOML table."""
    return _tables(settings(), _table_docs(), env=True)


def render_device() -> str:
    """A device's settings (`[device]` in config/device.toml) as Markdown."""
    docs = {"device": " ".join((DeviceSettings.__doc__ or "").split())}
    docs |= _table_docs(DeviceSettings, ("device",))
    return _tables(settings(DeviceSettings, ("device",), env=False), docs, env=False)


def _tables(rows: list[Setting], docs: dict[str, str], env: bool) -> str:
    out: list[str] = []
    for section in dict.fromkeys(r.section for r in rows):
        title = "Top level" if not section else (
            f"`[[{section}]]`" if section == "boxes" else f"`[{section}]`"
        )  # fmt: skip
        out += [f"### {title}", ""]
        if docs.get(section):
            out += [docs[section], ""]
        head = ["key", "type", "default", *(["environment variable"] if env else []), "description"]
        out += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in (r for r in rows if r.section == section):
            cells = [f"`{r.key}`", r.type, r.default, r.description]
            if env:
                cells.insert(
                    3,
                    f"`{r.env}`"
                    if r.env
                    else f"in `SCANFLOOR_{section.upper().replace('.', '__')}` (JSON)",
                )
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render())
