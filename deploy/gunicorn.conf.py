"""gunicorn settings for ISECA behind nginx (used by deploy/systemd/iseca.service).

    gunicorn -c deploy/gunicorn.conf.py app:app

Each value can be changed without editing this file through the
environment (the systemd unit reads /etc/iseca/iseca.env):
GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_TIMEOUT."""
import multiprocessing
import os

# nginx on the same host talks to this address; never bind it to the network.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: nginx buffers slow clients, so a worker is busy only while the
# app works. A payment waits on PostgreSQL most of its time, hence 2 per core
# plus one; each worker holds at most 5+10 database connections
# (SQLAlchemy's pool), so keep workers × hosts × 15 under PostgreSQL's
# max_connections (100 by default).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"

# A request still running after this is killed and its worker replaced. The
# longest legitimate requests are CSV exports (streamed) and PDF sheets.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30  # on restart, requests in flight may finish
keepalive = 5  # seconds an idle nginx upstream connection stays open

# A fresh worker now and then bounds any slow memory growth.
max_requests = 2000
max_requests_jitter = 200

# The app writes one JSON line per request itself (iseca/web/requestlog.py),
# with the request id and with card secrets masked: gunicorn's access log
# would repeat it with the raw URL, so it stays off.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# The app's stderr (its log lines) goes to the same place as gunicorn's.
capture_output = False

# The request line and headers a till sends are small; refuse giants early.
limit_request_line = 8190
limit_request_fields = 100
