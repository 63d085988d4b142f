"""scanfloor's gunicorn worker class: gevent-websocket's, with the server `scanfloor-server` runs.

    gunicorn -k server.runtime.gunicorn_worker.Worker -w 1 server.runtime.wsgi:app

gevent-websocket's `GeventWebSocketWorker` serves with its own handler on a plain pywsgi
server: no limit on the handshakes under way at shift start, and a foreign Origin's WebSocket
upgraded before Engine.IO refuses it. This worker's server is set up as `make_server`'s
(`httpd.equip`: the handshake limit of `[http] handshakes`, the Origin check before the
upgrade), with `NoDelayHandler`. It takes both from the app it is given
(`server.runtime.wsgi:app`, an `httpd.QuietCloseApp`); gunicorn imports this module in its
master process too, so it imports no more than the HTTP server's module.
"""

from __future__ import annotations

from typing import Any

from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from gunicorn.workers.ggevent import PyWSGIServer

from server.runtime import httpd


class Server(PyWSGIServer):
    """gunicorn's pywsgi server, equipped as `make_server`'s (see `httpd.equip`)."""

    def __init__(self, *args: Any, application: httpd.QuietCloseApp, **kwargs: Any):
        if not isinstance(application, httpd.QuietCloseApp):
            raise TypeError(
                f"scanfloor's gunicorn worker serves server.runtime.wsgi:app, not {application!r}"
            )
        super().__init__(*args, application=application, **kwargs)
        httpd.equip(self, application)


class Worker(GeventWebSocketWorker):
    server_class = Server
    wsgi_handler = httpd.NoDelayHandler
