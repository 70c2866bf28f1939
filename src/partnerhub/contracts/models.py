"""Contracts of partners in the vendor's programs and the application to join (issue 6).

Spec: ``shared/spec/partners-and-contracts.md``, "Contract (referral program)"; seed
"ОФОРМЛЕНИЕ ДОКУМЕНТОВ". A partner joins the vendor's contract by sending an application to join
(заявление о присоединении к договору) generated from its card; staff take it under review and
sign or reject it. The contract's state moves only by ``CONTRACT_MACHINE`` through
``core.transitions`` (events ``contracts.contract.<state>``).

One contract per (organisation, program). ``enrolment`` links the program enrolment when the
partner has one (referral partners join by registration and may have none).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.core.transitions import StateMachine
from partnerhub.partners.models import Enrolment, Organisation, Program


class ContractState(models.TextChoices):
    """Life of a contract (spec: draft, sent, under review, signed, rejected, terminated)."""

    DRAFT = "draft", _("Черновик")
    SENT = "sent", _("Заявление отправлено")
    UNDER_REVIEW = "under_review", _("На проверке")
    SIGNED = "signed", _("Подписан")
    REJECTED = "rejected", _("Отклонён")
    TERMINATED = "terminated", _("Расторгнут")


#: Allowed moves; rejecting and terminating need a reason. A rejected application is fixed by
#: the partner and sent again; a terminated contract is final.
CONTRACT_MACHINE = StateMachine(
    field="state",
    transitions={
        ContractState.DRAFT: frozenset({ContractState.SENT}),
        ContractState.SENT: frozenset({ContractState.UNDER_REVIEW, ContractState.REJECTED}),
        ContractState.UNDER_REVIEW: frozenset({ContractState.SIGNED, ContractState.REJECTED}),
        ContractState.REJECTED: frozenset({ContractState.SENT}),
        ContractState.SIGNED: frozenset({ContractState.TERMINATED}),
        ContractState.TERMINATED: frozenset(),
    },
    reason_required=frozenset({ContractState.REJECTED, ContractState.TERMINATED}),
)


class Channel(models.TextChoices):
    """How documents travel between the partner and the vendor."""

    PAPER = "paper", _("На бумаге, почтой")
    EDO = "edo", _("Через ЭДО")


class EdoOperator(models.TextChoices):
    """EDO operators the vendor exchanges documents through."""

    TAXCOM = "taxcom", _("Такском")
    DIADOC = "diadoc", _("Диадок (Контур)")
    SBIS = "sbis", _("СБИС (Тензор)")


class Contract(models.Model):
    """A partner's contract in one program: the chosen channels and the application sent."""

    state_machine: ClassVar[StateMachine] = CONTRACT_MACHINE

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("партнёр"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    program = models.ForeignKey(
        Program, verbose_name=_("программа"), on_delete=models.PROTECT, related_name="contracts"
    )
    enrolment = models.ForeignKey(
        Enrolment,
        verbose_name=_("участие в программе"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contracts",
    )
    state = models.CharField(
        _("состояние"), max_length=16, choices=ContractState.choices, default=ContractState.DRAFT
    )
    application_channel = models.CharField(
        _("как отправляется заявление"),
        max_length=8,
        choices=Channel.choices,
        default=Channel.PAPER,
    )
    closing_channel = models.CharField(
        _("как отправляются закрывающие документы"),
        max_length=8,
        choices=Channel.choices,
        default=Channel.PAPER,
    )
    edo_operator = models.CharField(
        _("оператор ЭДО"), max_length=16, choices=EdoOperator.choices, blank=True
    )
    edo_participant_id = models.CharField(_("ID участника ЭДО"), max_length=46, blank=True)
    application_number = models.CharField(_("номер заявления"), max_length=32, blank=True)
    attempts = models.PositiveIntegerField(_("отправок заявления"), default=0)
    application_pdf = models.FileField(
        _("отправленное заявление (PDF)"), upload_to="contracts/applications/%Y/", blank=True
    )
    application_snapshot = models.JSONField(
        _("данные отправленного заявления"), default=dict, blank=True
    )
    sent_at = models.DateTimeField(_("отправлено"), null=True, blank=True)
    signed_on = models.DateField(_("дата подписания"), null=True, blank=True)
    terminated_on = models.DateField(_("дата расторжения"), null=True, blank=True)
    state_reason = models.CharField(_("причина"), max_length=500, blank=True)
    state_changed_at = models.DateTimeField(_("состояние изменено"), default=timezone.now)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("кто изменил состояние"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создан"), default=timezone.now)
    updated_at = models.DateTimeField(_("изменён"), auto_now=True)

    class Meta:
        verbose_name = _("договор")
        verbose_name_plural = _("договоры")
        ordering = ["-state_changed_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "program"], name="contract_unique_per_program"
            )
        ]
        indexes = [models.Index(fields=["state", "state_changed_at"])]

    def __str__(self) -> str:
        return f"{self.organisation} / {self.program}"

    @property
    def is_editable(self) -> bool:
        """The partner may change the channels while the application has not gone."""
        return self.state in (ContractState.DRAFT, ContractState.REJECTED)
