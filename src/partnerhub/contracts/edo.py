"""The EDO participant id (идентификатор участника электронного документооборота): a pure check.

An id the Federal Tax Service's scheme gives a participant starts with the three-character code of
its operator, then a hyphen and the operator's own part, at most 46 characters in all. Operators
(the vendor exchanges through three): Taxcom ``2AL``, Diadoc (Kontur) ``2BM``, SBIS (Tensor)
``2BE``.

Decision (the operators publish no stricter grammar): after ``<prefix>-`` we accept either
- a GUID (``8-4-4-4-12`` hex digits, or the 32 digits without hyphens), optionally followed by
  ``-`` and digits (Taxcom appends a branch number such as ``-00000``); or
- the organisation's INN (10 or 12 digits), optionally ``-`` KPP (9 digits) and then optionally
  ``-`` digits (Diadoc appends a registration timestamp after the KPP). When the INN of the
  owner is known it must be that INN: an id of another organisation is refused.
Spaces are dropped and letters upper-cased before the check (ids are case-insensitive).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

#: Operator code -> the id prefix the operator was given.
EDO_PREFIXES: dict[str, str] = {"taxcom": "2AL", "diadoc": "2BM", "sbis": "2BE"}
MAX_LENGTH = 46

_HEX = "[0-9A-F]"
_GUID = rf"(?:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}|{_HEX}{{32}})"
_GUID_ID = re.compile(rf"{_GUID}(?:-\d{{1,10}})?")
_INN_ID = re.compile(r"(?P<inn>\d{10}|\d{12})(?:-(?P<kpp>\d{9})(?:-\d{1,25})?)?")


def normalise_edo_id(value: str) -> str:
    """``value`` without whitespace, upper-cased."""
    return re.sub(r"\s+", "", value or "").upper()


def edo_id_error(operator: str, participant_id: str, *, inn: str = "") -> str | None:
    """Why ``participant_id`` is not a valid id at ``operator`` (None when it is).

    ``inn``: the INN of the organisation the id must belong to, when known.
    """
    prefix = EDO_PREFIXES.get(operator)
    if prefix is None:
        return str(_("Выберите оператора ЭДО."))
    value = normalise_edo_id(participant_id)
    if not value:
        return str(_("Укажите ID участника ЭДО."))
    if len(value) > MAX_LENGTH:
        return str(_("ID участника ЭДО длиннее %(max)d символов.") % {"max": MAX_LENGTH})
    if not value.startswith(f"{prefix}-"):
        return str(
            _("ID участника ЭДО у этого оператора начинается с «%(prefix)s-».") % {"prefix": prefix}
        )
    rest = value[len(prefix) + 1 :]
    if _GUID_ID.fullmatch(rest):
        return None
    match = _INN_ID.fullmatch(rest)
    if match is None:
        return str(
            _(
                "После «%(prefix)s-» ожидается GUID или ИНН (с КПП) организации, "
                "например %(prefix)s-7707083893-770701001."
            )
            % {"prefix": prefix}
        )
    if inn and match.group("inn") != inn:
        return str(_("ID участника ЭДО содержит ИНН другой организации."))
    return None
