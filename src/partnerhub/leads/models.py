"""Lead marketplace: implementation requests, the partners' access to them, deals and the
partner's own CRM (issue 7; spec leads.md and "Lead-marketplace conditions" in
partners-and-contracts.md; seed bitrix24-implementation-leads.txt).

- ``LeadProgramSettings``: the rules of one program of kind "leads" (cap on open deals, optional
  cap on partners per lead, lead lifetime, days before a deal counts as stuck...).
- ``Region``: the list a lead's region is chosen from (subjects of the Russian Federation).
- ``Lead``: a client's request. Its contacts never leave the server before a partner takes it.
- ``MarketplaceAccess``: one partner's standing in one marketplace program: the conditions it
  declared (implementation page, CRM tariff, app installed, personal-data agreement accepted), the
  staff's check of the page, the counter of open deals the cap is enforced on, and its digest
  subscription.
- ``Deal``: a partner's deal on a taken lead in the pipeline "Implementation requests"
  (Заявки на внедрение); ``DealEvent``: calls, meetings and notes.
- ``ContactReveal``: the audit of personal data shown to a partner (who, what, when, how).
- ``CrmConnection``, ``CrmDealLink``, ``CrmCall``: the partner's portal (incoming webhook), the
  deal's twin there, and the log of every REST call we made.
"""

from __future__ import annotations

import secrets
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from partnerhub.core.transitions import StateMachine
from partnerhub.partners.models import Organisation, Program

#: The pipeline deals from the marketplace live in, here and in the partner's CRM.
PIPELINE_NAME = "Заявки на внедрение"


class LeadProgramSettings(models.Model):
    """Rules of one lead marketplace (a program of kind "leads")."""

    program = models.OneToOneField(
        Program,
        verbose_name=_("программа"),
        on_delete=models.CASCADE,
        related_name="lead_settings",
    )
    open_deal_cap = models.PositiveIntegerField(
        _("открытых сделок у партнёра, не больше"),
        default=3,
        help_text=_("Сколько заявок партнёр может держать в работе одновременно."),
    )
    partners_per_lead_cap = models.PositiveIntegerField(
        _("партнёров на одну заявку, не больше"),
        null=True,
        blank=True,
        help_text=_("Пусто: без ограничения."),
    )
    lead_lifetime_days = models.PositiveIntegerField(_("срок жизни заявки, дней"), default=30)
    expiry_warning_days = models.PositiveIntegerField(
        _("предупреждать об истечении за, дней"), default=2
    )
    stale_deal_days = models.PositiveIntegerField(
        _("сделка без событий считается зависшей через, дней"), default=7
    )
    agreement_version = models.CharField(
        _("действующая версия соглашения о персональных данных"), max_length=32, default="1.0"
    )
    agreement_text = models.TextField(_("текст соглашения о персональных данных"), blank=True)
    site_form_enabled = models.BooleanField(_("форма на сайте принимает заявки"), default=True)

    class Meta:
        verbose_name = _("настройки биржи заявок")
        verbose_name_plural = _("настройки биржи заявок")

    def __str__(self) -> str:
        return str(self.program)


class Region(models.Model):
    """A region a lead comes from (субъект РФ); partners subscribe to regions for the digest."""

    code = models.CharField(_("код"), max_length=8, unique=True)
    name = models.CharField(_("название"), max_length=200, unique=True)
    is_active = models.BooleanField(_("используется"), default=True)

    class Meta:
        verbose_name = _("регион")
        verbose_name_plural = _("регионы")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompanySize(models.TextChoices):
    """How many people work at the client's company."""

    MICRO = "micro", _("до 15 сотрудников")
    SMALL = "small", _("16–100 сотрудников")
    MEDIUM = "medium", _("101–250 сотрудников")
    LARGE = "large", _("более 250 сотрудников")


class Need(models.TextChoices):
    """What the client wants to implement first."""

    CRM = "crm", _("CRM и продажи")
    TASKS = "tasks", _("Задачи и проекты")
    COMMUNICATIONS = "communications", _("Коммуникации и корпоративный портал")
    CONTACT_CENTER = "contact_center", _("Контакт-центр и открытые линии")
    SITES = "sites", _("Сайты и интернет-магазин")
    INTEGRATION = "integration", _("Интеграция с 1С и другими системами")
    OTHER = "other", _("Другое")


class LeadSource(models.TextChoices):
    """Where a lead came from."""

    SITE = "site", _("Форма на сайте")
    API = "api", _("API")
    IMPORT = "import", _("Импорт файла")
    STAFF = "staff", _("Внесена сотрудником")


class LeadState(models.TextChoices):
    """Life of a lead on the marketplace."""

    OPEN = "open", _("Открыта")
    EXPIRED = "expired", _("Истекла")
    WITHDRAWN = "withdrawn", _("Снята")


#: An open lead expires or is withdrawn (withdrawal needs a reason); both are final.
LEAD_MACHINE = StateMachine(
    field="state",
    transitions={
        LeadState.OPEN: frozenset({LeadState.EXPIRED, LeadState.WITHDRAWN}),
        LeadState.EXPIRED: frozenset(),
        LeadState.WITHDRAWN: frozenset(),
    },
    reason_required=frozenset({LeadState.WITHDRAWN}),
    event_prefix="leads.lead",
)


class Lead(models.Model):
    """A client's request for an implementation (заявка на внедрение).

    ``contact_*`` are personal data: only the partner who took the lead sees them (through its
    deal), and every time they are shown a ``ContactReveal`` is written. ``take_count`` counts
    the deals made on it; the per-lead cap is enforced by a conditional UPDATE on it.
    """

    state_machine: ClassVar[StateMachine] = LEAD_MACHINE

    program = models.ForeignKey(
        Program, verbose_name=_("программа"), on_delete=models.PROTECT, related_name="leads"
    )
    company_name = models.CharField(_("компания"), max_length=300)
    region = models.ForeignKey(
        Region, verbose_name=_("регион"), on_delete=models.PROTECT, related_name="leads"
    )
    company_size = models.CharField(
        _("размер компании"), max_length=16, choices=CompanySize.choices
    )
    need = models.CharField(_("что нужно"), max_length=32, choices=Need.choices)
    description = models.TextField(_("описание задачи"), blank=True)
    contact_name = models.CharField(_("контактное лицо"), max_length=200)
    contact_phone = models.CharField(_("телефон"), max_length=32, blank=True)
    contact_email = models.EmailField(_("эл. почта"), blank=True)
    source = models.CharField(_("источник"), max_length=16, choices=LeadSource.choices)
    external_id = models.CharField(
        _("внешний номер"), max_length=100, blank=True, help_text=_("Номер заявки у источника.")
    )
    consent_at = models.DateTimeField(
        _("согласие на обработку персональных данных"),
        null=True,
        blank=True,
        help_text=_("Когда клиент дал согласие в форме на сайте."),
    )
    source_ip = models.GenericIPAddressField(
        _("IP-адрес отправителя"), null=True, blank=True, help_text=_("Для формы на сайте.")
    )
    state = models.CharField(
        _("состояние"), max_length=16, choices=LeadState.choices, default=LeadState.OPEN
    )
    state_reason = models.CharField(_("причина"), max_length=500, blank=True)
    published_at = models.DateTimeField(_("опубликована"), default=timezone.now, db_index=True)
    expires_at = models.DateTimeField(_("истекает"), db_index=True)
    take_count = models.PositiveIntegerField(_("взяли партнёров"), default=0)
    first_taken_at = models.DateTimeField(_("впервые взята"), null=True, blank=True)
    expiry_warned_at = models.DateTimeField(null=True, blank=True)
    digested_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("внёс"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("создана"), default=timezone.now)

    class Meta:
        verbose_name = _("заявка на внедрение")
        verbose_name_plural = _("заявки на внедрение")
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["program", "state", "expires_at"]),
            models.Index(fields=["source_ip", "created_at"]),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "source", "external_id"],
                condition=~Q(external_id=""),
                name="lead_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"№{self.pk} {self.company_name}"


class PageState(models.TextChoices):
    """The staff's check of the partner's page about implementation packages."""

    NONE = "none", _("Не указана")
    PENDING = "pending", _("На проверке")
    ACCEPTED = "accepted", _("Принята")
    REJECTED = "rejected", _("Отклонена")


class CrmTariff(models.TextChoices):
    """The partner's own CRM of the vendor's product (eligible: NFR, Company, on-premise)."""

    NONE = "none", _("Не используется")
    FREE = "free", _("Бесплатный")
    BASIC = "basic", _("Базовый")
    STANDARD = "standard", _("Стандартный")
    PROFESSIONAL = "professional", _("Профессиональный")
    NFR = "nfr", _("NFR")
    COMPANY = "company", _("Компания")
    ON_PREMISE = "on_premise", _("Коробочная версия")


ELIGIBLE_TARIFFS = frozenset({CrmTariff.NFR, CrmTariff.COMPANY, CrmTariff.ON_PREMISE})


class MarketplaceAccess(models.Model):
    """One partner's standing in one lead marketplace.

    ``open_deals`` is the number of its open deals from this marketplace; taking a lead raises it
    with ``UPDATE ... SET open_deals = open_deals + 1 WHERE open_deals < cap`` and closing a deal
    lowers it in the same transaction, so the cap holds under parallel takes on both databases.
    """

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("партнёр"),
        on_delete=models.CASCADE,
        related_name="marketplace_accesses",
    )
    program = models.ForeignKey(
        Program, verbose_name=_("программа"), on_delete=models.PROTECT, related_name="+"
    )
    page_url = models.URLField(_("страница о пакетах внедрения"), max_length=500, blank=True)
    page_state = models.CharField(
        _("проверка страницы"), max_length=16, choices=PageState.choices, default=PageState.NONE
    )
    page_reason = models.CharField(_("причина отклонения"), max_length=500, blank=True)
    page_checked_at = models.DateTimeField(_("страница проверена"), null=True, blank=True)
    page_checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    crm_tariff = models.CharField(
        _("тариф CRM"), max_length=16, choices=CrmTariff.choices, default=CrmTariff.NONE
    )
    crm_portal = models.CharField(
        _("адрес портала или лицензионный ключ"), max_length=200, blank=True
    )
    app_installed_at = models.DateTimeField(_("приложение установлено"), null=True, blank=True)
    agreement_version = models.CharField(_("принятая версия соглашения"), max_length=32, blank=True)
    agreement_accepted_at = models.DateTimeField(_("соглашение принято"), null=True, blank=True)
    agreement_accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    open_deals = models.PositiveIntegerField(_("открытых сделок"), default=0)
    digest_opt_in = models.BooleanField(_("присылать новые заявки моих регионов"), default=False)
    regions = models.ManyToManyField(
        Region, verbose_name=_("мои регионы"), blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("доступ к бирже заявок")
        verbose_name_plural = _("доступ к бирже заявок")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "program"], name="marketplace_access_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} — {self.program}"


class DealStage(models.TextChoices):
    """Stages of the pipeline "Implementation requests"; won and lost are final."""

    NEW = "new", _("Новая")
    CONTACTED = "contacted", _("Установлен контакт")
    MEETING = "meeting", _("Встреча / демонстрация")
    PROPOSAL = "proposal", _("Коммерческое предложение")
    WON = "won", _("Сделка выиграна")
    LOST = "lost", _("Сделка проиграна")


OPEN_STAGES = frozenset({DealStage.NEW, DealStage.CONTACTED, DealStage.MEETING, DealStage.PROPOSAL})
CLOSED_STAGES = frozenset({DealStage.WON, DealStage.LOST})

#: Open stages move freely among themselves and to won or lost; a closed deal stays closed.
DEAL_MACHINE = StateMachine(
    field="stage",
    transitions={
        **{s: frozenset(OPEN_STAGES - {s} | CLOSED_STAGES) for s in OPEN_STAGES},
        DealStage.WON: frozenset(),
        DealStage.LOST: frozenset(),
    },
    reason_required=frozenset({DealStage.LOST}),
    event_prefix="leads.deal",
)


class LostReason(models.TextChoices):
    """Why a deal was lost (or "other" with a text)."""

    NO_ANSWER = "no_answer", _("Клиент не выходит на связь")
    NOT_NEEDED = "not_needed", _("Внедрение больше не нужно")
    PRICE = "price", _("Не устроила цена")
    COMPETITOR = "competitor", _("Выбрал другого партнёра")
    OTHER_PRODUCT = "other_product", _("Выбрал другой продукт")
    DUPLICATE = "duplicate", _("Дубль или ошибочная заявка")
    OTHER = "other", _("Другое")


class WonKind(models.TextChoices):
    """What the client bought: the cloud portal or the on-premise edition's licence."""

    PORTAL = "portal", _("Облачный портал")
    LICENCE_KEY = "licence_key", _("Лицензионный ключ коробочной версии")


class Deal(models.Model):
    """A partner's deal on a taken lead (сделка в направлении "Заявки на внедрение")."""

    state_machine: ClassVar[StateMachine] = DEAL_MACHINE

    lead = models.ForeignKey(
        Lead, verbose_name=_("заявка"), on_delete=models.PROTECT, related_name="deals"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("партнёр"), on_delete=models.PROTECT, related_name="deals"
    )
    program = models.ForeignKey(
        Program, verbose_name=_("программа"), on_delete=models.PROTECT, related_name="+"
    )
    stage = models.CharField(
        _("стадия"), max_length=16, choices=DealStage.choices, default=DealStage.NEW
    )
    is_open = models.BooleanField(_("открыта"), default=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("взял"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    taken_at = models.DateTimeField(_("взята"), default=timezone.now)
    # Company data, as the partner learns it.
    company_name = models.CharField(_("компания"), max_length=300, blank=True)
    company_inn = models.CharField(_("ИНН"), max_length=12, blank=True)
    company_website = models.CharField(_("сайт"), max_length=300, blank=True)
    company_employees = models.PositiveIntegerField(_("сотрудников"), null=True, blank=True)
    # The main contact person.
    contact_name = models.CharField(_("основное контактное лицо"), max_length=200, blank=True)
    contact_position = models.CharField(_("должность"), max_length=200, blank=True)
    contact_phone = models.CharField(_("телефон"), max_length=32, blank=True)
    contact_email = models.EmailField(_("эл. почта"), blank=True)
    services = models.TextField(_("состав услуг"), blank=True)
    amount = models.DecimalField(
        _("сумма сделки"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    # Closing.
    won_kind = models.CharField(
        _("что куплено"), max_length=16, choices=WonKind.choices, blank=True
    )
    won_reference = models.CharField(
        _("адрес портала или лицензионный ключ"), max_length=200, blank=True
    )
    lost_reason = models.CharField(
        _("причина проигрыша"), max_length=32, choices=LostReason.choices, blank=True
    )
    lost_comment = models.CharField(_("комментарий"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("закрыта"), null=True, blank=True)
    first_event_at = models.DateTimeField(_("первое событие"), null=True, blank=True)
    last_event_at = models.DateTimeField(_("последнее событие"), null=True, blank=True)
    stale_warned_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=64, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("сделка")
        verbose_name_plural = _("сделки")
        ordering = ["-taken_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["lead", "organisation"], name="deal_one_per_partner"),
        ]
        indexes = [models.Index(fields=["organisation", "is_open"])]

    def __str__(self) -> str:
        return f"Сделка №{self.pk}"


class DealEventKind(models.TextChoices):
    """What happened on a deal."""

    CALL = "call", _("Звонок")
    MEETING = "meeting", _("Встреча")
    NOTE = "note", _("Заметка")


class DealEvent(models.Model):
    """A call, meeting or note on a deal, with the time it happened."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("вид"), max_length=16, choices=DealEventKind.choices)
    happened_at = models.DateTimeField(_("когда"))
    text = models.TextField(_("содержание"))
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("событие сделки")
        verbose_name_plural = _("события сделки")
        ordering = ["-happened_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.happened_at:%d.%m.%Y %H:%M}"


class RevealChannel(models.TextChoices):
    """Where the personal data were shown."""

    TAKE = "take", _("Взятие заявки")
    PAGE = "page", _("Страница сделки")
    API = "api", _("API")
    CRM = "crm", _("Передача в CRM партнёра")


class ContactReveal(models.Model):
    """Audit of personal data shown to a partner: who, which fields, when, through what."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="reveals")
    deal = models.ForeignKey(Deal, on_delete=models.PROTECT, related_name="reveals")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("кто"), max_length=200)
    fields = models.JSONField(_("какие данные"), default=list)
    channel = models.CharField(_("где"), max_length=16, choices=RevealChannel.choices)
    at = models.DateTimeField(_("когда"), default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("раскрытие персональных данных")
        verbose_name_plural = _("раскрытия персональных данных")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.at:%d.%m.%Y %H:%M} ({self.channel})"

    @property
    def field_labels(self) -> list[str]:
        """The revealed fields as people read them (the lead's field names)."""
        return [
            str(getattr(Lead._meta.get_field(name), "verbose_name", name)) for name in self.fields
        ]


def new_inbound_secret() -> str:
    """A fresh secret of a partner's inbound CRM webhook address."""
    return secrets.token_urlsafe(24)


class CrmConnection(models.Model):
    """The partner's own CRM: the incoming webhook of its portal, and the secret its outgoing
    webhook sends to ours."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="crm_connection"
    )
    webhook_url = models.URLField(_("адрес входящего вебхука"), max_length=500)
    is_active = models.BooleanField(_("передавать сделки"), default=True)
    inbound_secret = models.CharField(max_length=64, default=new_inbound_secret, unique=True)
    category_id = models.CharField(_("направление в CRM"), max_length=32, blank=True)
    next_slot_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("подключение CRM партнёра")
        verbose_name_plural = _("подключения CRM партнёров")

    def __str__(self) -> str:
        return f"CRM {self.organisation}"


class CrmDealLink(models.Model):
    """A deal's twin in the partner's CRM."""

    deal = models.OneToOneField(Deal, on_delete=models.CASCADE, related_name="crm_link")
    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="links")
    remote_deal_id = models.CharField(max_length=32)
    remote_contact_id = models.CharField(max_length=32, blank=True)
    remote_stage = models.CharField(max_length=64, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "remote_deal_id"], name="crm_link_remote_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.deal} -> {self.remote_deal_id}"


class CrmCallOutcome(models.TextChoices):
    """How one REST call to the partner's CRM ended."""

    OK = "ok", _("Успешно")
    ERROR = "error", _("Ошибка CRM")
    HTTP_ERROR = "http_error", _("Ошибка HTTP")
    TIMEOUT = "timeout", _("Нет ответа")
    NETWORK = "network", _("Сбой соединения")
    BLOCKED = "blocked", _("Адрес запрещён")


class CrmCall(models.Model):
    """The delivery log: one REST call to the partner's CRM."""

    connection = models.ForeignKey(CrmConnection, on_delete=models.CASCADE, related_name="calls")
    deal = models.ForeignKey(
        Deal, on_delete=models.SET_NULL, null=True, blank=True, related_name="crm_calls"
    )
    method = models.CharField(max_length=64)
    outcome = models.CharField(max_length=16, choices=CrmCallOutcome.choices)
    status = models.PositiveIntegerField(null=True, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.outcome} {self.at:%d.%m.%Y %H:%M:%S}"
