"""What the HTTP benchmarks share: run ``partnerhub`` commands, start and stop ``partnerhub
serve`` on a free port, talk to it over one kept-alive connection, and summarise latencies.

Loaded by path (``load_sibling("_serve")`` in each script: the bench directory is kept off
``sys.path``, where a script named like a standard module would shadow it). Its name starts
with ``_`` so that ``make bench`` does not run it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 90.0


class StepFailed(RuntimeError):
    """A step of the run failed; the message says which and why."""


def partnerhub_command() -> str:
    """The console script beside this interpreter (``make bench`` runs ``.venv/bin/python``)."""
    beside = Path(sys.executable).with_name("partnerhub")
    return str(beside if beside.exists() else ROOT / ".venv" / "bin" / "partnerhub")


def manage(env: dict[str, str], *arguments: str) -> str:
    """Run ``partnerhub <arguments>``; its standard output, or StepFailed with its tail."""
    command = [partnerhub_command(), *arguments]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        raise StepFailed(
            f"partnerhub {' '.join(arguments)}: exit {done.returncode}\n" + "\n".join(tail)
        )
    return done.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    """A running ``partnerhub serve`` and one kept-alive connection to it with a token."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path
    token: str
    connection: http.client.HTTPConnection = field(init=False)

    def __post_init__(self) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        try:
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self.connection.close()  # the server closed a kept-alive connection: once more
            self.connection.request(method, path, body=body, headers=all_headers)
            response = self.connection.getresponse()
        return response.status, response.read(), response

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return "\n".join(f"    | {line}" for line in text[-lines:])


def start_server(
    env: dict[str, str], directory: Path, token: str, workers: int, *, ready_path: str
) -> Server:
    """Start ``partnerhub serve`` (gunicorn and the Huey worker) and wait until ``ready_path``
    answers 200 to ``token``."""
    port = free_port()
    log = directory / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [
                partnerhub_command(),
                "serve",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as one
        )
    server = Server(process, port, log, token)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StepFailed(
                f"partnerhub serve exited with {process.returncode}\n{server.log_tail()}"
            )
        try:
            status, body, _ = server.request("GET", ready_path)
        except OSError:
            time.sleep(0.2)
            continue
        if status != 200:
            raise StepFailed(f"GET {ready_path} with the token answered {status}: {body[:300]!r}")
        return server
    raise StepFailed(f"the server did not answer within {START_TIMEOUT:.0f} s\n{server.log_tail()}")


def stop_server(server: Server | None) -> None:
    """Stop the server's process group: SIGINT, then SIGTERM, then SIGKILL."""
    if server is None:
        return
    server.connection.close()
    process = server.process
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def percentile(values: list[float], share: float) -> float:
    """The value at ``share`` (0..1) of the sorted values (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def empty_redis(url: str) -> bool:
    """Empty the bench's Redis database; False (with a note) when Redis cannot be reached."""
    if not url:
        return False
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).flushdb()
    except redis.RedisError as exc:
        print(f"note: Redis at {url} is unreachable ({exc}); the Huey queue stays on SQLite")
        return False
    return True


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every HTTP benchmark takes: client threads, gunicorn workers, the random
    seed, the PostgreSQL server and the Redis queue."""
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL database to connect to for creating and dropping the bench database",
    )
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/5",
        help="the server's Huey queue (emptied first); empty for the SQLite queue",
    )


def server_env(*, pg_url: str, database: str, directory: Path, redis_url: str) -> dict[str, str]:
    """The environment of the bench's ``partnerhub`` commands and server: this one without the
    caller's database, queue and debug settings, on ``database`` of the server ``pg_url`` names,
    with ``directory`` as ``VAR_DIR``, mail to the console and the queue on ``redis_url`` (empty:
    SQLite)."""
    import psycopg

    url = psycopg.conninfo.conninfo_to_dict(pg_url)
    user, host, port = url.get("user", ""), url.get("host", ""), url.get("port", 5432)
    password = f":{url['password']}" if url.get("password") else ""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        {
            "VAR_DIR": str(directory),
            "EMAIL_URL": "console://",
            "DATABASE_URL": f"postgres://{user}{password}@{host}:{port}/{database}",
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


@contextlib.contextmanager
def bench_database(pg_url: str, database: str, what: str) -> Iterator[bool]:
    """``database`` created anew on the server ``pg_url`` names and dropped at the end (also
    when the run fails): True; False, with a line saying ``what`` is skipped, when PostgreSQL
    cannot be reached."""
    import psycopg

    try:
        admin = psycopg.connect(pg_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        print(f"== {what} on postgresql: skipped, PostgreSQL is unreachable ({reason})")
        yield False
        return
    with admin:
        admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {database}")
        try:
            yield True
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
