"""The request side of login throttling (issue 14, item 6): the known-device cookie and the wait
an authentication attempt was told to observe.

A successful login on the login page sets a signed, long-lived, HTTP-only cookie naming a random
device id and (as keyed digests, not in clear) the e-mails that logged in with it. A later
attempt for one of those e-mails is throttled only by that device's own failures
(``accounts.services.login_attempt_start``), so an attacker elsewhere cannot lock the user out.
Following OWASP's "device cookies" scheme: the cookie proves nothing about the password, it only
picks the throttling scope, and it is useless for another e-mail.

The authentication backend runs the gate (so the admin's login form is throttled too) and marks
the request with the wait; the login page reads it to answer 429 with ``Retry-After``.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.utils.crypto import salted_hmac

SALT = "partnerhub.accounts.device"
#: At most this many e-mails are remembered on one device (the newest ones).
DEVICE_EMAILS = 5
_WAIT_ATTRIBUTE = "_partnerhub_login_wait"


def _max_age() -> int:
    return int(settings.LOGIN_DEVICE_COOKIE_DAYS) * 24 * 60 * 60


def _digest(email: str) -> str:
    return salted_hmac(SALT, email.strip().lower()).hexdigest()[:20]


def _cookie(request: HttpRequest) -> tuple[str, list[str]] | None:
    try:
        raw = request.get_signed_cookie(
            settings.LOGIN_DEVICE_COOKIE_NAME, salt=SALT, max_age=_max_age()
        )
    except (KeyError, signing.BadSignature):
        return None
    if not isinstance(raw, str):
        return None
    device, _sep, digests = raw.partition(".")
    if not device:
        return None
    return device, [d for d in digests.split(".") if d]


def device_for(request: HttpRequest, email: str) -> str:
    """The id of the request's device when its cookie is valid for ``email``; "" otherwise."""
    found = _cookie(request)
    if found is None or _digest(email) not in found[1]:
        return ""
    return found[0]


def remember_device(request: HttpRequest, response: HttpResponse, email: str) -> None:
    """Set (or extend) the device cookie for ``email`` after a successful login."""
    found = _cookie(request)
    device, digests = found if found is not None else (secrets.token_hex(16), [])
    digest = _digest(email)
    digests = [*(d for d in digests if d != digest), digest][-DEVICE_EMAILS:]
    response.set_signed_cookie(
        settings.LOGIN_DEVICE_COOKIE_NAME,
        ".".join([device, *digests]),
        salt=SALT,
        max_age=_max_age(),
        httponly=True,
        secure=bool(settings.SESSION_COOKIE_SECURE),
        samesite="Lax",
    )


def mark_wait(request: HttpRequest, seconds: int) -> None:
    """Note on the request that its login attempt must wait ``seconds`` (nothing was checked)."""
    setattr(request, _WAIT_ATTRIBUTE, seconds)


def wait_of(request: HttpRequest) -> int:
    """The wait ``mark_wait`` noted on the request, 0 when none."""
    return int(getattr(request, _WAIT_ATTRIBUTE, 0))
