"""A server killed (SIGKILL) while sending customer mails: a restarted server takes the dead
process's claims back at once, sends each order's mails in the order of its status changes,
and a mail the SMTP server had already taken goes again as the same message (Message-ID)."""

from __future__ import annotations

import time

import pytest
from mailkit import move, order_with_parcel

from scripts.mail_sink import MailSink
from server.notify import mail

pytestmark = pytest.mark.e2e


def _env(sink: MailSink) -> dict[str, str]:
    return {
        "SCANFLOOR_EMAIL__ENABLED": "true",
        "SCANFLOOR_EMAIL__HOST": "127.0.0.1",
        "SCANFLOOR_EMAIL__PORT": str(sink.port),
        "SCANFLOOR_EMAIL__STARTTLS": "false",
        "SCANFLOOR_EMAIL__POLL_SECONDS": "0.2",
        # The default: a claim lasts 20 s x 22 + 5 = 445 s, the wait the issue saw.
        "SCANFLOOR_EMAIL__TIMEOUT_SECONDS": "20",
    }


def test_mails_claimed_by_a_killed_server_go_at_once_in_order_as_the_same_messages(
    floor_settings, floor_store, server_proc, monkeypatch
):
    monkeypatch.setitem(mail.SETTINGS, "enabled", True)
    oids = [
        order_with_parcel(floor_store, shop_id=f"70{n}", shop_number=f"#70{n}", tracking=f"SF00000070{n}")
        for n in range(3)
    ]  # fmt: skip
    for oid in oids:
        move(floor_store, oid, "shipped")
    for oid in oids:
        move(floor_store, oid, "delivered")  # queued after every "shipped"
    with MailSink() as sink:
        sink.stall = 60.0  # takes the first mail, then answers late: the server dies meanwhile
        base = server_proc(floor_settings.data_dir, env=_env(sink))
        first = sink.wait_for(1, timeout=30)[0]
        proc = server_proc.procs.pop(base)
        proc.kill()  # SIGKILL: the claim of the whole batch is left behind
        proc.wait(10)
        claimed = floor_store.all(
            "SELECT claimed_by, next_at FROM customer_mails WHERE status = 'pending'"
        )
        assert len(claimed) == 6 and all(r["claimed_by"] for r in claimed)
        assert all(r["next_at"] > time.time() + 300 for r in claimed)  # a lease of 445 s
        sink.stall = 0.0
        server_proc(floor_settings.data_dir, env=_env(sink))
        # Counted from when the new server and its worker run: their start took over 30 s
        # on a loaded run, and is not what the dead process's claims could delay.
        restarted = time.monotonic()
        got = sink.wait_for(7, timeout=60)
        took = time.monotonic() - restarted
    assert took < 30  # at once: not when the dead process's lease runs out (445 s)
    again = got[1:]
    assert len(again) == 6
    # The mail taken before the kill came again as the same message.
    assert again[0]["Message-ID"] == first["Message-ID"]
    assert first["Subject"] == again[0]["Subject"] and first["To"] == again[0]["To"]
    # The sink has the mail before the server writes it down as sent: wait for the row.
    deadline = time.monotonic() + 30
    while True:
        stored = floor_store.one(
            "SELECT message_id FROM customer_mails WHERE status = 'sent' ORDER BY id LIMIT 1"
        )
        if stored is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert stored["message_id"] == first["Message-ID"].strip()  # (a folded header)
    assert len({m["Message-ID"] for m in again}) == 6
    # Each order's "shipped" reached the customer before its "delivered".
    for n in range(3):
        subjects = [m["Subject"] for m in again if f"#70{n}" in m["Subject"]]
        assert [s.rsplit(" ", 1)[-1] for s in subjects] == ["shipped", "delivered"], subjects
