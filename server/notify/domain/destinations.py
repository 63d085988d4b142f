"""Where a webhook may be posted: the rules against server-side request forgery (SSRF).

A subscription names a URL, and the server posts to it: without rules, an API key could
make the server reach what only the server reaches (itself, the database's host, a cloud's
metadata service at 169.254.169.254) and read the answers back. So, as webhook senders do
(Svix, Stripe): only http(s) URLs with a host, no `user:pass@`; and only public addresses,
unless the URL's host is on the site's own list (`[webhooks] allowed_hosts`, for a shop's
receiver inside the network). A host name is judged on the address it resolves to when the
webhook is sent, each time (server/notify/delivery.py connects to exactly the address judged
here), so a name that resolved to a public address at subscribe time cannot rebind to an
internal one later. Pure rules: nothing here resolves or connects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services. Link-local (169.254/16, fe80::/10) is refused anyway; these are
# named so the refusal says what they are, and the ones outside link-local are refused too.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "fd00:ec2::254", "100.100.100.200")
)


LOOPBACK = "a loopback address"
ONLY_PUBLIC = "webhooks go to public addresses, or to a host named in [webhooks] allowed_hosts"


def address_refusal(address: Address) -> str | None:
    """Why a webhook may not be posted to this address (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return LOOPBACK
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"
    return None


def host_allowed(host: str, allowed_hosts: Collection[str]) -> bool:
    """Whether the site's config lets this URL host be any address (its own receivers)."""
    wanted = host.strip("[]").rstrip(".").lower()
    return any(wanted == a.strip("[]").rstrip(".").lower() for a in allowed_hosts)


def literal_address(host: str) -> Address | None:
    """The host as an IP address when the URL names one (`127.0.0.1`, `[::1]`), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def split_url(url: str) -> tuple[SplitResult | None, str | None]:
    """The URL's parts, or why it is not a webhook URL (malformed URLs included)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is no number or out of range
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
        return None, f"not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return None, "an http:// or https:// URL with a host"
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return None, "no user name or password in the URL (user:pass@): sign with the secret"
    if any(c.isspace() for c in url) or not url.isprintable():
        return None, "no spaces or control characters in the URL"
    return parts, None


def url_problem(url: str, allowed_hosts: Collection[str] = ()) -> str | None:
    """Why a subscription may not post to this URL, or None. A host name passes here and is
    judged by the address it resolves to at each send."""
    parts, problem = split_url(url)
    if parts is None:
        return problem
    host = parts.hostname or ""
    if host_allowed(host, allowed_hosts):
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is {LOOPBACK}: {ONLY_PUBLIC}"
    address = literal_address(host)
    if address is not None and (why := address_refusal(address)) is not None:
        return f"{host} is {why}: {ONLY_PUBLIC}"
    return None
