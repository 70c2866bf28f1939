"""Roles of users in their organisation (spec: partners-and-contracts, "Employees and roles").

A partner organisation has owner, manager, accountant, operator and developer; the vendor's staff
are program managers, accountants, support and administrators.
"""

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from partnerhub.core.access import PARTNER, VENDOR


class Role(models.TextChoices):
    """Every role; which ones an organisation may grant depends on its kind."""

    OWNER = "owner", _("Владелец")
    MANAGER = "manager", _("Менеджер")
    ACCOUNTANT = "accountant", _("Бухгалтер")
    OPERATOR = "operator", _("Оператор обслуживающей организации")
    DEVELOPER = "developer", _("Разработчик")
    PROGRAM_MANAGER = "program_manager", _("Менеджер программы")
    SUPPORT = "support", _("Поддержка")
    ADMINISTRATOR = "administrator", _("Администратор")


PARTNER_ROLES: tuple[str, ...] = (
    Role.OWNER,
    Role.MANAGER,
    Role.ACCOUNTANT,
    Role.OPERATOR,
    Role.DEVELOPER,
)
VENDOR_ROLES: tuple[str, ...] = (
    Role.PROGRAM_MANAGER,
    Role.ACCOUNTANT,
    Role.SUPPORT,
    Role.ADMINISTRATOR,
)
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {PARTNER: PARTNER_ROLES, VENDOR: VENDOR_ROLES}


def role_choices(kind: str) -> list[tuple[str, str | Promise]]:
    """(value, label) pairs of the roles an organisation of ``kind`` grants (labels stay lazy:
    translated when shown)."""
    return [(role, Role(role).label) for role in ROLES_BY_KIND[kind]]
