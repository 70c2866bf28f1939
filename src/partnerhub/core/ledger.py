"""The append-only double-entry ledger (issue "Ledger"; house rules 6 and 8).

Accounts belong to an organisation (or to the vendor) and a purpose: bonus points, credit line,
client advances... A transaction is a set of entries whose debits equal its credits; it is
written once by ``post()`` and never changed; a correction is ``reverse()``, a mirror
transaction pointing to the original. Every transaction carries a unique idempotency reference,
a kind, the object that caused it and a JSON snapshot of the rule or terms that produced it.

Balances derive from the entries (``balance()`` at any moment, by query over business time);
``LedgerAccount.balance`` is a cache moved in the same database transaction by in-place
UPDATEs (``SET balance = balance + delta``, never read-modify-write in Python), conditional
where the account has limits (``UPDATE ... WHERE balance + delta >= min``),
so that concurrent postings can never take an account past its limit on PostgreSQL or SQLite.
``check_invariants()`` (``partnerhub ledger check``) verifies everything against the tables.

Written here, not taken from a library: the rules above are a few hundred lines and lean on the
project's clock, errors and database triggers (no Django ledger package was evaluated).

Notes on SQLite: it stores decimals as floating-point numbers, so sums and the cached balance
are rounded to cents in SQL (``ROUND(x, 2)``) before they are compared or stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.models import Case, Count, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Round
from django.utils.translation import gettext as _

from partnerhub.core.clock import now
from partnerhub.core.error_codes import CoreErrorCode
from partnerhub.core.errors import ApplicationError, Conflict, ValidationFailed
from partnerhub.core.models.ledger import (
    AMOUNT_DIGITS,
    AMOUNT_PLACES,
    AppendOnlyViolation,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    Side,
)

__all__ = [
    "AppendOnlyViolation",
    "Balance",
    "Breach",
    "CurrencyMismatch",
    "InvalidEntry",
    "LimitExceeded",
    "Line",
    "Posting",
    "Statement",
    "StatementLine",
    "UnbalancedTransaction",
    "account_get_or_create",
    "account_set_limits",
    "balance",
    "balances",
    "check_invariants",
    "immutability_sql",
    "install_immutability_triggers",
    "post",
    "post_many",
    "reverse",
    "statement",
    "uninstall_immutability_triggers",
]

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
AMOUNT_CEILING = Decimal(10) ** (AMOUNT_DIGITS - AMOUNT_PLACES)
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_SUM_FIELD = DecimalField(max_digits=30, decimal_places=AMOUNT_PLACES)


class UnbalancedTransaction(ApplicationError):
    """Debits and credits of a transaction differ (or it has fewer than two lines)."""

    code = CoreErrorCode.UNBALANCED_TRANSACTION


class InvalidEntry(ValidationFailed):
    """A line's amount is missing, on both sides, not positive or finer than a kopeck."""

    code = CoreErrorCode.INVALID_ENTRY


class CurrencyMismatch(ApplicationError):
    """The accounts of one transaction are in different currencies."""

    code = CoreErrorCode.CURRENCY_MISMATCH


class LimitExceeded(ApplicationError):
    """The posting would take an account past its ``min_balance`` or ``max_balance``."""

    code = CoreErrorCode.LIMIT_EXCEEDED
    http_status = 409


@dataclass(frozen=True)
class Line:
    """One line of a posting: ``debit`` or ``credit`` (exactly one, a positive Decimal)."""

    account: LedgerAccount
    debit: Decimal | None = None
    credit: Decimal | None = None


@dataclass(frozen=True)
class _Entry:
    account: LedgerAccount
    side: str
    amount: Decimal

    @property
    def signed(self) -> Decimal:
        return self.amount if self.side == Side.DEBIT else -self.amount

    def key(self) -> tuple[int, str, Decimal]:
        return (self.account.pk, self.side, self.amount)


# --- accounts ---------------------------------------------------------------------------------


def account_get_or_create(
    *,
    organisation_id: int | None,
    purpose: str,
    normal_side: str,
    currency: str = "RUB",
    name: str = "",
) -> LedgerAccount:
    """The account of ``organisation_id`` (None: the vendor's) for ``purpose`` and ``currency``.

    Safe under concurrency: the unique constraint decides, and Django's ``get_or_create`` reads
    the winner's row after an IntegrityError.
    """
    if normal_side not in Side.values:
        raise ValueError(f"normal_side must be one of {Side.values}, got {normal_side!r}")
    if not CURRENCY_RE.match(currency):
        raise ValidationFailed(
            _("Код валюты должен состоять из трёх заглавных латинских букв."),
            fields={"currency": [_("Неверный код валюты.")]},
        )
    account, _created = LedgerAccount.objects.get_or_create(
        organisation_id=organisation_id,
        purpose=purpose,
        currency=currency,
        defaults={"normal_side": normal_side, "name": name or purpose},
    )
    if account.normal_side != normal_side:
        raise Conflict(
            _("Счёт «%(account)s» уже открыт с другой нормальной стороной.") % {"account": account}
        )
    return account


def account_set_limits(
    *, account: LedgerAccount, min_balance: Decimal | None, max_balance: Decimal | None
) -> None:
    """Set the limits of the signed balance; refused (LimitExceeded) when the current balance
    is already outside them. One conditional UPDATE, so a concurrent posting cannot slip by."""
    within = Q(pk=account.pk)
    for limit in (min_balance, max_balance):
        if limit is not None and (not isinstance(limit, Decimal) or limit != limit.quantize(CENT)):
            raise TypeError(f"ledger limits are Decimal with two places, got {limit!r}")
    if min_balance is not None:
        within &= Q(balance__gte=min_balance)
    if max_balance is not None:
        within &= Q(balance__lte=max_balance)
    if min_balance is not None and max_balance is not None and min_balance > max_balance:
        raise ValidationFailed(_("Минимальный остаток больше максимального."))
    updated = LedgerAccount.objects.filter(within).update(
        min_balance=min_balance, max_balance=max_balance
    )
    if updated == 0:
        raise LimitExceeded(
            _("Остаток счёта «%(account)s» уже вне новых лимитов.") % {"account": account}
        )
    account.min_balance, account.max_balance = min_balance, max_balance


# --- posting ----------------------------------------------------------------------------------


def post(
    *,
    kind: str,
    lines: Sequence[Line],
    idempotency_ref: str,
    cause: tuple[str, str | int] | None = None,
    snapshot: dict[str, Any] | None = None,
    occurred_at: dt.datetime | None = None,
    memo: str = "",
) -> LedgerTransaction:
    """Post a balanced transaction and move the cached balances, all in one transaction.

    The same ``idempotency_ref`` again with the same kind, cause and lines returns the first
    transaction (nothing is posted twice); with other content it raises ``Conflict``. Snapshot,
    memo and ``occurred_at`` describe a posting and are not compared.
    """
    entries = _validated(lines)
    return _write(
        kind=kind,
        entries=entries,
        idempotency_ref=idempotency_ref,
        cause=cause,
        snapshot=snapshot,
        occurred_at=occurred_at,
        memo=memo,
        reverses=None,
    )


def reverse(
    *,
    original: LedgerTransaction,
    idempotency_ref: str,
    memo: str = "",
    occurred_at: dt.datetime | None = None,
    snapshot: dict[str, Any] | None = None,
) -> LedgerTransaction:
    """Cancel ``original`` with a mirror transaction (each entry on the other side).

    A transaction is reversed at most once (a second reversal raises ``Conflict``; the same
    reference again returns the first reversal). A reversal itself cannot be reversed: to put
    the effect back, post it again under a new reference, so that "reversed" always means "not
    in effect". Limits apply to reversals too.
    """
    if original.reverses_id is not None:
        raise Conflict(_("Сторнирующую проводку нельзя сторнировать: проведите операцию заново."))
    if occurred_at is not None and occurred_at < original.occurred_at:
        raise InvalidEntry(_("Сторно не может быть датировано раньше исходной проводки."))
    mirror = [
        _Entry(account=entry.account, side=_opposite(entry.side), amount=entry.amount)
        for entry in original.entries.select_related("account").order_by("id")
    ]
    return _write(
        kind=original.kind,
        entries=mirror,
        idempotency_ref=idempotency_ref,
        cause=(original.cause_type, original.cause_id),
        snapshot=snapshot if snapshot is not None else {"reverses": original.idempotency_ref},
        occurred_at=occurred_at,
        memo=memo,
        reverses=original,
    )


@dataclass(frozen=True)
class Posting:
    """One transaction for ``post_many``: the arguments of ``post``."""

    kind: str
    lines: Sequence[Line]
    idempotency_ref: str
    cause: tuple[str, str | int] | None = None
    snapshot: dict[str, Any] | None = None
    occurred_at: dt.datetime | None = None
    memo: str = ""


def post_many(postings: Sequence[Posting]) -> set[str]:
    """Post many transactions at once (bulk inserts, one balance move per account).

    For producers that post thousands of small transactions in one go (the referral engine's
    accruals). Same rules as ``post``: balanced, positive, limits enforced (a breach rolls the
    whole batch back); a reference already posted is skipped when its content is the same and
    raises ``Conflict`` when it differs. Returns the references written now.
    """
    if not postings:
        return set()
    moment = now()
    checked = [(p, _validated(p.lines)) for p in postings]
    refs = [p.idempotency_ref for p in postings]
    if len(set(refs)) != len(refs):
        raise InvalidEntry(_("В пакете проводок повторяется ключ идемпотентности."))
    existing = {
        tx.idempotency_ref: tx
        for chunk in _chunks(refs, 500)
        for tx in LedgerTransaction.objects.filter(idempotency_ref__in=chunk)
    }
    fresh: list[tuple[Posting, list[_Entry]]] = []
    for posting, entries in checked:
        found = existing.get(posting.idempotency_ref)
        if found is None:
            fresh.append((posting, entries))
            continue
        cause = posting.cause
        _ensure_same(
            found,
            kind=posting.kind,
            cause=(cause[0], str(cause[1])) if cause is not None else ("", ""),
            entries=entries,
            reverses=None,
        )
    if not fresh:
        return set()
    for posting, _entries in fresh:
        if posting.occurred_at is not None and posting.occurred_at > moment:
            raise InvalidEntry(_("Дата операции не может быть в будущем."))
    with transaction.atomic():
        rows = LedgerTransaction.objects.bulk_create(
            [
                LedgerTransaction(
                    idempotency_ref=p.idempotency_ref,
                    kind=p.kind,
                    cause_type=p.cause[0] if p.cause is not None else "",
                    cause_id=str(p.cause[1]) if p.cause is not None else "",
                    snapshot=p.snapshot or {},
                    occurred_at=p.occurred_at or moment,
                    posted_at=moment,
                    memo=p.memo,
                )
                for p, _entries in fresh
            ],
            batch_size=500,
        )
        if any(row.pk is None for row in rows):  # pragma: no cover - both databases return ids
            raise RuntimeError("bulk_create returned no primary keys")
        LedgerEntry.objects.bulk_create(
            [
                LedgerEntry(transaction=row, account=e.account, amount=e.amount, side=e.side)
                for row, (_posting, entries) in zip(rows, fresh, strict=True)
                for e in entries
            ],
            batch_size=500,
        )
        _move_balances([e for _posting, entries in fresh for e in entries])
    return {posting.idempotency_ref for posting, _entries in fresh}


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _write(
    *,
    kind: str,
    entries: list[_Entry],
    idempotency_ref: str,
    cause: tuple[str, str | int] | None,
    snapshot: dict[str, Any] | None,
    occurred_at: dt.datetime | None,
    memo: str,
    reverses: LedgerTransaction | None,
) -> LedgerTransaction:
    """Insert first; the unique reference (and the one-to-one ``reverses``) decide replays."""
    moment = now()
    if occurred_at is not None and occurred_at > moment:
        raise InvalidEntry(_("Дата операции не может быть в будущем."))
    cause_type, cause_id = (cause[0], str(cause[1])) if cause is not None else ("", "")
    try:
        with transaction.atomic():
            posted = LedgerTransaction.objects.create(
                idempotency_ref=idempotency_ref,
                kind=kind,
                cause_type=cause_type,
                cause_id=cause_id,
                snapshot=snapshot or {},
                occurred_at=occurred_at or moment,
                posted_at=moment,
                reverses=reverses,
                memo=memo,
            )
            LedgerEntry.objects.bulk_create(
                LedgerEntry(transaction=posted, account=e.account, amount=e.amount, side=e.side)
                for e in entries
            )
            _move_balances(entries)
    except IntegrityError:
        existing = LedgerTransaction.objects.filter(idempotency_ref=idempotency_ref).first()
        if existing is None:
            if (
                reverses is not None
                and LedgerTransaction.objects.filter(reverses=reverses).exists()
            ):
                raise Conflict(
                    _("Проводка %(ref)s уже сторнирована.") % {"ref": reverses.idempotency_ref}
                ) from None
            raise
        _ensure_same(
            existing, kind=kind, cause=(cause_type, cause_id), entries=entries, reverses=reverses
        )
        return existing
    return posted


def _move_balances(entries: list[_Entry]) -> None:
    """Move each account's cached balance by its net amount, in account order (no deadlocks
    between postings that touch the same accounts). Where a limit lies in the direction of the
    move, the UPDATE is conditional and 0 rows means the limit would be passed.

    Plain SQL rather than the ORM's ``update()``: building the expression tree cost more than
    the statement itself (this runs twice a posting); ``_move_sql`` is the whole of it."""
    deltas: dict[int, Decimal] = {}
    accounts: dict[int, LedgerAccount] = {}
    for entry in entries:
        deltas[entry.account.pk] = deltas.get(entry.account.pk, ZERO) + entry.signed
        accounts[entry.account.pk] = entry.account
    with connection.cursor() as cursor:
        for account_id in sorted(deltas):
            delta = deltas[account_id]
            if delta == 0:
                continue
            cursor.execute(_move_sql(down=delta < 0), [delta, account_id, delta])
            if cursor.rowcount == 0:
                raise LimitExceeded(
                    _("Операция выводит счёт «%(account)s» за установленный лимит остатка.")
                    % {"account": accounts[account_id].name or accounts[account_id]}
                )


def _move_sql(*, down: bool) -> str:
    """``UPDATE ... SET balance = ROUND(balance + delta, 2) WHERE id = ...`` with the limit on
    the side the balance moves to. ROUND keeps SQLite's floating-point balance at the double
    nearest to whole kopecks, so that comparisons with the limits are exact there too."""
    table = connection.ops.quote_name(LedgerAccount._meta.db_table)
    moved = f"ROUND(balance + CAST(%s AS NUMERIC), {AMOUNT_PLACES})"
    limit = (
        "min_balance IS NULL OR min_balance <=" if down else "max_balance IS NULL OR max_balance >="
    )
    return f"UPDATE {table} SET balance = {moved} WHERE id = %s AND ({limit} {moved})"  # noqa: S608


def _ensure_same(
    existing: LedgerTransaction,
    *,
    kind: str,
    cause: tuple[str, str],
    entries: list[_Entry],
    reverses: LedgerTransaction | None,
) -> None:
    stored = Counter(
        (account_id, side, amount)
        for account_id, side, amount in existing.entries.values_list("account_id", "side", "amount")
    )
    same = (
        existing.kind == kind
        and (existing.cause_type, existing.cause_id) == cause
        and existing.reverses_id == (reverses.pk if reverses is not None else None)
        and stored == Counter(entry.key() for entry in entries)
    )
    if not same:
        raise Conflict(
            _("Ключ %(ref)s уже использован для другой проводки.")
            % {"ref": existing.idempotency_ref}
        )


def _validated(lines: Sequence[Line]) -> list[_Entry]:
    """Entries of the lines, or the first problem: amounts, currencies, balance."""
    entries: list[_Entry] = []
    for number, line in enumerate(lines, start=1):
        if line.account.pk is None:
            raise ValueError("ledger lines need saved accounts")
        if (line.debit is None) == (line.credit is None):
            raise InvalidEntry(
                _("Строка %(line)s: укажите сумму либо по дебету, либо по кредиту.")
                % {"line": number}
            )
        if line.debit is not None:
            entries.append(_Entry(line.account, Side.DEBIT, _amount(line.debit, line=number)))
        elif line.credit is not None:
            entries.append(_Entry(line.account, Side.CREDIT, _amount(line.credit, line=number)))
    currencies = {entry.account.currency for entry in entries}
    if len(currencies) > 1:
        raise CurrencyMismatch(
            _("В одной проводке все счета должны быть в одной валюте, а здесь: %(currencies)s.")
            % {"currencies": ", ".join(sorted(currencies))}
        )
    debit = sum((e.amount for e in entries if e.side == Side.DEBIT), ZERO)
    credit = sum((e.amount for e in entries if e.side == Side.CREDIT), ZERO)
    if debit != credit or len(entries) < 2:
        raise UnbalancedTransaction(
            _("Проводка не сбалансирована: дебет %(debit)s, кредит %(credit)s.")
            % {"debit": debit, "credit": credit}
        )
    return entries


def _amount(value: object, *, line: int) -> Decimal:
    """A positive Decimal with at most two places; a float (or int) here is a bug."""
    if not isinstance(value, Decimal):
        raise TypeError(f"ledger amounts are Decimal, got {type(value).__name__} (line {line})")
    if not value.is_finite() or value >= AMOUNT_CEILING or value <= 0:
        raise InvalidEntry(
            _("Строка %(line)s: сумма должна быть положительным числом меньше 10¹⁶.")
            % {"line": line}
        )
    if value != value.quantize(CENT):
        raise InvalidEntry(
            _("Строка %(line)s: в сумме не больше двух знаков после запятой.") % {"line": line}
        )
    return value.quantize(CENT)


def _opposite(side: str) -> str:
    return Side.CREDIT if side == Side.DEBIT else Side.DEBIT


# --- reading ----------------------------------------------------------------------------------


def _signed(prefix: str = "") -> Case:
    """An entry's amount signed by its side: debit +, credit −."""
    return Case(
        When(**{f"{prefix}side": Side.DEBIT}, then=F(f"{prefix}amount")),
        default=-F(f"{prefix}amount"),
        output_field=_SUM_FIELD,
    )


def _total(entries: QuerySet[LedgerEntry]) -> Decimal:
    zero = Value(ZERO, output_field=_SUM_FIELD)
    total = entries.aggregate(total=Round(Coalesce(Sum(_signed()), zero), AMOUNT_PLACES))["total"]
    return Decimal(total).quantize(CENT)


def balance(account: LedgerAccount, *, at: dt.datetime | None = None) -> Decimal:
    """The signed balance (debits − credits) from the entries of transactions that occurred at
    or before ``at``; with no ``at``, of all of them (equal to the cached ``account.balance``)."""
    entries = LedgerEntry.objects.filter(account=account)
    if at is not None:
        entries = entries.filter(transaction__occurred_at__lte=at)
    return _total(entries)


@dataclass(frozen=True)
class Balance:
    """An account's balance: ``signed`` (debits − credits) and ``normal`` (positive when on the
    account's normal side, as a partner would read it)."""

    account_id: int
    name: str
    signed: Decimal
    normal: Decimal


def balances(organisation_id: int | None) -> dict[tuple[str, str], Balance]:
    """The organisation's (None: the vendor's) accounts by (purpose, currency), cached balances."""
    result: dict[tuple[str, str], Balance] = {}
    for account in LedgerAccount.objects.filter(organisation_id=organisation_id):
        signed = Decimal(account.balance).quantize(CENT)
        normal = signed if account.normal_side == Side.DEBIT else -signed
        result[(account.purpose, account.currency)] = Balance(
            account_id=account.pk, name=account.name, signed=signed, normal=normal
        )
    return result


@dataclass(frozen=True)
class StatementLine:
    """One entry of a statement with the signed running balance after it."""

    transaction_id: int
    occurred_at: dt.datetime
    kind: str
    memo: str
    side: str
    amount: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Statement:
    """Entries of an account between two moments (both inclusive) with running balances."""

    account: LedgerAccount
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def statement(account: LedgerAccount, *, since: dt.datetime, until: dt.datetime) -> Statement:
    """The account's statement: opening balance before ``since``, each entry up to ``until`` in
    business-time order, closing balance (equal to ``balance(account, at=until)``). 2 queries."""
    mine = LedgerEntry.objects.filter(account=account)
    opening = _total(mine.filter(transaction__occurred_at__lt=since))
    running = opening
    lines: list[StatementLine] = []
    window = mine.filter(transaction__occurred_at__gte=since, transaction__occurred_at__lte=until)
    for entry in window.select_related("transaction").order_by(
        "transaction__occurred_at", "transaction_id", "id"
    ):
        amount = Decimal(entry.amount).quantize(CENT)
        running += amount if entry.side == Side.DEBIT else -amount
        lines.append(
            StatementLine(
                transaction_id=entry.transaction_id,
                occurred_at=entry.transaction.occurred_at,
                kind=entry.transaction.kind,
                memo=entry.transaction.memo,
                side=entry.side,
                amount=amount,
                balance=running,
            )
        )
    return Statement(account=account, opening=opening, lines=lines, closing=running)


# --- invariants -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Breach:
    """One broken ledger invariant: a stable code and a line for the operator."""

    code: str
    detail: str

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


def check_invariants() -> list[Breach]:
    """Every invariant of the ledger, each checked by one query over the whole table."""
    return [
        *_too_few_entries(),
        *_unbalanced_or_mixed(),
        *_bad_amounts(),
        *_stale_cached_balances(),
        *_reversals_not_mirrored(),
        *_reversed_twice(),
        *_limits_passed(),
    ]


def _too_few_entries() -> list[Breach]:
    rows = LedgerTransaction.objects.annotate(n=Count("entries")).filter(n__lt=2)
    return [
        Breach("too_few_entries", f"transaction #{pk} has {n} entries (at least 2)")
        for pk, n in rows.values_list("pk", "n")
    ]


def _unbalanced_or_mixed() -> list[Breach]:
    rows = (
        LedgerEntry.objects.values("transaction_id")
        .annotate(
            net=Round(Sum(_signed()), AMOUNT_PLACES),
            currencies=Count("account__currency", distinct=True),
        )
        .filter(~Q(net=0) | Q(currencies__gt=1))
        .order_by("transaction_id")
    )
    breaches: list[Breach] = []
    for row in rows:
        if row["net"] != 0:
            breaches.append(
                Breach(
                    "unbalanced",
                    f"transaction #{row['transaction_id']}: debit − credit = "
                    f"{Decimal(row['net']).quantize(CENT)}",
                )
            )
        if row["currencies"] > 1:
            breaches.append(
                Breach(
                    "mixed_currencies",
                    f"transaction #{row['transaction_id']} mixes {row['currencies']} currencies",
                )
            )
    return breaches


def _bad_amounts() -> list[Breach]:
    rows = LedgerEntry.objects.filter(
        Q(amount__lte=0) | ~Q(amount=Round("amount", AMOUNT_PLACES)) | ~Q(side__in=Side.values)
    )
    return [
        Breach("bad_amount", f"entry #{pk} of transaction #{tx}: {side} {amount}")
        for pk, tx, side, amount in rows.values_list("pk", "transaction_id", "side", "amount")
    ]


def _stale_cached_balances() -> list[Breach]:
    zero = Value(ZERO, output_field=_SUM_FIELD)
    rows = (
        LedgerAccount.objects.annotate(total=Coalesce(Sum(_signed("entries__")), zero))
        .annotate(diff=Round(F("balance") - F("total"), AMOUNT_PLACES))
        .exclude(diff=0)
        .order_by("pk")
    )
    return [
        Breach(
            "stale_balance",
            f"account #{pk} {account}: cached {Decimal(cached):.2f}, entries {Decimal(total):.2f}",
        )
        for pk, account, cached, total in ((a.pk, str(a), a.balance, a.total) for a in rows)
    ]


def _reversals_not_mirrored() -> list[Breach]:
    """Entries of a reversal and of its original, netted per account, must cancel out."""
    rows = (
        LedgerEntry.objects.filter(
            Q(transaction__reverses__isnull=False) | Q(transaction__reversed_by__isnull=False)
        )
        .annotate(pair=Coalesce("transaction__reversed_by__id", "transaction_id"))
        .values("pair", "account_id")
        .annotate(net=Round(Sum(_signed()), AMOUNT_PLACES))
        .exclude(net=0)
        .order_by("pair", "account_id")
    )
    return [
        Breach(
            "reversal_not_mirrored",
            f"reversal #{row['pair']} leaves "
            f"{Decimal(row['net']).quantize(CENT)} on account #{row['account_id']}",
        )
        for row in rows
    ]


def _reversed_twice() -> list[Breach]:
    twice = (
        LedgerTransaction.objects.filter(reverses__isnull=False)
        .values("reverses_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    chained = LedgerTransaction.objects.filter(reverses__reverses__isnull=False)
    return [
        *(
            Breach(
                "reversed_twice", f"transaction #{row['reverses_id']} is reversed {row['n']} times"
            )
            for row in twice
        ),
        *(
            Breach("reversal_reversed", f"transaction #{pk} reverses a reversal")
            for pk in chained.values_list("pk", flat=True)
        ),
    ]


def _limits_passed() -> list[Breach]:
    rows = LedgerAccount.objects.filter(
        Q(min_balance__isnull=False, balance__lt=F("min_balance"))
        | Q(max_balance__isnull=False, balance__gt=F("max_balance"))
    ).order_by("pk")
    return [
        Breach(
            "limit_passed",
            f"account #{a.pk} {a}: balance {a.balance} outside [{a.min_balance}, {a.max_balance}]",
        )
        for a in rows
    ]


def ledger_counts() -> tuple[int, int, int]:
    """(transactions, entries, accounts)."""
    return (
        LedgerTransaction.objects.count(),
        LedgerEntry.objects.count(),
        LedgerAccount.objects.count(),
    )


# --- database triggers ------------------------------------------------------------------------

_PG_FUNCTION = "core_ledger_append_only"


def _append_only_tables() -> tuple[str, ...]:
    return (LedgerTransaction._meta.db_table, LedgerEntry._meta.db_table)


def immutability_sql(vendor: str) -> list[str]:
    """CREATE statements of the triggers that refuse UPDATE and DELETE of ledger transactions
    and entries, for ``vendor`` "postgresql" or "sqlite". Both raise an integrity error.

    TRUNCATE is not refused (it needs the table owner, who could drop the trigger anyway, and
    the test runner empties tables with it on PostgreSQL).
    """
    tables = _append_only_tables()
    if vendor == "postgresql":
        function = (
            f"CREATE OR REPLACE FUNCTION {_PG_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            "BEGIN\n"
            "  RAISE EXCEPTION USING ERRCODE = 'integrity_constraint_violation',\n"
            "    MESSAGE = 'ledger rows are append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME"
            " || ' refused';\n"
            "END\n$$"
        )
        return [function] + [
            f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {_PG_FUNCTION}()"
            for table in tables
        ]
    if vendor == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'ledger rows are append-only: {op} on {table} refused'); "
            "END"
            for table in tables
            for op in ("UPDATE", "DELETE")
        ]
    raise ValueError(f"no ledger triggers for database vendor {vendor!r}")


def drop_immutability_sql(vendor: str) -> list[str]:
    """DROP statements undoing ``immutability_sql(vendor)`` (the migration's reverse)."""
    tables = _append_only_tables()
    if vendor == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in tables] + [
            f"DROP FUNCTION IF EXISTS {_PG_FUNCTION}()"
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_{op}"
            for table in tables
            for op in ("update", "delete")
        ]
    raise ValueError(f"no ledger triggers for database vendor {vendor!r}")


def install_immutability_triggers(target: BaseDatabaseSchemaEditor | BaseDatabaseWrapper) -> None:
    """Create the triggers through a migration's schema editor or on a connection."""
    _execute(target, immutability_sql(_vendor(target)))


def uninstall_immutability_triggers(
    target: BaseDatabaseSchemaEditor | BaseDatabaseWrapper,
) -> None:
    """Drop the triggers (reverse migration)."""
    _execute(target, drop_immutability_sql(_vendor(target)))


def _vendor(target: BaseDatabaseSchemaEditor | BaseDatabaseWrapper) -> str:
    if isinstance(target, BaseDatabaseSchemaEditor):
        return str(target.connection.vendor)
    return str(target.vendor)


def _execute(target: BaseDatabaseSchemaEditor | BaseDatabaseWrapper, statements: list[str]) -> None:
    if isinstance(target, BaseDatabaseSchemaEditor):
        for sql in statements:
            target.execute(sql, params=None)
        return
    with target.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
