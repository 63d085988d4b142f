"""WSGI entry for gunicorn's gevent-websocket worker (one worker per site)."""

from gevent import monkey

monkey.patch_all()

from server.app import create_app  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.runtime import httpd, logs  # noqa: E402

settings = load_settings()
# gunicorn formats its own lines only; without this our INFO lines were dropped.
logs.setup(settings.log_format)
flask_app, socketio = create_app(settings)
# gunicorn's worker holds what it serves as its server's application, as make_server does.
app = httpd.QuietCloseApp(flask_app)
