"""Authentication backend: email (case-insensitive) and password, throttled (issue 14): every
attempt with a request (the login page, the admin's login form) passes the login gate of
``accounts.services`` first; one that must wait is refused without a password check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from partnerhub.accounts import login_guard, services
from partnerhub.accounts.models import User
from partnerhub.core.audit import client_ip


class EmailBackend(ModelBackend):
    """Log in by email; the organisation is loaded with the user to spare a query per request."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> User | None:
        email = (kwargs.get("email") or username or "").strip().lower()
        if not email or password is None:
            return None
        if request is None:  # no client to throttle (a management command, a shell)
            return self._check(email, password)
        gate = services.login_attempt_start(
            email=email, ip=client_ip(request), device=login_guard.device_for(request, email)
        )
        if gate.attempt_id is None:  # must wait: the password is not even checked
            login_guard.mark_wait(request, gate.wait_seconds)
            raise PermissionDenied
        user = self._check(email, password)
        services.login_attempt_finish(attempt_id=gate.attempt_id, succeeded=user is not None)
        return user

    def _check(self, email: str, password: str) -> User | None:
        user = User.objects.filter(email=email).first()
        if user is None:
            User().set_password(password)  # same time as a real check: no user enumeration
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: int) -> User | None:
        user = User.objects.select_related("organisation").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
