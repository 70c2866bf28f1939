"""``/healthz`` and ``/readyz`` (issue 17): liveness without the database, readiness with the
database and the queue; a failing part answers 503 and names only the check."""

from __future__ import annotations

import pytest
from django.db.utils import ConnectionHandler
from huey import RedisHuey

from partnerhub.core import health


def test_healthz_answers_without_touching_the_database(client):
    """No ``django_db`` mark: a query anywhere on the request's path would fail the test
    ("Database access not allowed"), sessions, authentication and audit included."""
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_healthz_takes_head_and_refuses_a_post(client):
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_queue(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "queue": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_when_the_database_cannot_be_opened(client, monkeypatch, tmp_path):
    """A real connection to a database file in a directory that does not exist."""
    missing = ConnectionHandler(
        {
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp_path / "missing" / "db.sqlite3"),
            }
        }
    )
    monkeypatch.setattr(health, "connection", missing["default"])

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "unavailable", "queue": "ok"},
    }


@pytest.mark.django_db
def test_readyz_is_503_when_the_queue_does_not_answer(client, monkeypatch):
    """A real Redis client to a port nothing listens on; the answer names no host or error."""
    monkeypatch.setattr(health, "HUEY", RedisHuey("unreachable", host="127.0.0.1", port=1))

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "queue": "unavailable"},
    }
    assert b"127.0.0.1" not in response.content
