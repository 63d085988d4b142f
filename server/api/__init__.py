"""REST API under /api: orders, catalogue, stock, devices; OpenAPI at /api/openapi.json."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from server.api.routes import bp
    from server.api.shop import hooks
    from server.web.login import csrf_exempt

    app.register_blueprint(bp)
    app.register_blueprint(hooks)  # /webhooks: signed by the shops, no API key
    # Every request there carries its own credentials (a key, a signature), never a cookie.
    csrf_exempt(bp, hooks)
