"""Key code to character tables for keyboard-wedge scanners.

A table maps an evdev key code to (plain, shifted) characters. Scanners type
with the host's layout in mind; most are set to US, so that is the default.
Other layouts are a dict away: pass your own table to ``KeyDecoder``.
"""

from __future__ import annotations

from collections.abc import Mapping

from evdev import ecodes

KeyMap = Mapping[int, tuple[str, str]]


def _build_us() -> dict[int, tuple[str, str]]:
    table: dict[int, tuple[str, str]] = {}
    for letter in "abcdefghijklmnopqrstuvwxyz":
        table[ecodes.ecodes[f"KEY_{letter.upper()}"]] = (letter, letter.upper())
    for digit, shifted in zip("1234567890", "!@#$%^&*()", strict=True):
        table[ecodes.ecodes[f"KEY_{digit}"]] = (digit, shifted)
    # Keypad keys assume Num Lock on, which is how scanners send digits there.
    for digit in "0123456789":
        table[ecodes.ecodes[f"KEY_KP{digit}"]] = (digit, digit)
    symbols = {
        "MINUS": ("-", "_"),
        "EQUAL": ("=", "+"),
        "LEFTBRACE": ("[", "{"),
        "RIGHTBRACE": ("]", "}"),
        "BACKSLASH": ("\\", "|"),
        "SEMICOLON": (";", ":"),
        "APOSTROPHE": ("'", '"'),
        "GRAVE": ("`", "~"),
        "COMMA": (",", "<"),
        "DOT": (".", ">"),
        "SLASH": ("/", "?"),
        "SPACE": (" ", " "),
        "TAB": ("\t", "\t"),
        "KPDOT": (".", "."),
        "KPMINUS": ("-", "-"),
        "KPPLUS": ("+", "+"),
        "KPASTERISK": ("*", "*"),
        "KPSLASH": ("/", "/"),
    }
    for name, chars in symbols.items():
        table[ecodes.ecodes[f"KEY_{name}"]] = chars
    return table


US_KEYMAP: KeyMap = _build_us()

KEYMAPS: dict[str, KeyMap] = {"us": US_KEYMAP}


def key_code(name: str) -> int:
    """Return the evdev code for a key name such as "F8", "KEY_F8" or "enter"."""
    full = name.upper() if name.upper().startswith("KEY_") else f"KEY_{name.upper()}"
    code = ecodes.ecodes.get(full)
    if not isinstance(code, int):
        raise ValueError(f"unknown key name {name!r}")
    return code
