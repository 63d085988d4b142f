"""Posting to the shops' receivers without reaching inside: a requests session that judges the
address it connects to, and the short words of our own a failed attempt is written down with.

Every new connection resolves the URL's host once, judges each address it resolves to
(server/notify/domain/destinations.py: loopback, private, link-local, unspecified and cloud
metadata addresses are refused unless the host is in `[webhooks] allowed_hosts`) and then
connects to exactly the address judged: a name cannot resolve to a public address for the
check and to an internal one for the connection (DNS rebinding). Environment proxies are not
used, redirects are not followed (delivery.py), and nothing the receiver answered is kept:
only its status, in words of our own.
"""

from __future__ import annotations

import socket
from collections.abc import Collection
from http import HTTPStatus
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from server.notify.domain import destinations


class RefusedAddress(OSError):
    """The URL's host resolves to an address webhooks may not go to."""


def judged_address(host: str, port: int, allowed_hosts: Collection[str]) -> str | None:
    """The address to connect to for this host (None: connect as usual, the host is allowed);
    RefusedAddress if any address it resolves to is refused."""
    if destinations.host_allowed(host, allowed_hosts):
        return None
    try:
        found = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise  # urllib3 says the name does not resolve
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    for text in addresses:
        address = destinations.literal_address(text.split("%", 1)[0])
        why = "not an IP address" if address is None else destinations.address_refusal(address)
        if why is not None:
            raise RefusedAddress(f"{host} resolves to {text}, {why}: {destinations.ONLY_PUBLIC}")
    if not addresses:
        raise RefusedAddress(f"{host} resolves to no address")
    return addresses[0]


class _Judged:
    """Mixed into urllib3's connections: connect only to an address judged just now."""

    allowed_hosts: Collection[str] = ()
    _dns_host: str
    host: str
    port: int

    def _new_conn(self) -> socket.socket:
        named = self._dns_host
        address = judged_address(named, self.port, self.allowed_hosts)
        if address is None:
            return super()._new_conn()  # type: ignore[misc]
        self._dns_host = address  # TLS still checks the certificate against the URL's host
        try:
            return super()._new_conn()  # type: ignore[misc]
        finally:
            self._dns_host = named


class _JudgedAdapter(HTTPAdapter):
    def __init__(self, allowed_hosts: Collection[str], **kwargs: Any):
        allowed = tuple(allowed_hosts)
        http = type("JudgedHTTPConnection", (_Judged, HTTPConnection), {"allowed_hosts": allowed})
        https = type(
            "JudgedHTTPSConnection", (_Judged, HTTPSConnection), {"allowed_hosts": allowed}
        )
        self._pools = {
            "http": type("JudgedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("JudgedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
        }
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


def session(allowed_hosts: Collection[str], pool_maxsize: int = 10) -> requests.Session:
    """A requests session for webhooks: judged addresses only, no environment proxies."""
    s = requests.Session()
    s.trust_env = False  # an HTTP(S)_PROXY in the environment would be connected to unjudged
    adapter = _JudgedAdapter(allowed_hosts, pool_maxsize=pool_maxsize)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def status_words(code: int) -> str:
    """An answer that was not 2xx, as we write it down: the status and its standard phrase."""
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "not a 2xx answer"
    return f"HTTP {code} {phrase}"


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception and every one it wraps (causes, contexts, urllib3's `reason`)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        e = todo.pop()
        if e in seen:
            continue
        seen.append(e)
        todo += [x for x in (e.__cause__, e.__context__, getattr(e, "reason", None)) if x]
        todo += [a for a in e.args if isinstance(a, BaseException)]
    return seen


def failure_words(exc: BaseException) -> str:
    """A failed attempt in words of our own (never what the receiver or a library said)."""
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, RefusedAddress):
            return f"refused: {e}"
    if any(isinstance(e, socket.gaierror) for e in chain):
        return "the host name does not resolve"
    if isinstance(exc, requests.Timeout) or any(isinstance(e, TimeoutError) for e in chain):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed"
    if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.MissingSchema):
        return "not a URL that can be posted to"
    return f"the attempt failed ({type(exc).__name__})"
