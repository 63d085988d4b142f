"""shared/lean.py: the clients an entry point keeps out, and python-socketio without them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from shared.lean import keep_out


def test_a_name_kept_out_cannot_be_imported_and_one_imported_already_stays():
    assert "scanfloor_never_installed" not in sys.modules
    assert keep_out("scanfloor_never_installed", "json") == ["scanfloor_never_installed"]
    try:
        with pytest.raises(ImportError):
            import scanfloor_never_installed  # noqa: F401
    finally:
        del sys.modules["scanfloor_never_installed"]
    import json  # imported before: keep_out left it alone

    assert json.dumps([1]) == "[1]"


def test_python_socketio_and_the_device_client_load_with_the_clients_kept_out():
    """What the handheld's entry point does: if a python-socketio upgrade made redis or aiohttp
    a hard import, every handheld would fail to start; this fails first."""
    code = (
        "import sys\n"
        "from shared.lean import UNUSED_CLIENTS, keep_out\n"
        "assert keep_out(*UNUSED_CLIENTS) == list(UNUSED_CLIENTS)\n"
        "import socketio, flask_socketio\n"
        "from device.client import DeviceClient\n"
        "socketio.Client()\n"
        "assert all(sys.modules[n] is None for n in UNUSED_CLIENTS)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
