"""Money: Decimal amounts with a currency, rounding, shares, Russian formatting and words.

Implements the "Money" issue (``core/money.py``) and house rule 5: money is ``Decimal`` with two
places, quantized in one helper (``quantize``, ROUND_HALF_UP), and the currency is stored beside
every amount (``CurrencyField``). Floats are refused everywhere: by ``Money``, by the helpers
(``TypeError``, a programming error) and by the model, form and API fields (``ValidationError``
with code ``float_refused``, input error).

* ``Money`` — a frozen amount with a currency (RUB by default); arithmetic only with the same
  currency, otherwise ``CurrencyMismatch``.
* ``quantize``, ``percent_of``, ``allocate`` (largest remainder: the parts sum exactly to the
  amount, each within one kopeck of its exact share).
* ``format_rub`` / ``format_money`` — Russian formatting as in CLDR ``ru``: "1 234,50 ₽", with
  U+00A0 NO-BREAK SPACE between digit groups and before the sign, decimal comma, and U+2212
  MINUS SIGN for negative amounts ("−1 234,50 ₽"); dollars and euros as "1 234,50 $" / "€",
  other currencies by their code.
* ``amount_in_words`` — the sum in words for documents (сумма прописью): "Одна тысяча двести
  тридцать четыре рубля 50 копеек". The integer words come from ``num2words`` (``lang="ru"``,
  masculine, which already gives feminine thousands: "одна тысяча", "две тысячи"); the plural
  forms of roubles and kopecks come from ``plural_ru``.
* ``MoneyField`` / ``CurrencyField`` (models), ``MoneyFormField`` (forms, accepts "1234,50" and
  "1 234.50"), ``MoneySerializerField`` (DRF, accepts JSON strings and integers, refuses JSON
  floats). All refuse more than two decimals (code ``too_many_decimals``) instead of rounding
  what a person typed; trailing zeros ("1.500") are not extra decimals.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from fractions import Fraction
from typing import Any, Final, Self

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from num2words import num2words
from rest_framework import serializers

from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError

__all__ = [
    "DEFAULT_CURRENCY",
    "MINUS_SIGN",
    "NBSP",
    "Currency",
    "CurrencyField",
    "CurrencyMismatch",
    "Money",
    "MoneyField",
    "MoneyFormField",
    "MoneySerializerField",
    "allocate",
    "amount_in_words",
    "format_money",
    "format_rub",
    "has_cents_only",
    "percent_of",
    "plural_ru",
    "quantize",
]

DEFAULT_CURRENCY: Final = "RUB"
NBSP: Final = "\u00a0"
MINUS_SIGN: Final = "\u2212"
MONEY_MAX_DIGITS: Final = 14
MONEY_DECIMAL_PLACES: Final = 2

CENT: Final = Decimal("0.01")
# Independent of the thread's decimal context, so that nobody's ``getcontext()`` changes rounding.
_CONTEXT: Final = Context(
    prec=34, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow]
)
_CURRENCY_SIGNS: Final = {"RUB": "₽", "USD": "$", "EUR": "€"}
# Spaces people and spreadsheets put between digit groups: space, NBSP, thin, narrow NBSP.
_GROUP_SPACES: Final = str.maketrans("", "", " \u00a0\u2009\u202f")

FLOAT_REFUSED_MESSAGE: Final = _(
    "Сумма должна быть точным десятичным числом, числа с плавающей точкой не принимаются."
)
TOO_MANY_DECIMALS_MESSAGE: Final = _("Сумма может содержать не больше двух знаков после запятой.")


class Currency(models.TextChoices):
    """Currencies an amount may be stored in (ISO 4217 codes)."""

    RUB = "RUB", _("Российский рубль")
    USD = "USD", _("Доллар США")
    EUR = "EUR", _("Евро")


class CurrencyMismatch(ApplicationError):
    """Two amounts in different currencies were added, subtracted or compared."""

    code = CoreErrorCode.CURRENCY_MISMATCH

    def __init__(self, *, left: str, right: str) -> None:
        super().__init__(
            format_lazy(_("Нельзя сочетать суммы в разных валютах: {} и {}."), left, right)
        )
        self.left = left
        self.right = right


# --- The one rounding helper and friends -----------------------------------------------------


def _refuse_float(value: object) -> None:
    if isinstance(value, float):
        raise TypeError(
            f"Money must not be a float (got {value!r}); pass a Decimal, an int or a str."
        )
    if isinstance(value, bool):
        raise TypeError(f"Money must not be a bool (got {value!r}).")


def _to_decimal(value: Decimal | int | str) -> Decimal:
    """A finite Decimal from a Decimal, int or str; floats raise ``TypeError``."""
    _refuse_float(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"Not a decimal amount: {value!r}.") from None
    else:
        raise TypeError(f"Money must be a Decimal, an int or a str, not {type(value).__name__}.")
    if not result.is_finite():
        raise ValueError(f"Money must be a finite number, not {value!r}.")
    return result


def quantize(value: Decimal | int) -> Decimal:
    """``value`` rounded to kopecks (two places), halves away from zero (ROUND_HALF_UP).

    The one rounding helper of the project: ``Decimal("2.675")`` → ``2.68``,
    ``Decimal("-0.005")`` → ``-0.01``. A zero result never carries a minus sign.
    """
    result = _to_decimal(value).quantize(CENT, context=_CONTEXT)
    return result.copy_abs() if result.is_zero() else result


def has_cents_only(value: Decimal | int) -> bool:
    """Whether ``value`` is a whole number of kopecks ("1.50", "1.500", "2"; not "1.505").

    Decided from the digits alone, without rounding, so it is safe for any size of input.
    """
    _sign, digits, exponent = _to_decimal(value).as_tuple()
    if not isinstance(exponent, int):  # never: _to_decimal refuses NaN and infinity
        return False
    extra = -exponent - MONEY_DECIMAL_PLACES  # digits beyond the kopecks
    if extra <= 0:
        return True
    return all(digit == 0 for digit in digits[-extra:])


def _cents_or_as_is(value: Decimal, *, max_whole_digits: int) -> Decimal:
    """``value`` (a whole number of kopecks) with exactly two places, unless it is too large to
    be an amount at all: that one is returned as it is for the max-digits check to refuse."""
    if value.is_zero():
        return Decimal("0.00")
    if value.adjusted() >= max_whole_digits:
        return value
    return quantize(value)


def percent_of(amount: Decimal | int, percent: Decimal | int) -> Decimal:
    """``percent`` % of ``amount``, quantized: 15 % of 1234.50 = 185.175 → 185.18."""
    exact = _CONTEXT.divide(_CONTEXT.multiply(_to_decimal(amount), _to_decimal(percent)), 100)
    return quantize(exact)


def allocate(amount: Decimal | int, weights: Sequence[Decimal | int]) -> list[Decimal]:
    """Split ``amount`` in proportion to ``weights`` into parts that sum exactly to it.

    Largest remainder method on kopecks: every part first gets its exact share rounded towards
    zero, then the kopecks left over go one each to the parts with the largest remainders (the
    earlier part wins a tie). Each part differs from its exact share by less than a kopeck; a
    zero weight gets zero. A negative amount splits like its absolute value, negated.
    ``allocate(Decimal("100"), [1, 1, 1])`` → ``[33.34, 33.33, 33.33]``.
    """
    total = _to_decimal(amount)
    if not has_cents_only(total):
        raise ValueError(f"Cannot allocate {total}: it is not a whole number of kopecks.")
    shares = [Fraction(_to_decimal(weight)) for weight in weights]
    if not shares:
        raise ValueError("Cannot allocate into no parts.")
    if any(share < 0 for share in shares):
        raise ValueError("Allocation weights must not be negative.")
    weight_sum = sum(shares, Fraction(0))
    if weight_sum == 0:
        raise ValueError("Cannot allocate: all weights are zero.")
    kopecks = int(_CONTEXT.multiply(total, 100))
    exact = [abs(kopecks) * share / weight_sum for share in shares]
    parts = [int(share) for share in exact]  # exact shares are >= 0: int() is floor
    left_over = abs(kopecks) - sum(parts)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in by_remainder[:left_over]:
        parts[index] += 1
    sign = -1 if kopecks < 0 else 1
    return [Decimal(sign * part).scaleb(-MONEY_DECIMAL_PLACES, _CONTEXT) for part in parts]


# --- Money ------------------------------------------------------------------------------------


@functools.total_ordering
@dataclass(frozen=True, slots=True)
class Money:
    """An amount in a currency, always quantized to kopecks (cents).

    Build it with ``Money.of("1234.50")``; ``Money(amount=Decimal(...))`` quantizes too. Adding,
    subtracting or ordering amounts in different currencies raises ``CurrencyMismatch``; two
    amounts in different currencies are simply not equal.
    """

    amount: Decimal
    currency: str = DEFAULT_CURRENCY

    def __post_init__(self) -> None:
        if not (
            isinstance(self.currency, str)
            and len(self.currency) == 3
            and self.currency.isascii()
            and self.currency.isalpha()
            and self.currency.isupper()
        ):
            raise ValueError(f"Currency must be a three-letter ISO code, not {self.currency!r}.")
        object.__setattr__(self, "amount", quantize(self.amount))

    @classmethod
    def of(cls, value: Decimal | int | str, currency: str = DEFAULT_CURRENCY) -> Self:
        """Money from a Decimal, int or str; a float raises ``TypeError``."""
        return cls(amount=_to_decimal(value), currency=currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Self:
        return cls(amount=Decimal(0), currency=currency)

    def _same_currency(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatch(left=self.currency, right=other.currency)

    def __add__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def __sub__(self, other: Money) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return Money(amount=self.amount - other.amount, currency=self.currency)

    def __neg__(self) -> Money:
        return Money(amount=-self.amount, currency=self.currency)

    def __abs__(self) -> Money:
        return Money(amount=abs(self.amount), currency=self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        _refuse_float(factor)
        if not isinstance(factor, Decimal | int):
            return NotImplemented
        product = _CONTEXT.multiply(self.amount, _to_decimal(factor))
        return Money(amount=product, currency=self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same_currency(other)
        return self.amount < other.amount

    def is_zero(self) -> bool:
        return self.amount.is_zero()

    def is_positive(self) -> bool:
        return self.amount > 0

    def is_negative(self) -> bool:
        return self.amount < 0

    def percent(self, percent: Decimal | int) -> Money:
        """``percent`` % of this amount, quantized (see ``percent_of``)."""
        return Money(amount=percent_of(self.amount, percent), currency=self.currency)

    def allocate(self, weights: Sequence[Decimal | int]) -> list[Money]:
        """Parts in proportion to ``weights`` that sum exactly to this amount (``allocate``)."""
        return [
            Money(amount=part, currency=self.currency) for part in allocate(self.amount, weights)
        ]

    def __str__(self) -> str:
        return format_money(self)


# --- Formatting and words ---------------------------------------------------------------------


def _format_amount(amount: Decimal | int, sign: str) -> str:
    value = quantize(amount)
    whole, fraction = f"{abs(value):f}".split(".")
    groups = [whole[max(end - 3, 0) : end] for end in range(len(whole), 0, -3)]
    minus = MINUS_SIGN if value < 0 else ""
    return f"{minus}{NBSP.join(reversed(groups))},{fraction}{NBSP}{sign}"


def format_rub(amount: Decimal | int) -> str:
    """Roubles in Russian: ``Decimal("1234.5")`` → "1 234,50 ₽" (NBSP), negative "−1 234,50 ₽"."""
    return _format_amount(amount, _CURRENCY_SIGNS["RUB"])


def format_money(money: Money) -> str:
    """Any amount in Russian: "1 234,50 ₽", "1 234,50 $", "1 234,50 €", "1 234,50 CNY"."""
    return _format_amount(money.amount, _CURRENCY_SIGNS.get(money.currency, money.currency))


def plural_ru(n: int, one: str, few: str, many: str) -> str:
    """The Russian plural form for ``n``: 1, 21 → one; 2–4, 22 → few; 0, 5–20, 25, 111 → many."""
    n = abs(n)
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def amount_in_words(amount: Decimal | int) -> str:
    """A rouble amount in words for documents (сумма прописью), kopecks as two digits.

    ``Decimal("1234.50")`` → "Одна тысяча двести тридцать четыре рубля 50 копеек";
    ``0`` → "Ноль рублей 00 копеек". Negative amounts and fractions of a kopeck raise
    ``ValueError``: a document never states them.
    """
    value = _to_decimal(amount)
    if value < 0:
        raise ValueError(f"A document never states a negative sum ({value}).")
    if not has_cents_only(value):
        raise ValueError(f"{value} is not a whole number of kopecks.")
    roubles = int(value)
    kopecks = int((value - roubles) * 100)
    words = str(num2words(roubles, lang="ru"))
    rouble_word = plural_ru(roubles, "рубль", "рубля", "рублей")
    kopeck_word = plural_ru(kopecks, "копейка", "копейки", "копеек")
    return f"{words[:1].upper()}{words[1:]} {rouble_word} {kopecks:02d} {kopeck_word}"


# --- Model, form and API fields ---------------------------------------------------------------


class MoneyField(models.DecimalField):  # type: ignore[type-arg]
    """A money amount column: ``DECIMAL(14, 2)`` by default, two places always.

    Refuses floats (``float_refused``) and more than two decimals (``too_many_decimals``) in
    ``to_python`` and therefore in ``get_prep_value``, so neither ``clean()`` nor a save or a
    query quietly rounds a value. Store the currency beside it in a ``CurrencyField``.
    """

    default_error_messages = {
        "float_refused": FLOAT_REFUSED_MESSAGE,
        "too_many_decimals": TOO_MANY_DECIMALS_MESSAGE,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        if kwargs["decimal_places"] != MONEY_DECIMAL_PLACES:
            raise ValueError("MoneyField always has two decimal places.")
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, float):
            raise ValidationError(
                self.error_messages["float_refused"], code=CoreErrorCode.FLOAT_REFUSED
            )
        result: Decimal | None = super().to_python(value)
        if result is None:
            return None
        if not has_cents_only(result):
            raise ValidationError(
                self.error_messages["too_many_decimals"], code=CoreErrorCode.TOO_MANY_DECIMALS
            )
        return _cents_or_as_is(result, max_whole_digits=self._max_whole_digits())

    def _max_whole_digits(self) -> int:
        return (self.max_digits or MONEY_MAX_DIGITS) - MONEY_DECIMAL_PLACES

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": MoneyFormField, **kwargs})


class CurrencyField(models.CharField):  # type: ignore[type-arg]
    """The currency stored beside every amount: an ISO code, RUB by default."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("default", Currency.RUB.value)
        kwargs.setdefault("choices", Currency.choices)
        super().__init__(*args, **kwargs)


class MoneyFormField(forms.DecimalField):
    """A money input: "1234,50", "1 234.50", "1 234,50", "−10" are all accepted.

    Spaces between digit groups (also NBSP and thin spaces) are dropped and a decimal comma
    becomes a point; a value with both a comma and a point is ambiguous and refused. More than
    two decimals are refused with ``too_many_decimals``. Rendered as a text input with
    ``inputmode="decimal"``: a number input would not take a decimal comma in every browser.
    """

    widget = forms.TextInput
    default_error_messages = {
        "invalid": _("Введите сумму числом, например 1234,50."),
        "float_refused": FLOAT_REFUSED_MESSAGE,
        "too_many_decimals": TOO_MANY_DECIMALS_MESSAGE,
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(**kwargs)

    # django-stubs declare forms.DecimalField.to_python as IntegerField's (int | None).
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if isinstance(value, float):
            raise ValidationError(
                self.error_messages["float_refused"], code=CoreErrorCode.FLOAT_REFUSED
            )
        if isinstance(value, str):
            value = value.translate(_GROUP_SPACES).replace(MINUS_SIGN, "-")
            if "," in value and "." in value:
                raise ValidationError(self.error_messages["invalid"], code=CoreErrorCode.INVALID)
            value = value.replace(",", ".")
        result: Decimal | None = super().to_python(value)
        if result is None:
            return None
        if not result.is_finite():
            raise ValidationError(self.error_messages["invalid"], code=CoreErrorCode.INVALID)
        if not has_cents_only(result):
            raise ValidationError(
                self.error_messages["too_many_decimals"], code=CoreErrorCode.TOO_MANY_DECIMALS
            )
        return _cents_or_as_is(result, max_whole_digits=self._max_whole_digits())

    def _max_whole_digits(self) -> int:
        return (self.max_digits or MONEY_MAX_DIGITS) - MONEY_DECIMAL_PLACES

    def prepare_value(self, value: Any) -> Any:
        """An initial Decimal is shown the Russian way, "1234,50", which ``to_python`` reads."""
        if isinstance(value, Decimal) and value.is_finite():
            return f"{value:f}".replace(".", ",")
        return value

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs: dict[str, Any] = super().widget_attrs(widget)
        attrs.setdefault("inputmode", "decimal")
        return attrs


class MoneySerializerField(serializers.DecimalField):
    """A money amount in the API: a JSON string "1234.50" or an integer; output as a string.

    A JSON number with a fraction arrives as a Python float and is refused with
    ``float_refused``; more than two decimals are refused with ``too_many_decimals``.
    """

    default_error_messages = {
        "float_refused": FLOAT_REFUSED_MESSAGE,
        "too_many_decimals": TOO_MANY_DECIMALS_MESSAGE,
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, float):
            self.fail("float_refused")
        if isinstance(data, bool):
            self.fail("invalid")
        value: Decimal = super().to_internal_value(self._in_cents(data))
        return value

    def _in_cents(self, data: Any) -> Any:
        """``data`` as a string with two places ("1.500" → "1.50", "-0" → "0.00"); refuses
        "1.505" with our own code and leaves what is not a number to the parent."""
        try:
            value = Decimal(str(data).strip())
        except InvalidOperation:
            return data
        if not value.is_finite():
            return data
        if not has_cents_only(value):
            self.fail("too_many_decimals")
        return str(_cents_or_as_is(value, max_whole_digits=self.max_whole_digits or 0))
