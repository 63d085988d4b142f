"""What every benchmark script shares: the machine it ran on and its section of docs/benchmarks.md."""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS_MD = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    """What the figures were measured on, as `nproc` counts CPUs."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpus} CPUs (nproc), {platform.machine()}, Python {platform.python_version()}"


def write_section(path: Path, heading: str, text: str) -> None:
    """Replace (or append) the section under `heading`; leave the rest of the file as it is."""
    text = text.rstrip("\n")
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(doc):
        doc = pattern.sub(lambda _: text + "\n\n", doc, count=1)
    else:
        doc = doc.rstrip("\n") + "\n\n" + text
    path.write_text(doc.rstrip("\n") + "\n")
