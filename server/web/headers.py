"""Headers every HTML page is sent with: its Content-Security-Policy (a `<meta>` tag cannot say
`frame-ancestors`, and a page without one had none), and a favicon answer, so no page's
automatic /favicon.ico request ends in a 404.

The policy allows only this site's scripts, styles, images and connections. A page's own
`<style>` and `<script>` blocks (the tracking page and the manifest style themselves inline)
are allowed by the SHA-256 of their exact text, computed from the page as sent, so no
`'unsafe-inline'` is needed and a block injected into a page would not run.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response

HEADER = "Content-Security-Policy"
_BLOCK = re.compile(r"<(style|script)\b[^>]*>(.*?)</\1\s*>", re.DOTALL | re.IGNORECASE)
_SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)


def _hashes(html: str) -> dict[str, list[str]]:
    """The CSP hash sources of a page's inline style and script blocks, by tag."""
    found: dict[str, list[str]] = {"style": [], "script": []}
    for match in _BLOCK.finditer(html):
        tag, body = match.group(1).lower(), match.group(2)
        if tag == "script" and _SRC.search(match.group(0).split(">", 1)[0]):
            continue  # a script loaded from a URL: 'self' covers it
        if not body.strip():
            continue
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        found[tag].append(f"'sha256-{digest}'")
    return found


def policy(html: str) -> str:
    """The Content-Security-Policy of one HTML page."""
    inline = _hashes(html)
    return "; ".join(
        [
            "default-src 'self'",
            " ".join(["script-src 'self'", *inline["script"]]),
            " ".join(["style-src 'self'", *inline["style"]]),
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _with_policy(response: Response) -> Response:
    if response.mimetype != "text/html" or HEADER in response.headers or response.is_streamed:
        return response
    response.headers[HEADER] = policy(response.get_data(as_text=True))
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def _favicon() -> Response:
    """No icon of our own: 204, kept a day, instead of a 404 on every page's first load."""
    return Response(status=204, headers={"Cache-Control": "public, max-age=86400"})


def init_app(app: Flask) -> None:
    app.after_request(_with_policy)
    app.add_url_rule("/favicon.ico", "favicon", _favicon, methods=["GET"])
