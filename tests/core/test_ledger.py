"""Tests for partnerhub.core.ledger: the "Ledger" issue and house rules 6 and 8.

Postings balance or are refused with nothing stored; idempotency by the unique reference;
reversals point to their original and happen once; balances at a moment come from the entries;
rows cannot be changed through the ORM nor, with the triggers installed, by raw SQL; limits hold
under 20 real concurrent withdrawals; ``partnerhub ledger check`` passes on good data and exits 1
on corrupted data; and a hypothesis state machine checks that after any sequence of postings,
replays and reversals every cached balance equals the sum of the entries and the table balances.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import subprocess
import sys
import threading
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Sum, When
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from partnerhub.core.errors import Conflict
from partnerhub.core.ledger import (
    AppendOnlyViolation,
    CurrencyMismatch,
    InvalidEntry,
    LimitExceeded,
    Line,
    UnbalancedTransaction,
    account_get_or_create,
    account_set_limits,
    balance,
    balances,
    check_invariants,
    install_immutability_triggers,
    post,
    reverse,
    statement,
    uninstall_immutability_triggers,
)
from partnerhub.core.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction

D = Decimal
ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def bonus_accounts(org: int = 1) -> tuple[LedgerAccount, LedgerAccount]:
    """The vendor's bonus expense (debit-normal) and a partner's bonus balance (credit-normal)."""
    expense = account_get_or_create(
        organisation_id=None, purpose="vendor_expense", normal_side="debit"
    )
    bonus = account_get_or_create(organisation_id=org, purpose="bonus_rub", normal_side="credit")
    return expense, bonus


def accrue(amount: str, ref: str, *, org: int = 1, **kwargs) -> LedgerTransaction:
    expense, bonus = bonus_accounts(org)
    return post(
        kind="bonus_accrual",
        lines=[Line(expense, debit=D(amount)), Line(bonus, credit=D(amount))],
        idempotency_ref=ref,
        **kwargs,
    )


def cached(account: LedgerAccount) -> Decimal:
    account.refresh_from_db()
    return D(account.balance).quantize(D("0.01"))


def whole_table_net() -> Decimal:
    signed = Case(When(side="debit", then=F("amount")), default=-F("amount"))
    return D(LedgerEntry.objects.aggregate(net=Sum(signed))["net"] or 0).quantize(D("0.01"))


# --- posting --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_balanced_posting_stores_its_entries_and_moves_both_balances():
    expense, bonus = bonus_accounts()

    posted = post(
        kind="bonus_accrual",
        lines=[Line(expense, debit=D("1234.50")), Line(bonus, credit=D("1234.50"))],
        idempotency_ref="accrual:1",
        cause=("referrals.payout", 42),
        snapshot={"rule": "10% of paid invoices", "rate": D("0.10")},
        memo="Бонус за март",
    )

    assert sorted(posted.entries.values_list("side", "amount")) == [
        ("credit", D("1234.50")),
        ("debit", D("1234.50")),
    ]
    assert (posted.kind, posted.cause_type, posted.cause_id) == (
        "bonus_accrual",
        "referrals.payout",
        "42",
    )
    assert LedgerTransaction.objects.get().snapshot == {
        "rule": "10% of paid invoices",
        "rate": "0.10",
    }
    assert cached(expense) == D("1234.50")
    assert cached(bonus) == D("-1234.50")


@pytest.mark.django_db
def test_an_unbalanced_posting_is_refused_and_nothing_is_stored():
    expense, bonus = bonus_accounts()

    with pytest.raises(UnbalancedTransaction, match=r"дебет 100\.00, кредит 99\.99"):
        post(
            kind="bonus_accrual",
            lines=[Line(expense, debit=D("100.00")), Line(bonus, credit=D("99.99"))],
            idempotency_ref="accrual:1",
        )

    assert LedgerTransaction.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert (cached(expense), cached(bonus)) == (D("0.00"), D("0.00"))


@pytest.mark.django_db
def test_a_single_line_is_refused_as_unbalanced():
    expense, _bonus = bonus_accounts()

    with pytest.raises(UnbalancedTransaction):
        post(kind="bonus_accrual", lines=[Line(expense, debit=D("5.00"))], idempotency_ref="x")

    assert LedgerTransaction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("debit", "credit"),
    [
        pytest.param(None, None, id="neither side"),
        pytest.param(D("10.00"), D("10.00"), id="both sides"),
        pytest.param(D("0.00"), None, id="zero"),
        pytest.param(D("-10.00"), None, id="negative"),
        pytest.param(D("10.005"), None, id="three decimals"),
        pytest.param(D("NaN"), None, id="not a number"),
        pytest.param(D("1E16"), None, id="too large"),
    ],
)
def test_a_line_without_one_positive_amount_in_kopecks_is_refused(debit, credit):
    expense, bonus = bonus_accounts()

    with pytest.raises(InvalidEntry, match="Строка 1"):
        post(
            kind="bonus_accrual",
            lines=[Line(expense, debit=debit, credit=credit), Line(bonus, credit=D("10.00"))],
            idempotency_ref="accrual:1",
        )

    assert LedgerTransaction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [10.0, 10], ids=["float", "int"])
def test_an_amount_that_is_not_a_decimal_is_a_programming_error(amount):
    expense, bonus = bonus_accounts()

    with pytest.raises(TypeError, match="Decimal"):
        post(
            kind="bonus_accrual",
            lines=[Line(expense, debit=amount), Line(bonus, credit=D("10.00"))],
            idempotency_ref="accrual:1",
        )


@pytest.mark.django_db
def test_a_posting_that_mixes_currencies_is_refused():
    expense, _bonus = bonus_accounts()
    points = account_get_or_create(
        organisation_id=1, purpose="bonus_points", currency="PTS", normal_side="credit"
    )

    with pytest.raises(CurrencyMismatch, match="PTS, RUB"):
        post(
            kind="bonus_accrual",
            lines=[Line(expense, debit=D("10.00")), Line(points, credit=D("10.00"))],
            idempotency_ref="accrual:1",
        )


@pytest.mark.django_db
def test_a_posting_dated_in_the_future_is_refused():
    with time_machine.travel(T0, tick=False), pytest.raises(InvalidEntry, match="будущем"):
        accrue("10.00", "accrual:1", occurred_at=T0 + dt.timedelta(seconds=1))


# --- idempotency ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_same_reference_with_the_same_lines_returns_the_first_transaction():
    first = accrue("500.00", "accrual:7", cause=("referrals.payout", "7"))

    again = accrue("500.00", "accrual:7", cause=("referrals.payout", "7"), memo="повтор")

    _expense, bonus = bonus_accounts()
    assert again.pk == first.pk
    assert LedgerTransaction.objects.count() == 1
    assert cached(bonus) == D("-500.00")


@pytest.mark.django_db
def test_the_same_reference_with_other_lines_is_a_conflict():
    accrue("500.00", "accrual:7")

    with pytest.raises(Conflict, match="accrual:7"):
        accrue("600.00", "accrual:7")

    _expense, bonus = bonus_accounts()
    assert cached(bonus) == D("-500.00")


@pytest.mark.django_db
def test_the_same_reference_for_another_cause_is_a_conflict():
    accrue("500.00", "accrual:7", cause=("referrals.payout", "7"))

    with pytest.raises(Conflict):
        accrue("500.00", "accrual:7", cause=("referrals.payout", "8"))


# --- reversals ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reversal_restores_the_balances_and_points_to_its_original():
    original = accrue("300.00", "accrual:1", cause=("referrals.payout", "1"))
    accrue("200.00", "accrual:2")

    reversal = reverse(original=original, idempotency_ref="storno:1", memo="ошибка в ставке")

    expense, bonus = bonus_accounts()
    assert reversal.reverses_id == original.pk
    assert original.reversed_by == reversal
    assert (reversal.kind, reversal.cause_id) == ("bonus_accrual", "1")
    assert sorted(reversal.entries.values_list("account_id", "side", "amount")) == sorted(
        [(expense.pk, "credit", D("300.00")), (bonus.pk, "debit", D("300.00"))]
    )
    assert (cached(expense), cached(bonus)) == (D("200.00"), D("-200.00"))


@pytest.mark.django_db
def test_a_second_reversal_of_the_same_transaction_is_a_conflict():
    original = accrue("300.00", "accrual:1")
    reverse(original=original, idempotency_ref="storno:1")

    with pytest.raises(Conflict, match="уже сторнирована"):
        reverse(original=original, idempotency_ref="storno:2")

    _expense, bonus = bonus_accounts()
    assert cached(bonus) == D("0.00")


@pytest.mark.django_db
def test_replaying_a_reversal_returns_the_first_reversal():
    original = accrue("300.00", "accrual:1")
    first = reverse(original=original, idempotency_ref="storno:1")

    again = reverse(original=original, idempotency_ref="storno:1")

    assert again.pk == first.pk
    assert LedgerTransaction.objects.count() == 2


@pytest.mark.django_db
def test_a_reversal_cannot_be_reversed():
    reversal = reverse(original=accrue("300.00", "accrual:1"), idempotency_ref="storno:1")

    with pytest.raises(Conflict, match="Сторнирующую"):
        reverse(original=reversal, idempotency_ref="storno:storno:1")


# --- balances at a moment, statements -------------------------------------------------------


@pytest.mark.django_db
def test_the_balance_at_a_moment_counts_only_transactions_that_occurred_by_then():
    t1, t2 = T0, T0 + dt.timedelta(days=10)
    with time_machine.travel(t2 + dt.timedelta(days=1), tick=False):
        accrue("100.00", "accrual:1", occurred_at=t1)
        accrue("250.00", "accrual:2", occurred_at=t2)
    _expense, bonus = bonus_accounts()

    assert balance(bonus, at=t1 - dt.timedelta(seconds=1)) == D("0.00")
    assert balance(bonus, at=t1) == D("-100.00")
    assert balance(bonus, at=t1 + dt.timedelta(days=5)) == D("-100.00")
    assert balance(bonus, at=t2) == D("-350.00")
    assert balance(bonus) == cached(bonus) == D("-350.00")


@pytest.mark.django_db
def test_a_statement_gives_opening_running_and_closing_balances():
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        accrue("100.00", "accrual:1", occurred_at=T0)
        second = accrue("250.00", "accrual:2", occurred_at=T0 + dt.timedelta(days=10))
        reverse(original=second, idempotency_ref="storno:2", occurred_at=T0 + dt.timedelta(days=12))
        accrue("40.00", "accrual:3", occurred_at=T0 + dt.timedelta(days=20))
    _expense, bonus = bonus_accounts()

    result = statement(bonus, since=T0 + dt.timedelta(days=1), until=T0 + dt.timedelta(days=15))

    assert result.opening == D("-100.00")
    assert [(line.side, line.amount, line.balance) for line in result.lines] == [
        ("credit", D("250.00"), D("-350.00")),
        ("debit", D("250.00"), D("-100.00")),
    ]
    assert result.closing == balance(bonus, at=T0 + dt.timedelta(days=15)) == D("-100.00")


@pytest.mark.django_db
def test_balances_of_an_organisation_read_positive_on_the_normal_side():
    accrue("70.00", "accrual:1", org=5)
    accrue("10.00", "accrual:2", org=6)

    result = balances(5)

    assert list(result) == [("bonus_rub", "RUB")]
    assert (result["bonus_rub", "RUB"].signed, result["bonus_rub", "RUB"].normal) == (
        D("-70.00"),
        D("70.00"),
    )


# --- immutability ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_orm_refuses_to_change_or_delete_ledger_rows():
    posted = accrue("100.00", "accrual:1")
    entry = posted.entries.first()
    posted.memo = "исправлено"
    entry.amount = D("1.00")

    for attempt in (
        posted.save,
        posted.delete,
        entry.save,
        entry.delete,
        lambda: LedgerTransaction.objects.filter(pk=posted.pk).update(memo="x"),
        lambda: LedgerEntry.objects.all().delete(),
        lambda: LedgerEntry.objects.bulk_update([entry], ["amount"]),
    ):
        with pytest.raises(AppendOnlyViolation), transaction.atomic():
            attempt()

    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [D("100.00")] * 2
    assert LedgerTransaction.objects.get().memo == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_ledgerentry SET amount = amount + 1",
        "DELETE FROM core_ledgerentry",
        "UPDATE core_ledgertransaction SET memo = 'x'",
        "DELETE FROM core_ledgertransaction",
    ],
)
def test_the_database_triggers_refuse_raw_updates_and_deletes(sql):
    accrue("100.00", "accrual:1")
    install_immutability_triggers(connection)  # rolled back with the test (transactional DDL)

    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)

    assert LedgerTransaction.objects.count() == 1
    assert sorted(LedgerEntry.objects.values_list("amount", flat=True)) == [D("100.00")] * 2


@pytest.mark.django_db
def test_the_triggers_still_let_new_rows_in():
    install_immutability_triggers(connection)

    accrue("100.00", "accrual:1")

    assert LedgerEntry.objects.count() == 2


# --- limits and concurrency -----------------------------------------------------------------


def wallet_and_payouts(*, funded: str) -> tuple[LedgerAccount, LedgerAccount]:
    """A partner's advance wallet (debit-normal, never below zero) funded with ``funded``."""
    wallet = account_get_or_create(
        organisation_id=1, purpose="client_advances", normal_side="debit"
    )
    account_set_limits(account=wallet, min_balance=D("0.00"), max_balance=None)
    payouts = account_get_or_create(organisation_id=None, purpose="payouts", normal_side="credit")
    post(
        kind="advance",
        lines=[Line(wallet, debit=D(funded)), Line(payouts, credit=D(funded))],
        idempotency_ref="advance:1",
    )
    return wallet, payouts


def withdraw(wallet: LedgerAccount, payouts: LedgerAccount, amount: str, ref: str):
    return post(
        kind="withdrawal",
        lines=[Line(payouts, debit=D(amount)), Line(wallet, credit=D(amount))],
        idempotency_ref=ref,
    )


@pytest.mark.django_db
def test_a_posting_past_a_limit_is_refused_and_rolled_back_whole():
    wallet, payouts = wallet_and_payouts(funded="100.00")

    with pytest.raises(LimitExceeded) as refused:
        withdraw(wallet, payouts, "100.01", "withdrawal:1")

    assert refused.value.code == "limit_exceeded"
    assert (cached(wallet), cached(payouts)) == (D("100.00"), D("-100.00"))
    assert not LedgerTransaction.objects.filter(idempotency_ref="withdrawal:1").exists()


@pytest.mark.django_db
def test_a_limit_holds_to_the_kopeck_on_floating_point_storage():
    # SQLite keeps decimals as doubles: 0.70 − 0.40 is 0.29999999999999993 there, and a
    # withdrawal of 0.30 from it must still reach exactly 0.00, not be refused.
    wallet, payouts = wallet_and_payouts(funded="0.70")
    withdraw(wallet, payouts, "0.40", "withdrawal:1")

    withdraw(wallet, payouts, "0.30", "withdrawal:2")

    assert cached(wallet) == balance(wallet) == D("0.00")
    with pytest.raises(LimitExceeded):
        withdraw(wallet, payouts, "0.01", "withdrawal:3")


@pytest.mark.django_db
def test_a_limit_cannot_be_set_below_the_current_balance():
    wallet, _payouts = wallet_and_payouts(funded="100.00")

    with pytest.raises(LimitExceeded):
        account_set_limits(account=wallet, min_balance=D("0.00"), max_balance=D("99.99"))

    assert LedgerAccount.objects.get(pk=wallet.pk).max_balance is None


def run_in_threads(count: int, work) -> list[str]:
    """Run ``work(n)`` in ``count`` threads released together; each outcome as a string."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        try:
            barrier.wait()
            outcome = work(n)
        except Exception as exc:  # the outcome is what the test compares
            outcome = type(exc).__name__
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_withdrawals_of_100_from_1000_let_exactly_ten_through(ledger_committed):
    wallet, payouts = wallet_and_payouts(funded="1000.00")

    outcomes = run_in_threads(
        20, lambda n: withdraw(wallet, payouts, "100.00", f"withdrawal:{n}") and "posted"
    )

    assert sorted(outcomes) == ["LimitExceeded"] * 10 + ["posted"] * 10
    assert cached(wallet) == balance(wallet) == D("0.00")
    running = [
        line.balance
        for line in statement(wallet, since=EPOCH, until=EPOCH.replace(year=2100)).lines
    ]
    assert len(running) == 11
    assert min(running) == D("0.00")
    assert check_invariants() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_use_of_an_account_opens_it_once(ledger_committed):
    outcomes = run_in_threads(
        8,
        lambda n: str(
            account_get_or_create(
                organisation_id=9, purpose="bonus_points", currency="PTS", normal_side="credit"
            ).pk
        ),
    )

    assert len(set(outcomes)) == 1
    assert LedgerAccount.objects.filter(organisation_id=9).count() == 1


# --- ledger check ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_ledger_check_passes_on_good_data():
    reverse(original=accrue("300.00", "accrual:1"), idempotency_ref="storno:1")
    accrue("0.10", "accrual:2")
    accrue("0.20", "accrual:3")
    out = StringIO()

    call_command("ledger", "check", stdout=out)

    assert out.getvalue() == "ledger OK: 4 transactions, 8 entries, 2 accounts\n"


BONUS = "WHERE purpose = 'bonus_rub'"
FIRST_TX = "transaction_id = (SELECT min(id) FROM core_ledgertransaction)"
LAST_TX = "transaction_id = (SELECT max(id) FROM core_ledgertransaction)"
CORRUPTIONS = {
    "stale_balance": f"UPDATE core_ledgeraccount SET balance = balance + 1 {BONUS}",
    "unbalanced": "UPDATE core_ledgerentry SET amount = 299.99 "
    f"WHERE side = 'credit' AND {FIRST_TX}",
    "reversal_not_mirrored": "UPDATE core_ledgerentry SET account_id = {other} "
    f"WHERE side = 'debit' AND {LAST_TX}",
    "limit_passed": f"UPDATE core_ledgeraccount SET max_balance = -301 {BONUS}",
    "mixed_currencies": f"UPDATE core_ledgeraccount SET currency = 'PTS' {BONUS}",
    "too_few_entries": f"DELETE FROM core_ledgerentry WHERE side = 'debit' AND {FIRST_TX}",
}


@pytest.mark.django_db
@pytest.mark.parametrize("breach", list(CORRUPTIONS))
def test_ledger_check_reports_a_row_corrupted_behind_the_orms_back(breach):
    original = accrue("300.00", "accrual:1")
    accrue("1.00", "accrual:other", org=2)
    reverse(original=original, idempotency_ref="storno:1")
    other = LedgerAccount.objects.get(organisation_id=2).pk
    uninstall_immutability_triggers(connection)  # if a migration put them there; rolled back
    with connection.cursor() as cursor:
        cursor.execute(CORRUPTIONS[breach].format(other=other))
    out = StringIO()

    with pytest.raises(CommandError) as failed:
        call_command("ledger", "check", stdout=out)

    assert failed.value.returncode == 1
    assert f"\n{breach}: " in f"\n{out.getvalue()}"
    assert "ledger OK" not in out.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_command_line_exits_with_status_1_on_a_breach(ledger_committed):
    accrue("300.00", "accrual:1")
    LedgerAccount.objects.filter(purpose="bonus_rub").update(balance=D("-299.00"))
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        url = f"sqlite:///{db['NAME']}"
    else:
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"

    done = subprocess.run(
        [sys.executable, "-m", "partnerhub.manage", "ledger", "check"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )

    assert done.returncode == 1, done.stderr
    assert "stale_balance: account #" in done.stdout
    assert "cached -299.00, entries -300.00" in done.stdout


# --- property: random postings and reversals ------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Random postings (some past the limit of account 0), replays and reversals across four
    accounts, against a plain dict of expected balances. Each run is rolled back."""

    def __init__(self) -> None:
        super().__init__()
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        self.accounts = [
            account_get_or_create(organisation_id=3, purpose=f"acct-{i}", normal_side="debit")
            for i in range(4)
        ]
        account_set_limits(account=self.accounts[0], min_balance=D("0.00"), max_balance=None)
        self.expected = {account.pk: D("0.00") for account in self.accounts}
        self.posted: list[tuple[LedgerTransaction, list[Line], dict[int, Decimal]]] = []
        self.reversed: set[int] = set()
        self.refs = itertools.count()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    def passes_limit(self, deltas: dict[int, Decimal]) -> bool:
        first = self.accounts[0].pk
        return deltas.get(first, 0) >= 0 or self.expected[first] + deltas[first] >= 0

    def apply(self, deltas: dict[int, Decimal]) -> None:
        for account_id, delta in deltas.items():
            self.expected[account_id] += delta

    @rule(
        drawn=st.lists(
            st.tuples(
                st.integers(0, 3), st.sampled_from(["debit", "credit"]), st.integers(1, 10**7)
            ),
            min_size=1,
            max_size=4,
        ),
        balancing_account=st.integers(0, 3),
    )
    def post_random(self, drawn, balancing_account):
        lines = [Line(self.accounts[i], **{side: D(cents).scaleb(-2)}) for i, side, cents in drawn]
        net = sum((D(c) if s == "debit" else -D(c) for _i, s, c in drawn), D(0)).scaleb(-2)
        if net:
            side = "credit" if net > 0 else "debit"
            lines.append(Line(self.accounts[balancing_account], **{side: abs(net)}))
        if len(lines) < 2:
            return
        deltas: dict[int, Decimal] = {}
        for line in lines:
            deltas[line.account.pk] = deltas.get(line.account.pk, 0) + (
                line.debit if line.debit is not None else -line.credit
            )
        ref = f"p{next(self.refs)}"
        if not self.passes_limit(deltas):
            with pytest.raises(LimitExceeded):
                post(kind="test", lines=lines, idempotency_ref=ref)
            return
        posted = post(kind="test", lines=lines, idempotency_ref=ref)
        self.apply(deltas)
        self.posted.append((posted, lines, deltas))

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay(self, data):
        posted, lines, _deltas = data.draw(st.sampled_from(self.posted))
        assert (
            post(kind="test", lines=lines, idempotency_ref=posted.idempotency_ref).pk == posted.pk
        )

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def reverse_one(self, data):
        posted, _lines, deltas = data.draw(st.sampled_from(self.posted))
        ref = f"r{posted.pk}"
        undo = {account_id: -delta for account_id, delta in deltas.items()}
        if posted.pk in self.reversed:
            with pytest.raises(Conflict):
                reverse(original=posted, idempotency_ref=f"again-{ref}")
        elif not self.passes_limit(undo):
            with pytest.raises(LimitExceeded):
                reverse(original=posted, idempotency_ref=ref)
        else:
            reverse(original=posted, idempotency_ref=ref)
            self.apply(undo)
            self.reversed.add(posted.pk)

    @invariant()
    def balances_agree_with_the_entries(self):
        for account in self.accounts:
            assert cached(account) == balance(account) == self.expected[account.pk]
        assert cached(self.accounts[0]) >= 0
        assert whole_table_net() == D("0.00")
        assert check_invariants() == []


@pytest.mark.django_db
def test_random_postings_and_reversals_keep_every_balance_equal_to_its_entries():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=12,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )


# --- admin ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_the_ledger_and_lets_nobody_change_it(login_as):
    posted = accrue("1234.50", "accrual:admin")
    admin = login_as("vendor:administrator")
    base = "/admin/core/ledgertransaction/"

    listing = admin.get(base)
    detail = admin.get(f"{base}{posted.pk}/change/")

    assert listing.status_code == 200
    assert "accrual:admin" in listing.content.decode()
    assert detail.status_code == 200
    assert "1234" in detail.content.decode()
    assert admin.post(f"{base}{posted.pk}/change/", {"memo": "x"}).status_code == 403
    assert admin.get(f"{base}add/").status_code == 403
    assert admin.post(f"{base}{posted.pk}/delete/", {"post": "yes"}).status_code == 403
    assert admin.get("/admin/core/ledgeraccount/").status_code == 200
    assert admin.get("/admin/core/ledgerentry/").status_code == 200
    assert LedgerTransaction.objects.get().memo == ""
