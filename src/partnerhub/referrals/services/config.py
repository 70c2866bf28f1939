"""Versions of the program configuration: create one (staff), ensure the first one exists.

Spec: referrals.md ("every number ... is a default of a program configuration that vendor staff
can edit (versioned, with the date it takes effect)"); issue 5, item 8 (the configuration editor
with effective date and history).

Rules of this module (decisions where the spec is silent):

- a version is checked by the engine's own reader (``config_from_dict``) and by the portal
  settings checks below (landing URL, parameter name, client bonus options); every error names
  its field;
- a version never takes effect in the past: ``effective_from`` must be at least ``now`` minus
  ``PAST_TOLERANCE`` (a minute, for the time a person takes to press the button), and a time in
  that last minute is stored as ``now``; what happened before a version's date stays as it was
  computed;
- the program's first version (1) holds the spec's numbers and is in force from the engine's
  epoch; a program's first staff version is therefore 2, so that nothing before its date is
  judged by it (``ConfigSet.at`` gives the first version to moments before every date);
- version numbers are taken under a unique constraint (program, version) and retried on a
  collision, so that two staff members saving at once get two versions, never one lost.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.core import audit, clock
from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.outbox import emit
from partnerhub.partners.models import Program
from partnerhub.referrals.engine.config import (
    DEFAULT,
    EPOCH,
    ConfigError,
    ProgramConfig,
    config_from_dict,
    config_to_dict,
)
from partnerhub.referrals.models import ConfigVersion
from partnerhub.referrals.selectors import config as config_selectors

__all__ = [
    "CONFIG_CHANGED",
    "PAST_TOLERANCE",
    "config_initial_document",
    "config_version_create",
    "config_version_ensure_initial",
]

#: Outbox event of a new version: {program_id, version}.
CONFIG_CHANGED = "referrals.config.changed"
#: How far in the past an effective time may be (the minutes a person spends on the form).
PAST_TOLERANCE = dt.timedelta(minutes=1)
VERSION_ATTEMPTS = 5
INITIAL_COMMENT = "Начальная версия: числа из правил программы"

_PARAM = re.compile(r"[A-Za-z0-9_-]{1,32}")
_OPTION_CODE = re.compile(r"[a-z0-9_-]{1,32}")

#: Russian texts of the engine's ``ConfigError`` messages (the engine is pure and English).
_MESSAGES: dict[str, str | Promise] = {
    "must be an ISO 8601 timestamp": _("Укажите дату и время."),
    "needs a UTC offset": _("Укажите дату и время с часовым поясом."),
    "months must be a positive integer": _("Срок в месяцах должен быть целым числом больше 0."),
    "points must be a non-negative integer": _("Баллы — целое число не меньше 0."),
    "every product needs a line": _("Для продукта не указана линейка."),
    "levels must be numbered 0, 1, 2... in order": _("Уровни должны идти по порядку: 0, 1, 2..."),
    "thresholds must start at 0 and grow": _(
        "Порог уровня 0 — 0 баллов, порог каждого следующего уровня больше предыдущего."
    ),
    "a rate is a percent from 0 to 100": _("Ставка — процент от 0 до 100."),
    "must be a decimal string": _("Введите число."),
    "must be a non-negative decimal": _("Введите число не меньше 0."),
    "at least one version is needed": _("Нужна хотя бы одна версия."),
}
_AT_LEAST = re.compile(r"must be an integer of at least (\d+)")


def config_initial_document() -> dict[str, Any]:
    """The document of the program's first version: the spec's numbers (``DEFAULT``)."""
    return stored_document(DEFAULT)


def stored_document(config: ProgramConfig) -> dict[str, Any]:
    """What a version row stores: the configuration's document without version and date."""
    document = config_to_dict(config)
    document.pop("version")
    document.pop("effective_from")
    return document


def config_version_ensure_initial(*, program: Program) -> ConfigVersion:
    """The program's version 1, created with the spec's numbers when it is missing (idempotent,
    also when two callers race: the unique constraint keeps one)."""
    with transaction.atomic():
        row, created = ConfigVersion.objects.get_or_create(
            program=program,
            version=1,
            defaults={
                "effective_from": EPOCH,
                "document": config_initial_document(),
                "comment": INITIAL_COMMENT,
            },
        )
        if created:
            audit.record(
                action="referrals.config.created",
                obj=row,
                after=_audit_view(row),
                organisation_id=program.vendor_id,
            )
    if created:
        config_selectors.config_cache_forget(program_id=program.pk)
    return row


def config_version_create(
    *,
    program: Program,
    document: dict[str, Any],
    effective_from: dt.datetime,
    actor: Any,
    comment: str = "",
) -> ConfigVersion:
    """Add the next version of ``program``'s configuration, in force from ``effective_from``.

    ``document`` is a ``config_to_dict`` document (its ``version`` and ``effective_from`` are
    ignored: the number is the next one, the date is the argument). ``ValidationFailed`` with
    the field of each problem; nothing is stored then.
    """
    config = _checked(document=document, effective_from=effective_from)
    # A time typed a few seconds ago (the form was open) means "now": never before now.
    effective_from = max(effective_from, clock.now())
    stored = stored_document(config)
    comment = comment.strip()
    with transaction.atomic():
        config_version_ensure_initial(program=program)
        for _attempt in range(VERSION_ATTEMPTS):
            try:
                with transaction.atomic():
                    row = _next_version(
                        program=program,
                        document=stored,
                        effective_from=effective_from,
                        actor=actor,
                        comment=comment,
                    )
            except IntegrityError:
                continue  # another version took the number first: take the next one
            break
        else:
            raise Conflict(_("Версию сохраняют одновременно несколько человек; повторите."))
    config_selectors.config_cache_forget(program_id=program.pk)
    return row


def _next_version(
    *,
    program: Program,
    document: dict[str, Any],
    effective_from: dt.datetime,
    actor: Any,
    comment: str,
) -> ConfigVersion:
    previous = ConfigVersion.objects.filter(program=program).order_by("-version").first()
    number = previous.version + 1 if previous is not None else 1
    row = ConfigVersion.objects.create(
        program=program,
        version=number,
        effective_from=effective_from,
        document=document,
        comment=comment,
        created_by_id=audit.actor_of(actor).user_id if actor is not None else None,
        created_at=clock.now(),
    )
    audit.record(
        action="referrals.config.created",
        obj=row,
        before=_audit_view(previous) if previous is not None else None,
        after=_audit_view(row),
        organisation_id=program.vendor_id,
        actor=actor,
    )
    emit(
        CONFIG_CHANGED,
        {"program_id": program.pk, "version": number},
        organisation_id=program.vendor_id,
    )
    return row


def _audit_view(row: ConfigVersion) -> dict[str, Any]:
    return {
        "version": row.version,
        "effective_from": row.effective_from.isoformat(),
        "comment": row.comment,
        "document": row.document,
    }


# --- checks ---------------------------------------------------------------------------------


def _checked(*, document: dict[str, Any], effective_from: dt.datetime) -> ProgramConfig:
    """The configuration of ``document`` from ``effective_from``, or ``ValidationFailed`` with
    every problem found: the time, the engine's first complaint, the portal settings."""
    errors: dict[str, list[str | Promise]] = {}
    if effective_from.tzinfo is None:
        _fail("effective_from", _("Укажите дату и время с часовым поясом."))
    if effective_from < clock.now() - PAST_TOLERANCE:
        errors["effective_from"] = [
            _("Новая версия не может действовать с прошедшей даты: укажите будущий момент.")
        ]
    body = {k: v for k, v in document.items() if k not in {"version", "effective_from"}}
    try:
        config = config_from_dict({**body, "effective_from": effective_from.isoformat()})
    except ConfigError as error:
        errors.setdefault(error.field, []).append(config_error_message(error))
    except (AttributeError, KeyError, TypeError, ValueError):
        errors.setdefault("document", []).append(_("Документ настроек имеет неверную структуру."))
    else:
        for name, message in _portal_settings_errors(config):
            errors.setdefault(name, []).append(message)
    if errors:
        raise ValidationFailed(_("Настройки не сохранены: исправьте ошибки."), fields=errors)
    return config


def config_error_message(error: ConfigError) -> str | Promise:
    """The Russian message of an engine ``ConfigError``."""
    known = _MESSAGES.get(error.message)
    if known is not None:
        return known
    match = _AT_LEAST.fullmatch(error.message)
    if match is not None:
        return _("Введите целое число не меньше %(minimum)s.") % {"minimum": match.group(1)}
    return _("Недопустимое значение.")


def _portal_settings_errors(config: ProgramConfig) -> list[tuple[str, str | Promise]]:
    """Problems of the settings the engine does not read: (field, message) pairs."""
    errors: list[tuple[str, str | Promise]] = []
    try:
        ZoneInfo(config.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors.append(("timezone", _("Неизвестный часовой пояс.")))
    try:
        URLValidator(schemes=["http", "https"])(config.landing_url)
    except ValidationError:
        errors.append(("landing_url", _("Введите адрес страницы, начиная с https://.")))
    if not _PARAM.fullmatch(config.referral_param):
        errors.append(
            (
                "referral_param",
                _("Имя параметра: от 1 до 32 латинских букв, цифр, знаков «-» и «_»."),
            )
        )
    errors.extend(("client_bonus_options", m) for m in _options_errors(config))
    return errors


def _options_errors(config: ProgramConfig) -> list[str | Promise]:
    options = config.client_bonus_options
    if not options:
        return [_("Нужен хотя бы один бонус для клиента.")]
    codes = [option.code for option in options]
    if len(set(codes)) != len(codes):
        return [_("Коды бонусов для клиента повторяются.")]
    errors: list[str | Promise] = []
    for option in options:
        if not _OPTION_CODE.fullmatch(option.code):
            errors.append(
                _("Код бонуса «%(code)s»: латинские строчные буквы, цифры, «-» и «_».")
                % {"code": option.code}
            )
        elif not option.label.strip():
            errors.append(_("У бонуса «%(code)s» нет названия.") % {"code": option.code})
    return errors


def _fail(field: str, message: str | Promise) -> NoReturn:
    raise ValidationFailed(
        _("Настройки не сохранены: исправьте ошибки."), fields={field: [message]}
    )
