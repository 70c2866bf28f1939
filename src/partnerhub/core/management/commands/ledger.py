"""``partnerhub ledger check``: verify every invariant of the ledger (issue "Ledger").

Prints one line per breach and exits with status 1 when there is any; otherwise prints
``ledger OK: N transactions, M entries, K accounts`` and exits 0. The checks themselves live in
``core.ledger.check_invariants()``. The output is for operators and monitoring (greppable codes),
in English like Django's own system checks.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from partnerhub.core.ledger import check_invariants, ledger_counts


class Command(BaseCommand):
    help = (
        "Ledger maintenance. 'check' verifies the ledger's invariants (exit status 1 on a breach)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser(
            "check",
            help="balanced transactions, cached balances, reversals, limits",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "check":
            self._check()

    def _check(self) -> None:
        breaches = check_invariants()
        for breach in breaches:
            self.stdout.write(str(breach))
        if breaches:
            raise CommandError(f"ledger check failed: {len(breaches)} breach(es)", returncode=1)
        transactions, entries, accounts = ledger_counts()
        self.stdout.write(
            f"ledger OK: {transactions} transactions, {entries} entries, {accounts} accounts"
        )
