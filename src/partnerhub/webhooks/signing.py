"""Signing of webhook requests, and the check a receiver runs (core issue: "JSON body signed
with HMAC-SHA256 in a header"). Pure standard library, so that a receiver can copy this file.

Every request carries::

    Content-Type: application/json
    X-Partnerhub-Event-Id: 3f0c...          the event id: deduplicate by it (at least once)
    X-Partnerhub-Event-Type: partners.enrolment.activated
    X-Partnerhub-Timestamp: 1767225600      Unix seconds when the request was signed
    X-Partnerhub-Signature: sha256=<hex>    HMAC-SHA256(secret, "<timestamp>." + raw body)

The body is ``{"id", "type", "created_at", "organisation_id", "data"}``. A receiver takes the
raw body bytes as received (before any JSON parsing), computes the HMAC with the endpoint's
secret over ``timestamp + "." + body``, compares it in constant time with the header, and refuses
timestamps more than five minutes away from its own clock (a replayed request). Retries are
signed again with a new timestamp; the event id stays the same.
"""

from __future__ import annotations

import hashlib
import hmac
import time

EVENT_ID_HEADER = "X-Partnerhub-Event-Id"
EVENT_TYPE_HEADER = "X-Partnerhub-Event-Type"
TIMESTAMP_HEADER = "X-Partnerhub-Timestamp"
SIGNATURE_HEADER = "X-Partnerhub-Signature"
SCHEME = "sha256"
#: Receivers refuse requests signed further than this from their clock (seconds).
DEFAULT_TOLERANCE = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature header value: ``sha256=<hex HMAC-SHA256(secret, f"{timestamp}." + body)>``."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def verify_signature(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> bool:
    """True when ``signature`` signs ``body`` at ``timestamp`` with ``secret`` and the
    timestamp is within ``tolerance`` seconds of ``now`` (the receiver's clock)."""
    try:
        signed_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, signed_at, body), signature.strip())
