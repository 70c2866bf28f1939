"""Health endpoints for load balancers and orchestrators (issue 17).

``/healthz``: the process answers (liveness). It reads no database and no queue, so a load
balancer may call it often; a failing database must not make every app process look dead and
get restarted. ``/readyz``: this process can serve (readiness): the database answers a query and
the task queue (Redis or the SQLite queue file) answers its length. 200 when both do, else 503;
the answer names each check's state, never a host name or an error text (both are public).
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from huey.contrib.djhuey import HUEY

from partnerhub.core.access import PUBLIC, access

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"


@access(PUBLIC)
@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: 200 whenever the process answers (GET and HEAD)."""
    return JsonResponse({"status": OK})


def database_state() -> str:
    """``ok`` when the database answers ``SELECT 1``, else ``unavailable`` (logged)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("readiness: the database does not answer", exc_info=True)
        return UNAVAILABLE
    return OK


def queue_state() -> str:
    """``ok`` when the task queue's storage answers its length, else ``unavailable`` (logged)."""
    try:
        HUEY.storage.queue_size()
    except Exception:  # any storage error (Redis, SQLite) means not ready
        logger.warning("readiness: the task queue does not answer", exc_info=True)
        return UNAVAILABLE
    return OK


@access(PUBLIC)
@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: 200 when the database and the queue answer, 503 (with each check) when not."""
    checks = {"database": database_state(), "queue": queue_state()}
    ready = all(state == OK for state in checks.values())
    return JsonResponse(
        {"status": OK if ready else UNAVAILABLE, "checks": checks}, status=200 if ready else 503
    )
