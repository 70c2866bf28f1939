"""Huey queue configuration: SqliteHuey under var/ by default, RedisHuey when REDIS_URL is set."""

from __future__ import annotations

from pathlib import Path


def huey_settings(*, redis_url: str, var_dir: Path) -> dict[str, object]:
    """The ``HUEY`` setting for ``huey.contrib.djhuey``."""
    consumer = {
        "workers": 2,
        "worker_type": "thread",
        "periodic": True,
        "check_worker_health": True,
    }
    if redis_url:
        return {
            "name": "partnerhub",
            "huey_class": "huey.RedisHuey",
            "immediate": False,
            "connection": {"url": redis_url},
            "consumer": consumer,
        }
    return {
        "name": "partnerhub",
        "huey_class": "huey.SqliteHuey",
        "immediate": False,
        "filename": str(var_dir / "huey.sqlite3"),
        "consumer": consumer,
    }
