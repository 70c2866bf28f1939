"""``partnerhub serve``: the web server (gunicorn + WhiteNoise) and the Huey worker together.

Ctrl-C (or SIGTERM) stops both cleanly; if either exits, the other is stopped too. gunicorn's
worker timeout is ``REQUEST_TIMEOUT_SECONDS``, which the Idempotency-Key lease is derived from
(``core.idempotency``).

Database connections (issue 17), unless the environment sets them otherwise: each gunicorn
process keeps a pool of PostgreSQL connections as large as its threads (``DATABASE_POOL``,
``DATABASE_POOL_MAX_SIZE``), the Huey worker keeps its connections for
``WORKER_CONN_MAX_AGE`` seconds (``DATABASE_CONN_MAX_AGE``). SQLite ignores both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

STOP_GRACE_SECONDS = 15
#: Seconds the Huey worker keeps a database connection between tasks.
WORKER_CONN_MAX_AGE = 60


def web_environment(threads: int) -> dict[str, str]:
    """gunicorn's environment: this one, with a connection pool per process sized to its
    threads where the environment does not say otherwise."""
    environment = dict(os.environ)
    environment.setdefault("DATABASE_POOL", "1")
    environment.setdefault("DATABASE_POOL_MAX_SIZE", str(threads))
    return environment


def worker_environment() -> dict[str, str]:
    """The Huey worker's environment: persistent connections (a pool does not apply to its few
    threads) where the environment does not say otherwise."""
    environment = dict(os.environ)
    environment.setdefault("DATABASE_CONN_MAX_AGE", str(WORKER_CONN_MAX_AGE))
    return environment


class Command(BaseCommand):
    help = "Serve the portal with gunicorn and run the Huey background worker beside it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="gunicorn processes (one by default: it keeps the referral program's live "
            "states in memory; more processes share them through the database, more slowly)",
        )
        parser.add_argument("--threads", type=int, default=8, help="threads a process")
        parser.add_argument("--no-worker", action="store_true", help="do not start Huey")

    def handle(self, *args: Any, **options: Any) -> None:
        web = [
            sys.executable,
            "-m",
            "gunicorn",
            "partnerhub.config.wsgi:application",
            "--bind",
            options["bind"],
            "--workers",
            str(options["workers"]),
            "--threads",
            str(options["threads"]),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
            "--timeout",
            str(settings.REQUEST_TIMEOUT_SECONDS),
        ]
        worker = [sys.executable, "-m", "partnerhub.manage", "run_huey"]
        # Our own interpreter and arguments:
        children = [subprocess.Popen(web, env=web_environment(options["threads"]))]  # noqa: S603
        if not options["no_worker"]:
            children.append(subprocess.Popen(worker, env=worker_environment()))  # noqa: S603
        self.stdout.write(f"partnerhub is serving on http://{options['bind']} (Ctrl-C stops)")
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.3)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
        self.stdout.write("partnerhub stopped")
