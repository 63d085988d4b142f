"""WSGI entry for gunicorn (one worker per site), with scanfloor's worker class:

gunicorn -k server.runtime.gunicorn_worker.Worker -w 1 server.runtime.wsgi:app
"""

from gevent import monkey

monkey.patch_all()

from server.app import create_app  # noqa: E402
from server.config import load_settings  # noqa: E402
from server.runtime import httpd, logs  # noqa: E402

settings = load_settings()
# gunicorn formats its own lines only; without this our INFO lines were dropped.
logs.setup(settings.log_format)
flask_app, socketio = create_app(settings)
# What the server serves, as make_server's; scanfloor's gunicorn worker class
# (server/runtime/gunicorn_worker.py) sets its server up from it.
app = httpd.QuietCloseApp(flask_app, socketio, settings.http.handshakes)
