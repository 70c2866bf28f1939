"""Checks of input the database or decimal arithmetic cannot take (issue 14, "no 500 from input").

Pure functions: each returns the reason a value is refused (Russian, translated; ``None`` when
the value is fine) or, for ``parse_amount``, raises ``InputRefused`` with it. Forms and
serializers use the Django validators at the end; services and the referral intake call the
checks directly and word them for their callers.

* Text: PostgreSQL stores neither NUL (U+0000) in ``text`` and ``jsonb`` nor lone UTF-16
  surrogates (U+D800..U+DFFF, which are not encodable as UTF-8). ``reject_unstorable_text``
  checks one string, ``find_unstorable`` every key and value of nested JSON-like data.
* Dates and times: only years ``INPUT_YEAR_MIN``..``INPUT_YEAR_MAX`` (2000..2100 by default;
  ``check_year_range``): a moment near year 1 cannot be converted to UTC, and one stored there
  breaks every page that shows it.
* Decimals: finite and below a limit *before* anything quantizes them (``decimal_in_range``,
  ``parse_amount``): ``Decimal("1e30").quantize(Decimal("0.01"))`` raises ``InvalidOperation``.
* Free-form JSON: its nesting depth (``nesting_depth``) and size as canonical JSON
  (``canonical_json_size``: sorted keys, no spaces, UTF-8).

Written here, not taken from a library: the rules are PostgreSQL's and our own settings'.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Context, Decimal, InvalidOperation
from typing import Any, Final

import orjson
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

__all__ = [
    "AMOUNT_LIMIT",
    "InputRefused",
    "canonical_json_size",
    "check_year_range",
    "decimal_in_range",
    "find_unstorable",
    "nesting_depth",
    "parse_amount",
    "printable",
    "reject_unstorable_text",
    "unstorable_char",
    "validate_storable_text",
    "validate_year_range",
    "year_bounds",
]

#: Amounts of money are below this (14 digits with 2 decimals, as every money column).
AMOUNT_LIMIT: Final = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES)

_UNSTORABLE: Final = re.compile("[\x00\ud800-\udfff]")


class InputRefused(ValueError):
    """A value refused by one of the checks; ``reason`` is for people (Russian, translated)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- text ---------------------------------------------------------------------------------------


def unstorable_char(value: str) -> str | None:
    """The first character of ``value`` the database cannot store, as ``U+XXXX``, or ``None``."""
    found = _UNSTORABLE.search(value)
    return None if found is None else f"U+{ord(found.group()):04X}"


def printable(value: str) -> str:
    """``value`` with each character the database cannot store written as its ``\\uXXXX``
    escape: safe to store and show (in a refusal's reason, a path, an id)."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


def reject_unstorable_text(value: str) -> str | None:
    """Why ``value`` cannot be stored (a NUL or a lone surrogate in it), or ``None``."""
    char = unstorable_char(value)
    if char is None:
        return None
    return gettext("Текст содержит недопустимый символ %(char)s.") % {"char": char}


def _child_path(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def find_unstorable(value: object) -> tuple[str, str] | None:
    """The first string, key or value, anywhere in nested dicts and lists that the database
    cannot store: ``(path, "U+XXXX")`` (a path like ``extra.items[2]``), or ``None``.

    Walks without recursion, so any nesting depth is safe. Data that serialises as JSON with
    no ``\\u0000`` escape in it is passed at once (the common case, at C speed).
    """
    if isinstance(value, dict | list) and _clean_json(value):
        return None
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            char = unstorable_char(item)
            if char is not None:
                return path, char
        elif isinstance(item, dict):
            children: list[tuple[str, object]] = []
            for key, child in item.items():
                name = str(key)
                char = unstorable_char(name)
                if char is not None:
                    return _child_path(path, printable(name)), char
                children.append((_child_path(path, name), child))
            stack.extend(reversed(children))
        elif isinstance(item, list | tuple):
            stack.extend(reversed([(_child_path(path, i), c) for i, c in enumerate(item)]))
    return None


def _clean_json(value: object) -> bool:
    try:
        blob = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # a surrogate, too deep, not JSON: walk it
        return False
    return b"\\u0000" not in blob


def validate_storable_text(value: object) -> None:
    """Django validator: refuses a string (or nested data) with a NUL or a lone surrogate."""
    found = find_unstorable(value)
    if found is not None:
        raise ValidationError(
            _("Текст содержит недопустимый символ %(char)s."),
            code=CoreErrorCode.UNSTORABLE_TEXT,
            params={"char": found[1]},
        )


# --- free-form JSON -----------------------------------------------------------------------------


def nesting_depth(value: object) -> int:
    """How deep dicts and lists nest in ``value``: a scalar 0, ``{"a": 1}`` 1, ``[[1]]`` 2."""
    deepest = 0
    stack: list[tuple[int, object]] = [(0, value)]
    while stack:
        depth, item = stack.pop()
        if isinstance(item, dict):
            items: list[object] = list(item.values())
        elif isinstance(item, list | tuple):
            items = list(item)
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((depth + 1, child) for child in items)
    return deepest


def canonical_json_size(value: object) -> int:
    """Bytes of ``value`` as canonical JSON (sorted keys, no spaces, UTF-8).

    Raises ``InputRefused`` when it is not JSON at all (a lone surrogate, a float NaN...).
    """
    try:
        return len(orjson.dumps(value, option=orjson.OPT_SORT_KEYS))
    except (TypeError, orjson.JSONEncodeError):
        raise InputRefused(gettext("Данные не являются корректным JSON.")) from None


# --- dates and times ----------------------------------------------------------------------------


def year_bounds() -> tuple[int, int]:
    """The first and last year a date or time given to us may fall in (settings)."""
    return int(settings.INPUT_YEAR_MIN), int(settings.INPUT_YEAR_MAX)


def check_year_range(
    moment: dt.date, *, year_min: int | None = None, year_max: int | None = None
) -> str | None:
    """Why ``moment`` (a date or datetime, its year as written) is refused, or ``None``.

    The limits default to ``INPUT_YEAR_MIN`` and ``INPUT_YEAR_MAX``.
    """
    low, high = year_bounds()
    low = low if year_min is None else year_min
    high = high if year_max is None else year_max
    if low <= moment.year <= high:
        return None
    return gettext("Год должен быть от %(low)d до %(high)d.") % {"low": low, "high": high}


def validate_year_range(value: object) -> None:
    """Django validator for date and datetime fields of forms and serializers."""
    if isinstance(value, dt.date):
        low, high = year_bounds()
        if not low <= value.year <= high:
            raise ValidationError(
                _("Год должен быть от %(low)d до %(high)d."),
                code=CoreErrorCode.YEAR_OUT_OF_RANGE,
                params={"low": low, "high": high},
            )


# --- decimals -----------------------------------------------------------------------------------


def decimal_in_range(value: Decimal, *, limit: Decimal = AMOUNT_LIMIT) -> str | None:
    """Why ``value`` is refused (not a finite number, or its absolute value not below
    ``limit``), or ``None``. Safe for any Decimal: nothing is quantized or rounded here."""
    if not value.is_finite():
        return gettext("Введите число.")
    if value.copy_abs() >= limit:
        return gettext("Число должно быть по модулю меньше %(limit)s.") % {"limit": f"{limit:f}"}
    return None


def parse_amount(
    raw: Any,
    *,
    limit: Decimal = AMOUNT_LIMIT,
    places: int = MONEY_DECIMAL_PLACES,
    negative: bool = False,
) -> Decimal:
    """An amount from a Decimal, an int or a string ("1234.50", "1234,50"), range-checked and
    then quantized to ``places``; ``InputRefused`` with the reason otherwise.

    Refuses NaN and infinities, absolute values not below ``limit``, negatives unless
    ``negative``, and more than ``places`` decimals (decided from the digits, without rounding).
    A JSON number arrives as a float: taken by its shortest repr ("1e+308"), range-checked alike.
    """
    if isinstance(raw, bool):
        raise InputRefused(gettext("Введите сумму числом."))
    if isinstance(raw, Decimal):
        value = raw
    else:
        text = str(raw).strip().replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise InputRefused(gettext("Введите сумму числом.")) from None
    if not value.is_finite():
        raise InputRefused(gettext("Введите сумму числом."))
    reason = decimal_in_range(value, limit=limit)
    if reason is not None:
        raise InputRefused(gettext("Слишком большая сумма."))
    if value < 0 and not negative:
        raise InputRefused(gettext("Сумма не может быть отрицательной."))
    if not _fits_places(value, places):
        if places == MONEY_DECIMAL_PLACES:
            raise InputRefused(
                gettext("Сумма может содержать не больше двух знаков после запятой.")
            )
        raise InputRefused(
            gettext("Не больше %(places)d знаков после запятой.") % {"places": places}
        )
    # exact (the digits fit), with room for any limit: never InvalidOperation
    context = Context(prec=max(28, limit.adjusted() + places + 2))
    result = value.quantize(Decimal(1).scaleb(-places), context=context)
    return result.copy_abs() if result.is_zero() else result


def _fits_places(value: Decimal, places: int) -> bool:
    """Whether ``value`` has no nonzero digit beyond ``places`` decimals ("1.50", "1.500")."""
    _sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        return False
    extra = -exponent - places
    return extra <= 0 or all(digit == 0 for digit in digits[-extra:])
