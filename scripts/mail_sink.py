"""A real SMTP server on loopback that keeps every mail it takes: for tests and the demo.

    .venv/bin/python -m scripts.mail_sink --port 2525          # prints each mail it takes

then point the server at it (config/server.toml or the environment):

    SCANFLOOR_EMAIL__ENABLED=true SCANFLOOR_EMAIL__HOST=127.0.0.1 SCANFLOOR_EMAIL__PORT=2525
    SCANFLOOR_EMAIL__STARTTLS=false

In Python: `with MailSink() as sink: ...; sink.count; sink.messages` (parsed EmailMessages).
With `tls=(cert_file, key_file)` it offers STARTTLS and refuses mail before it; with
`login=(user, password)` it asks for that login (over TLS only).
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Keeper:
    def __init__(self, sink: MailSink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.sink.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.sink.down:
            return "451 4.3.0 try again later"
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(msg)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.sink.tls_used.append(session.ssl is not None)
        if self.sink.stall:  # kept, but answered late: a sender killed meanwhile sends it again
            await asyncio.sleep(self.sink.stall)
        return "250 OK kept"


class MailSink:
    """An aiosmtpd server on 127.0.0.1 that keeps what it takes (thread-safe)."""

    def __init__(
        self,
        port: int | None = None,
        tls: tuple[str, str] | None = None,
        login: tuple[str, str] | None = None,
    ):
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tls_used: list[bool] = []
        self.refuse: set[str] = set()  # recipients answered 550
        self.down = False  # True: every mail gets 451 (try again later)
        self.stall = 0.0  # seconds between keeping a mail and answering 250 (a slow server)
        self.lock = threading.Lock()
        kwargs: dict[str, Any] = {}
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            kwargs.update(tls_context=context, require_starttls=True)
        if login is not None:
            user, password = login

            def check(server, session, envelope, mechanism, auth_data) -> AuthResult:
                ok = isinstance(auth_data, LoginPassword) and (
                    auth_data.login.decode(),
                    auth_data.password.decode(),
                ) == (user, password)
                return AuthResult(success=ok)

            kwargs.update(authenticator=check, auth_required=True, auth_require_tls=True)
        self._kwargs = kwargs
        self.controller: Controller | None = None

    @property
    def count(self) -> int:
        """How many mails it has taken."""
        with self.lock:
            return len(self.messages)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until it has taken n mails; returns them."""
        deadline = time.monotonic() + timeout
        while self.count < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.count} mails after {timeout} s, wanted {n}")
            time.sleep(0.02)
        with self.lock:
            return list(self.messages)

    def start(self) -> MailSink:
        """Listen (again: a stopped sink starts on the same port, keeping what it took)."""
        self.controller = Controller(
            _Keeper(self), hostname="127.0.0.1", port=self.port, **self._kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (connections are refused until start())."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> MailSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="An SMTP server on 127.0.0.1 that prints mails.")
    parser.add_argument("--port", type=int, default=2525)
    args = parser.parse_args()
    with MailSink(args.port) as sink:
        print(f"taking mail on 127.0.0.1:{sink.port} (Ctrl-C stops)", flush=True)
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                with sink.lock:
                    new = sink.messages[seen:]
                for msg in new:
                    seen += 1
                    print(f"#{seen} to {msg['To']}: {msg['Subject']}", flush=True)
        except KeyboardInterrupt:
            print(f"{seen} mails taken")


if __name__ == "__main__":
    main()
