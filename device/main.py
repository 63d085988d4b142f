"""`scanfloor-device`: run a handheld or pack station."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import statistics
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from device.config import DeviceSettings, load_device_settings
from shared.lean import UNUSED_CLIENTS, keep_out

if TYPE_CHECKING:
    from device.client import DeviceClient


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def write_stats(client: DeviceClient, path: Path) -> None:
    """Round trips and counts, for the demo's summary."""
    rtts = sorted(client.rtts)
    stats = {
        "name": client.settings.name,
        "scans": len(rtts),
        "wrong_scans": client.wrong_scans,
        "rtt_ms": [round(r * 1000, 3) for r in rtts],
        "rtt_p50_ms": round(statistics.median(rtts) * 1000, 2) if rtts else None,
        "offline_scans": client.offline_scans,
        "conflicts": client.conflicts,
        "link_losses": client.outages,
        "silent_links_dropped": client.watchdog.drops,
        "journal": client.journal.counts(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stats))


def run(settings: DeviceSettings) -> int:
    """Run until SIGTERM or SIGINT."""
    # Imported here, after main() kept out the clients a handheld never uses (shared/lean.py).
    from device.client import DeviceClient
    from device.drivers import FakeScale, FakeScanner, open_printer, open_scale, open_scanner
    from device.journal import Journal
    from device.screen import make_screen

    try:
        scanner = open_scanner(settings.scanner)
        printer = open_printer(settings.printer) if settings.printer else None
        scale = open_scale(settings.scale) if settings.scale else None
    except (ValueError, OSError) as exc:
        print(f"scanfloor-device: {exc}", file=sys.stderr)
        return 2
    try:
        journal = Journal(settings.journal_path)
    except (OSError, sqlite3.Error) as exc:
        # data_dir missing and not creatable, or not writable by the service's user.
        print(
            f"scanfloor-device: cannot open the scan journal {settings.journal_path} "
            f"(data_dir): {exc}",
            file=sys.stderr,
        )
        for part in (scanner, printer, scale):
            if part is not None:
                part.close()
        return 2
    screen = make_screen(settings.screen, settings.name, settings.sound_command)
    client = DeviceClient(settings, scanner, printer, screen, journal, scale)
    worker = None
    if settings.simulate.enabled:
        if not isinstance(scanner, FakeScanner):
            print("scanfloor-device: simulate needs a fake:// scanner", file=sys.stderr)
            return 2
        from device.sim.worker import SimulatedWorker

        base = 1000 * (abs(hash(settings.name)) % 1000 + 1)
        worker = SimulatedWorker(
            client,
            scanner,
            settings.simulate,
            tote_base=base,
            scale=scale if isinstance(scale, FakeScale) else None,
        )
        worker.start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    client.start()
    done.wait()
    if worker:
        worker.stop()
    client.stop()
    if settings.stats_file:
        write_stats(client, settings.stats_file)
    scanner.close()
    if printer:
        printer.close()
    if scale:
        scale.close()
    journal.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scanfloor-device", description=__doc__)
    parser.add_argument(
        "--config", default="config/device.toml", help="device TOML file (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=LOG_LEVELS,
        help="what goes to the log (standard error), any case (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_device_settings(args.config)
    except (OSError, ValueError) as exc:
        print(f"scanfloor-device: cannot read {args.config}: {exc}", file=sys.stderr)
        sys.exit(2)
    keep_out(*UNUSED_CLIENTS)  # a handheld needs neither Redis nor aiohttp
    sys.exit(run(settings))


if __name__ == "__main__":
    main()
