"""Checksum validation of Russian requisites entered on the partner card.

The partner card (see the "partner card" spec) stores a partner's tax and bank
requisites: INN, KPP, OGRN / OGRNIP, the bank's BIK, the settlement account and
the bank's correspondent account. The validators below catch typos before the
card is saved.

* INN and OGRN (13 digits) checksums come from ``python-stdnum``
  (``stdnum.ru.inn``, ``stdnum.ru.ogrn``).
* OGRNIP (15 digits) is checked here: ``stdnum.ru.ogrn`` 2.2 compares the check
  digit with the full remainder mod 13 instead of its lowest digit, so it
  rejects valid numbers whose remainder is 10, 11 or 12.
* KPP, BIK and the account control key (an account checked against the BIK,
  per the Bank of Russia algorithm with weights 7-1-3) are implemented here,
  since no library covers them.

Every validator strips surrounding whitespace, rejects anything else that is
not part of the number (inner spaces, letters, non-ASCII digits) and returns the
normalised string. Every failure is a ``django.core.exceptions.ValidationError``
with a Russian, lazily translated message and a stable English ``code``:

``not_digits``, ``all_zeros``, ``inn_length``, ``inn_checksum``, ``kpp_length``,
``kpp_format``, ``ogrn_length``, ``ogrn_format``, ``ogrn_checksum``,
``ogrnip_length``, ``ogrnip_format``, ``ogrnip_checksum``, ``bik_length``,
``bik_format``, ``bik_invalid``, ``account_length``, ``account_checksum``,
``corr_account_length``, ``corr_account_format``, ``corr_account_bik_mismatch``,
``corr_account_checksum``.

The module only needs Django's ``ValidationError`` and ``gettext_lazy`` at
import time; it does not require configured settings.
"""

from __future__ import annotations

import re
from itertools import cycle
from typing import TYPE_CHECKING, Final

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from stdnum.exceptions import ValidationError as StdnumValidationError
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

from partnerhub.core.error_codes import CoreErrorCode

if TYPE_CHECKING:
    # Type of gettext_lazy() results; exists only in django-stubs.
    from django.utils.functional import _StrPromise

__all__ = [
    "LEGAL_FORM_IP",
    "LEGAL_FORM_UL",
    "control_key_ok",
    "validate_bik",
    "validate_correspondent_account",
    "validate_inn",
    "validate_kpp",
    "validate_ogrn",
    "validate_ogrnip",
    "validate_settlement_account",
]

#: Legal entity (юридическое лицо): 10-digit INN.
LEGAL_FORM_UL: Final = "ul"
#: Individual entrepreneur (индивидуальный предприниматель): 12-digit INN.
LEGAL_FORM_IP: Final = "ip"

_INN_LENGTHS: Final[dict[str | None, tuple[int, ...]]] = {
    LEGAL_FORM_UL: (10,),
    LEGAL_FORM_IP: (12,),
    None: (10, 12),
}

# ASCII digits only: str.isdigit() would also accept e.g. full-width digits.
_DIGITS_RE: Final = re.compile(r"[0-9]*")
# FNS format: tax office code, reason code (digits or A-Z), serial number.
_KPP_RE: Final = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")

_BIK_LENGTH: Final = 9
_BIK_PREFIX: Final = "04"
_KPP_LENGTH: Final = 9
_OGRN_LENGTH: Final = 13
_OGRN_FIRST_DIGITS: Final = ("1", "5")
_OGRNIP_LENGTH: Final = 15
_OGRNIP_FIRST_DIGIT: Final = "3"
_ACCOUNT_LENGTH: Final = 20
_CORR_ACCOUNT_PREFIX: Final = "30101"
_CONTROL_KEY_WEIGHTS: Final = (7, 1, 3)


def _strip(value: str) -> str:
    """Return ``value`` without surrounding whitespace."""
    return value.strip()


def _require_digits(value: str, message: _StrPromise) -> str:
    """Strip ``value`` and ensure it consists of ASCII digits only."""
    digits = _strip(value)
    if not _DIGITS_RE.fullmatch(digits):
        raise ValidationError(message, code=CoreErrorCode.NOT_DIGITS)
    return digits


def _require_length(value: str, length: int, message: _StrPromise, code: CoreErrorCode) -> None:
    """Raise ``code`` unless ``value`` is exactly ``length`` characters long."""
    if len(value) != length:
        raise ValidationError(message, code=code)


def _reject_all_zeros(value: str, message: _StrPromise) -> None:
    """Raise ``all_zeros`` if ``value`` consists of zeros only."""
    if set(value) == {"0"}:
        raise ValidationError(message, code=CoreErrorCode.ALL_ZEROS)


def validate_inn(value: str, *, legal_form: str | None = None) -> str:
    """Validate an INN (ИНН) and return its digits.

    ``legal_form`` selects the expected length: ``"ul"`` (legal entity) needs
    10 digits, ``"ip"`` (individual entrepreneur) needs 12; ``None`` accepts
    either. The checksum is verified with ``stdnum.ru.inn``. An all-zero INN
    is rejected even though its checksum is formally correct.

    Raises ``ValueError`` for an unknown ``legal_form`` (a programming error).
    """
    if legal_form not in _INN_LENGTHS:
        raise ValueError(f"Unknown legal_form {legal_form!r}; expected 'ul', 'ip' or None")
    digits = _require_digits(value, _("ИНН должен содержать только цифры"))
    if len(digits) not in _INN_LENGTHS[legal_form]:
        if legal_form == LEGAL_FORM_UL:
            message = _("ИНН юридического лица должен состоять из 10 цифр")
        elif legal_form == LEGAL_FORM_IP:
            message = _("ИНН индивидуального предпринимателя должен состоять из 12 цифр")
        else:
            message = _(
                "ИНН должен состоять из 10 цифр (юридическое лицо) "
                "или из 12 цифр (индивидуальный предприниматель)"
            )
        raise ValidationError(message, code=CoreErrorCode.INN_LENGTH)
    _reject_all_zeros(digits, _("ИНН не может состоять из одних нулей"))
    try:
        stdnum_inn.validate(digits)
    except StdnumValidationError as exc:
        raise ValidationError(
            _("Контрольное число ИНН не сходится — проверьте, нет ли опечатки"),
            code=CoreErrorCode.INN_CHECKSUM,
        ) from exc
    return digits


def validate_kpp(value: str) -> str:
    """Validate a KPP (КПП) and return it.

    Format per the FNS: 4 digits (tax office code), 2 characters that are
    digits or uppercase Latin letters A-Z (registration reason code),
    3 digits (serial number). Lowercase letters are rejected, not upper-cased.
    KPP has no checksum.
    """
    kpp = _strip(value)
    _require_length(
        kpp, _KPP_LENGTH, _("КПП должен состоять из 9 символов"), CoreErrorCode.KPP_LENGTH
    )
    if not _KPP_RE.fullmatch(kpp):
        raise ValidationError(
            _(
                "КПП должен состоять из 4 цифр кода налогового органа, 2 символов причины "
                "постановки на учёт (цифры или заглавные латинские буквы A–Z) "
                "и 3 цифр порядкового номера"
            ),
            code=CoreErrorCode.KPP_FORMAT,
        )
    _reject_all_zeros(kpp, _("КПП не может состоять из одних нулей"))
    return kpp


def validate_ogrn(value: str) -> str:
    """Validate a legal entity's OGRN (ОГРН, 13 digits) and return its digits.

    The first digit must be 1 or 5. The check digit (the lowest digit of the
    first 12 digits taken as a number mod 11) is verified with
    ``stdnum.ru.ogrn``.
    """
    digits = _require_digits(value, _("ОГРН должен содержать только цифры"))
    _require_length(
        digits, _OGRN_LENGTH, _("ОГРН должен состоять из 13 цифр"), CoreErrorCode.OGRN_LENGTH
    )
    _reject_all_zeros(digits, _("ОГРН не может состоять из одних нулей"))
    if not digits.startswith(_OGRN_FIRST_DIGITS):
        raise ValidationError(
            _("ОГРН юридического лица должен начинаться с цифры 1 или 5"),
            code=CoreErrorCode.OGRN_FORMAT,
        )
    try:
        stdnum_ogrn.validate(digits)
    except StdnumValidationError as exc:
        raise ValidationError(
            _("Контрольная цифра ОГРН не сходится — проверьте, нет ли опечатки"),
            code=CoreErrorCode.OGRN_CHECKSUM,
        ) from exc
    return digits


def _ogrnip_check_digit(first14: str) -> str:
    """Return the OGRNIP check digit: the lowest digit of ``first14`` mod 13."""
    return str(int(first14) % 13 % 10)


def validate_ogrnip(value: str) -> str:
    """Validate an individual entrepreneur's OGRNIP (ОГРНИП, 15 digits).

    The first digit must be 3; the 15th digit must equal the lowest digit of
    the first 14 digits taken as a number mod 13. Implemented here because
    ``stdnum.ru.ogrn`` 2.2 omits the "lowest digit" step (and accepts a
    leading 4).
    """
    digits = _require_digits(value, _("ОГРНИП должен содержать только цифры"))
    _require_length(
        digits, _OGRNIP_LENGTH, _("ОГРНИП должен состоять из 15 цифр"), CoreErrorCode.OGRNIP_LENGTH
    )
    _reject_all_zeros(digits, _("ОГРНИП не может состоять из одних нулей"))
    if not digits.startswith(_OGRNIP_FIRST_DIGIT):
        raise ValidationError(
            _("ОГРНИП должен начинаться с цифры 3"), code=CoreErrorCode.OGRNIP_FORMAT
        )
    if _ogrnip_check_digit(digits[:-1]) != digits[-1]:
        raise ValidationError(
            _("Контрольная цифра ОГРНИП не сходится — проверьте, нет ли опечатки"),
            code=CoreErrorCode.OGRNIP_CHECKSUM,
        )
    return digits


def validate_bik(value: str) -> str:
    """Validate a Russian bank's BIK (БИК): 9 digits starting with "04"."""
    digits = _require_digits(value, _("БИК должен содержать только цифры"))
    _require_length(
        digits, _BIK_LENGTH, _("БИК должен состоять из 9 цифр"), CoreErrorCode.BIK_LENGTH
    )
    _reject_all_zeros(digits, _("БИК не может состоять из одних нулей"))
    if not digits.startswith(_BIK_PREFIX):
        raise ValidationError(
            _("БИК российского банка должен начинаться с «04»"), code=CoreErrorCode.BIK_FORMAT
        )
    return digits


def control_key_ok(prefix3: str, account20: str) -> bool:
    """Check the Bank of Russia control key of a 20-digit account.

    ``prefix3`` is the 3-digit conditional number of the bank (the last three
    BIK digits for an account in a credit institution, ``"0"`` + BIK digits 5-6
    for a correspondent account at the Bank of Russia). The 23 digits
    ``prefix3 + account20`` are multiplied by the weights 7, 1, 3, 7, 1, 3, ...;
    the account is correct when the sum of the products is divisible by 10.

    Raises ``ValueError`` if the arguments are not 3 and 20 ASCII digits.
    """
    if len(prefix3) != 3 or not _DIGITS_RE.fullmatch(prefix3):
        raise ValueError(f"prefix3 must be 3 digits, got {prefix3!r}")
    if len(account20) != _ACCOUNT_LENGTH or not _DIGITS_RE.fullmatch(account20):
        raise ValueError(f"account20 must be 20 digits, got {account20!r}")
    total = sum(
        int(digit) * weight
        for digit, weight in zip(prefix3 + account20, cycle(_CONTROL_KEY_WEIGHTS), strict=False)
    )
    return total % 10 == 0


def _bik_for_account(bik: str, message: _StrPromise) -> str:
    """Validate the BIK an account is checked against; raise ``bik_invalid`` if it is bad."""
    try:
        return validate_bik(bik)
    except ValidationError as exc:
        raise ValidationError(message, code=CoreErrorCode.BIK_INVALID) from exc


def validate_settlement_account(account: str, *, bik: str) -> str:
    """Validate a settlement account (расчётный счёт) against the bank's BIK.

    The account must have 20 digits and a correct control key computed with
    the last three digits of ``bik`` (see :func:`control_key_ok`). The account's
    own format is checked first; then an invalid ``bik`` raises ``bik_invalid``.

    Accounts opened directly in a Bank of Russia division (whose key uses
    ``"0"`` + BIK digits 5-6) are not supported.
    """
    digits = _require_digits(account, _("Расчётный счёт должен содержать только цифры"))
    _require_length(
        digits,
        _ACCOUNT_LENGTH,
        _("Расчётный счёт должен состоять из 20 цифр"),
        CoreErrorCode.ACCOUNT_LENGTH,
    )
    _reject_all_zeros(digits, _("Расчётный счёт не может состоять из одних нулей"))
    bik_digits = _bik_for_account(
        bik, _("Расчётный счёт нельзя проверить без корректного БИК банка")
    )
    if not control_key_ok(bik_digits[-3:], digits):
        raise ValidationError(
            _(
                "Контрольный ключ расчётного счёта не сходится с БИК банка — "
                "проверьте счёт и БИК на опечатки"
            ),
            code=CoreErrorCode.ACCOUNT_CHECKSUM,
        )
    return digits


def validate_correspondent_account(account: str, *, bik: str) -> str:
    """Validate a bank's correspondent account (корреспондентский счёт) against its BIK.

    The account must have 20 digits, start with "30101", end with the last
    three digits of ``bik`` and have a correct control key computed with
    ``"0"`` + BIK digits 5-6 (see :func:`control_key_ok`). The account's own
    format is checked first; then an invalid ``bik`` raises ``bik_invalid``.
    """
    digits = _require_digits(account, _("Корреспондентский счёт должен содержать только цифры"))
    _require_length(
        digits,
        _ACCOUNT_LENGTH,
        _("Корреспондентский счёт должен состоять из 20 цифр"),
        CoreErrorCode.CORR_ACCOUNT_LENGTH,
    )
    _reject_all_zeros(digits, _("Корреспондентский счёт не может состоять из одних нулей"))
    if not digits.startswith(_CORR_ACCOUNT_PREFIX):
        raise ValidationError(
            _("Корреспондентский счёт банка должен начинаться с «30101»"),
            code=CoreErrorCode.CORR_ACCOUNT_FORMAT,
        )
    bik_digits = _bik_for_account(
        bik, _("Корреспондентский счёт нельзя проверить без корректного БИК банка")
    )
    if digits[-3:] != bik_digits[-3:]:
        raise ValidationError(
            _(
                "Последние три цифры корреспондентского счёта должны совпадать "
                "с последними тремя цифрами БИК"
            ),
            code=CoreErrorCode.CORR_ACCOUNT_BIK_MISMATCH,
        )
    if not control_key_ok("0" + bik_digits[4:6], digits):
        raise ValidationError(
            _(
                "Контрольный ключ корреспондентского счёта не сходится с БИК банка — "
                "проверьте счёт и БИК на опечатки"
            ),
            code=CoreErrorCode.CORR_ACCOUNT_CHECKSUM,
        )
    return digits
