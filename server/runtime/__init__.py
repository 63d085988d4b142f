"""Running the server: the serving process, WSGI, HTTP tuning, clusters, metrics, logs, process registry."""
