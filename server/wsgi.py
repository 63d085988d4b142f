"""WSGI entry for gunicorn's gevent-websocket worker (one worker per site)."""

from gevent import monkey

monkey.patch_all()

from server.app import create_app  # noqa: E402

app, socketio = create_app()
