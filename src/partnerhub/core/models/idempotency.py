"""Idempotency keys of write API requests (issue "Idempotency"; house rule 10).

One row per (scope, key): the scope is the caller's organisation (``org:12``) or, for a user
without one, the user (``user:5``). The row is claimed by INSERT before the work runs (the unique
constraint decides who is first), then holds the stored response until it expires (24 hours;
``core.idempotency.idempotency_cleanup`` deletes expired rows every hour).

While in progress the row carries a lease (issue 14, part 3): the claim token of the request
holding it and the moment its lease ends. A retry takes over a claim whose lease has ended (its
request died) by replacing the token; the response is recorded only by the holder of the token.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from partnerhub.core.clock import now


class IdempotencyState(models.TextChoices):
    """A key is in progress while its first request runs, then completed."""

    IN_PROGRESS = "in_progress", _("Выполняется")
    COMPLETED = "completed", _("Выполнен")


class IdempotencyKey(models.Model):
    """A claimed ``Idempotency-Key`` with the fingerprint of its request and, once done, the
    response to replay."""

    scope = models.CharField(_("область"), max_length=64)
    key = models.CharField(_("ключ"), max_length=255)
    organisation_id = models.BigIntegerField(_("организация"), null=True, blank=True)
    user_id = models.BigIntegerField(_("пользователь"), null=True, blank=True)
    method = models.CharField(_("метод"), max_length=10)
    path = models.CharField(_("адрес"), max_length=2000)
    request_hash = models.CharField(_("отпечаток запроса"), max_length=64)
    state = models.CharField(
        _("состояние"),
        max_length=16,
        choices=IdempotencyState.choices,
        default=IdempotencyState.IN_PROGRESS,
    )
    response_status = models.PositiveSmallIntegerField(_("код ответа"), null=True, blank=True)
    response_body = models.TextField(_("тело ответа"), blank=True)
    response_content_type = models.CharField(_("тип ответа"), max_length=100, blank=True)
    response_headers = models.JSONField(_("заголовки ответа"), default=dict, blank=True)
    claim_token = models.CharField(_("метка захвата"), max_length=32, blank=True)
    lease_until = models.DateTimeField(_("захвачен до"), null=True, blank=True)
    created_at = models.DateTimeField(_("создан"), default=now)
    expires_at = models.DateTimeField(_("истекает"), db_index=True)

    class Meta:
        verbose_name = _("ключ идемпотентности")
        verbose_name_plural = _("ключи идемпотентности")
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
