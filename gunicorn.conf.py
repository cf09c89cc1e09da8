"""Gunicorn settings from the environment; `gunicorn wsgi:app` reads this file from the current
folder.

GUNICORN_BIND   address to listen on (default 127.0.0.1:8000; behind the HTTPS proxy)
WEB_CONCURRENCY number of sync worker processes (default 3)
GUNICORN_TIMEOUT seconds before a stuck worker is killed and replaced (default 30)

No preload: every worker builds its own app and database pool after the fork.
Anything else: GUNICORN_CMD_ARGS, e.g. "--access-logfile -".
"""
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
