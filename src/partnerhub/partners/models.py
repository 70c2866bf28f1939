"""Organisations (the vendor and its partners), the partner card, programs, enrolments, statuses.

Spec: ``shared/spec/partners-and-contracts.md``. The partner card is kept on the organisation;
every change of a card field is a ``CardChange`` row (who, when, old, new).
"""

from __future__ import annotations

import datetime
import uuid
from typing import ClassVar

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.core.access import PARTNER, VENDOR
from partnerhub.core.transitions import StateMachine


class OrgKind(models.TextChoices):
    """The vendor runs the programs; partners take part in them."""

    VENDOR = VENDOR, _("Вендор")
    PARTNER = PARTNER, _("Партнёр")


class LegalForm(models.TextChoices):
    """Legal entity (ЮЛ) or individual entrepreneur (ИП)."""

    UL = "ul", _("Юридическое лицо")
    IP = "ip", _("Индивидуальный предприниматель")


class Organisation(models.Model):
    """The vendor or a partner organisation, with its card of requisites."""

    kind = models.CharField(_("вид"), max_length=16, choices=OrgKind.choices, default=PARTNER)
    legal_form = models.CharField(
        _("организационная форма"), max_length=2, choices=LegalForm.choices, default=LegalForm.UL
    )
    full_name = models.CharField(_("полное наименование"), max_length=500, blank=True)
    short_name = models.CharField(_("краткое наименование"), max_length=200)
    inn = models.CharField(_("ИНН"), max_length=12, blank=True)
    kpp = models.CharField(_("КПП"), max_length=9, blank=True)
    ogrn = models.CharField(_("ОГРН / ОГРНИП"), max_length=15, blank=True)
    legal_address = models.CharField(_("юридический адрес"), max_length=500, blank=True)
    postal_address = models.CharField(_("почтовый адрес"), max_length=500, blank=True)
    vat_payer = models.BooleanField(_("плательщик НДС"), default=False)
    bik = models.CharField(_("БИК"), max_length=9, blank=True)
    settlement_account = models.CharField(_("расчётный счёт"), max_length=20, blank=True)
    correspondent_account = models.CharField(_("корреспондентский счёт"), max_length=20, blank=True)
    bank_name = models.CharField(_("наименование банка"), max_length=300, blank=True)
    director_name = models.CharField(_("ФИО руководителя"), max_length=200, blank=True)
    director_position = models.CharField(_("должность руководителя"), max_length=200, blank=True)
    email = models.EmailField(_("эл. почта"), blank=True)
    phone = models.CharField(_("телефон"), max_length=32, blank=True)
    website = models.URLField(_("сайт"), blank=True)
    is_distributor = models.BooleanField(
        _("региональный дистрибьютор"),
        default=False,
        help_text=_("Может задавать условия для партнёров, работающих через него."),
    )
    created_at = models.DateTimeField(_("создана"), default=timezone.now)
    updated_at = models.DateTimeField(_("изменена"), auto_now=True)

    class Meta:
        verbose_name = _("организация")
        verbose_name_plural = _("организации")
        ordering = ["short_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["inn"],
                condition=Q(kind=PARTNER) & ~Q(inn=""),
                name="partner_inn_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.short_name

    @property
    def is_vendor(self) -> bool:
        return self.kind == OrgKind.VENDOR


class CardChange(models.Model):
    """One changed field of a partner card: who, when, from what, to what."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="card_changes"
    )
    field = models.CharField(_("поле"), max_length=64)
    old_value = models.TextField(_("было"), blank=True)
    new_value = models.TextField(_("стало"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("кто"), max_length=200, blank=True)
    source = models.CharField(_("источник"), max_length=32)
    changed_at = models.DateTimeField(_("когда"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("изменение карточки")
        verbose_name_plural = _("история карточки")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.organisation_id}.{self.field}"

    @property
    def field_label(self) -> str:
        """The card field's name as people read it."""
        try:
            found = Organisation._meta.get_field(self.field)
            return str(getattr(found, "verbose_name", self.field))
        except FieldDoesNotExist:  # a field that no longer exists keeps its code
            return self.field


class ProgramKind(models.TextChoices):
    """The vendor's partner programs."""

    REFERRALS = "referrals", _("Реферальная программа")
    LEADS = "leads", _("Биржа лидов")
    DISTRIBUTION = "distribution", _("Электронная дистрибуция")
    CLOUD = "cloud", _("Облачный сервис")


class CardEditMode(models.TextChoices):
    """Whether partners in a program edit the card themselves or request changes."""

    DIRECT = "direct", _("Партнёр меняет карточку сам")
    REQUEST = "request", _("Изменения через заявку")


class Program(models.Model):
    """A partner program the vendor runs."""

    vendor = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="programs",
        limit_choices_to={"kind": VENDOR},
    )
    code = models.SlugField(_("код"), max_length=50, unique=True)
    name = models.CharField(_("название"), max_length=200)
    kind = models.CharField(_("вид"), max_length=16, choices=ProgramKind.choices)
    description = models.TextField(_("описание"), blank=True)
    card_edit_mode = models.CharField(
        _("изменение карточки"),
        max_length=16,
        choices=CardEditMode.choices,
        default=CardEditMode.DIRECT,
    )
    auto_approve = models.BooleanField(
        _("подключать сразу"),
        default=False,
        help_text=_("Заявка партнёра на участие активируется без проверки сотрудником."),
    )
    default_terms = models.JSONField(_("условия по умолчанию"), default=dict, blank=True)
    is_active = models.BooleanField(_("открыта для заявок"), default=True)

    class Meta:
        verbose_name = _("программа")
        verbose_name_plural = _("программы")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EnrolmentState(models.TextChoices):
    """Life of a partner's participation in a program."""

    APPLIED = "applied", _("Заявка подана")
    ACTIVE = "active", _("Активно")
    SUSPENDED = "suspended", _("Приостановлено")
    REJECTED = "rejected", _("Отклонено")
    TERMINATED = "terminated", _("Прекращено")


#: Allowed moves of an enrolment; rejecting, suspending and terminating need a reason.
#: ``core.transitions.transition`` applies it (events ``partners.enrolment.<state>``).
ENROLMENT_MACHINE = StateMachine(
    field="state",
    transitions={
        EnrolmentState.APPLIED: frozenset({EnrolmentState.ACTIVE, EnrolmentState.REJECTED}),
        EnrolmentState.ACTIVE: frozenset({EnrolmentState.SUSPENDED, EnrolmentState.TERMINATED}),
        EnrolmentState.SUSPENDED: frozenset({EnrolmentState.ACTIVE, EnrolmentState.TERMINATED}),
        EnrolmentState.REJECTED: frozenset({EnrolmentState.APPLIED}),
        EnrolmentState.TERMINATED: frozenset(),
    },
    reason_required=frozenset(
        {EnrolmentState.REJECTED, EnrolmentState.SUSPENDED, EnrolmentState.TERMINATED}
    ),
)


class Enrolment(models.Model):
    """A partner's participation in one program, with its own state and terms."""

    state_machine: ClassVar[StateMachine] = ENROLMENT_MACHINE

    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="enrolments"
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="enrolments")
    state = models.CharField(
        _("состояние"),
        max_length=16,
        choices=EnrolmentState.choices,
        default=EnrolmentState.APPLIED,
    )
    terms = models.JSONField(_("условия"), default=dict, blank=True)
    distributor = models.ForeignKey(
        Organisation,
        verbose_name=_("через дистрибьютора"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="distributed_enrolments",
    )
    state_reason = models.CharField(_("причина"), max_length=500, blank=True)
    applied_at = models.DateTimeField(_("подана"), default=timezone.now)
    state_changed_at = models.DateTimeField(_("состояние изменено"), default=timezone.now)

    class Meta:
        verbose_name = _("участие в программе")
        verbose_name_plural = _("участие в программах")
        ordering = ["-applied_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "program"], name="enrolment_unique_per_program"
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} / {self.program}"


class StatusKind(models.Model):
    """A status the vendor grants (франчайзи, 1С:ЦСК, ЦК ERP...); the vendor may add more. Each
    vendor keeps its own catalogue: a code is unique per vendor."""

    vendor = models.ForeignKey(
        Organisation,
        verbose_name=_("вендор"),
        on_delete=models.PROTECT,
        limit_choices_to={"kind": OrgKind.VENDOR},
        related_name="status_kinds",
    )
    code = models.SlugField(_("код"), max_length=50)
    name = models.CharField(_("название"), max_length=200)
    description = models.TextField(_("описание"), blank=True)
    is_active = models.BooleanField(
        _("можно присваивать"),
        default=True,
        help_text=_("Снятый флаг скрывает вид из формы присвоения; выданные статусы остаются."),
    )

    class Meta:
        verbose_name = _("вид статуса")
        verbose_name_plural = _("виды статусов")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["vendor", "code"], name="status_kind_code_per_vendor")
        ]

    def __str__(self) -> str:
        return self.name


class StatusGrant(models.Model):
    """A status granted to a partner for a period."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="statuses"
    )
    status = models.ForeignKey(StatusKind, on_delete=models.PROTECT, related_name="grants")
    valid_from = models.DateField(_("действует с"))
    valid_until = models.DateField(_("действует по"), null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    granted_at = models.DateTimeField(_("присвоен"), default=timezone.now)
    note = models.CharField(_("комментарий"), max_length=500, blank=True)
    ended_at = models.DateTimeField(_("прекращён досрочно"), null=True, blank=True)
    ended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    end_reason = models.CharField(_("причина прекращения"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("статус партнёра")
        verbose_name_plural = _("статусы партнёров")
        ordering = ["-valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="status_grant_period_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.status}"

    def in_force_on(self, day: datetime.date) -> bool:
        """True when the grant covers ``day`` (both ends of the period included)."""
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)


class DocumentAppliesTo(models.TextChoices):
    """Which partners a kind of counterparty document is asked of."""

    BOTH = "both", _("ЮЛ и ИП")
    UL = "ul", _("Только ЮЛ")
    IP = "ip", _("Только ИП")


class CounterpartyDocumentKind(models.Model):
    """A document the vendor asks of partners for the counterparty check (свидетельство о
    регистрации, выписка из ЕГРЮЛ/ЕГРИП, другие документы); staff may add more. Each vendor
    keeps its own catalogue: a code is unique per vendor, and a partner is asked the kinds of
    the vendors it is enrolled with."""

    vendor = models.ForeignKey(
        Organisation,
        verbose_name=_("вендор"),
        on_delete=models.PROTECT,
        limit_choices_to={"kind": OrgKind.VENDOR},
        related_name="counterparty_document_kinds",
    )
    code = models.SlugField(_("код"), max_length=50)
    name = models.CharField(_("название"), max_length=200)
    description = models.TextField(_("пояснение для партнёра"), blank=True)
    applies_to = models.CharField(
        _("для кого"),
        max_length=4,
        choices=DocumentAppliesTo.choices,
        default=DocumentAppliesTo.BOTH,
    )
    required = models.BooleanField(_("обязательный"), default=True)
    is_active = models.BooleanField(_("запрашивается"), default=True)
    position = models.PositiveSmallIntegerField(_("порядок"), default=100)

    class Meta:
        verbose_name = _("вид документа контрагента")
        verbose_name_plural = _("виды документов контрагента")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vendor", "code"], name="counterparty_document_kind_code_per_vendor"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def applies_to_form(self, legal_form: str) -> bool:
        """True when partners of ``legal_form`` (ЮЛ/ИП) are asked for this kind."""
        return self.applies_to in (DocumentAppliesTo.BOTH, legal_form)


class CounterpartyDocumentState(models.TextChoices):
    """Review of one uploaded file; a newer upload of the same kind supersedes it."""

    UNDER_REVIEW = "under_review", _("На проверке")
    ACCEPTED = "accepted", _("Принят")
    ASKED_AGAIN = "asked_again", _("Запрошен повторно")
    SUPERSEDED = "superseded", _("Заменён новым файлом")


#: Review of an upload: staff accept it or ask again (with a reason); an accepted document may
#: still be asked again (it expired, a new extract is needed). A newer upload of the same kind
#: moves the current one to ``superseded``. Events ``partners.counterparty_document.<state>``.
COUNTERPARTY_DOCUMENT_MACHINE = StateMachine(
    field="state",
    transitions={
        CounterpartyDocumentState.UNDER_REVIEW: frozenset(
            {
                CounterpartyDocumentState.ACCEPTED,
                CounterpartyDocumentState.ASKED_AGAIN,
                CounterpartyDocumentState.SUPERSEDED,
            }
        ),
        CounterpartyDocumentState.ACCEPTED: frozenset(
            {CounterpartyDocumentState.ASKED_AGAIN, CounterpartyDocumentState.SUPERSEDED}
        ),
        CounterpartyDocumentState.ASKED_AGAIN: frozenset({CounterpartyDocumentState.SUPERSEDED}),
        CounterpartyDocumentState.SUPERSEDED: frozenset(),
    },
    reason_required=frozenset({CounterpartyDocumentState.ASKED_AGAIN}),
    event_prefix="partners.counterparty_document",
)


def counterparty_document_path(organisation_id: int, extension: str) -> str:
    """Where an upload is stored: a random name, so the path reveals nothing of the original."""
    return f"counterparty/{organisation_id}/{uuid.uuid4().hex}.{extension}"


class CounterpartyDocument(models.Model):
    """One file a partner uploaded for a kind of counterparty document, with its review.

    The file lives in the default storage under a random name (``counterparty_document_path``);
    ``original_name`` and the sniffed ``content_type`` are kept here for the download. At most
    one upload per partner and kind is current (not superseded).
    """

    state_machine: ClassVar[StateMachine] = COUNTERPARTY_DOCUMENT_MACHINE

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="counterparty_documents"
    )
    kind = models.ForeignKey(
        CounterpartyDocumentKind, on_delete=models.PROTECT, related_name="uploads"
    )
    file = models.FileField(_("файл"), max_length=255)
    original_name = models.CharField(_("имя файла"), max_length=255)
    content_type = models.CharField(_("тип содержимого"), max_length=64)
    size = models.PositiveIntegerField(_("размер, байт"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    state = models.CharField(
        _("состояние"),
        max_length=16,
        choices=CounterpartyDocumentState.choices,
        default=CounterpartyDocumentState.UNDER_REVIEW,
    )
    review_reason = models.CharField(_("причина"), max_length=1000, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("загружен"), default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reviewed_at = models.DateTimeField(_("проверен"), null=True, blank=True)

    class Meta:
        verbose_name = _("документ контрагента")
        verbose_name_plural = _("документы контрагента")
        ordering = ["-uploaded_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "kind"],
                condition=~Q(state="superseded"),
                name="counterparty_document_one_current_per_kind",
            )
        ]
        indexes = [models.Index(fields=["state", "uploaded_at"], name="counterparty_doc_queue")]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.kind}: {self.original_name}"

    @property
    def is_current(self) -> bool:
        return self.state != CounterpartyDocumentState.SUPERSEDED
