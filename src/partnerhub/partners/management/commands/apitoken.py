"""``partnerhub apitoken create|list|revoke``: API tokens of an organisation.

``create`` prints the new key once; only its SHA-256 digest is stored.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q

from partnerhub.accounts import selectors, services
from partnerhub.core.audit import system_actor
from partnerhub.core.errors import ApplicationError
from partnerhub.partners.models import Organisation


def find_organisation(ref: str) -> Organisation:
    """An organisation by id, INN or exact short name."""
    query = Q(inn=ref) | Q(short_name=ref)
    if ref.isdigit() and len(ref) < 10:
        query |= Q(pk=int(ref))
    matches = list(Organisation.objects.filter(query)[:2])
    if len(matches) != 1:
        raise CommandError(f"no single organisation matches {ref!r} (id, INN or short name)")
    return matches[0]


class Command(BaseCommand):
    help = "Create, list or revoke API tokens of an organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a token and print it once")
        create.add_argument("--org", required=True, help="organisation id, INN or short name")
        create.add_argument("--name", required=True)
        create.add_argument("--role", default="owner", help="role the token acts with")
        listing = sub.add_parser("list", help="list live tokens")
        listing.add_argument("--org", required=True)
        revoke = sub.add_parser("revoke", help="revoke a token by name")
        revoke.add_argument("--org", required=True)
        revoke.add_argument("--name", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        org = find_organisation(options["org"])
        with system_actor("apitoken command"):
            self._run(org, options)

    def _run(self, org: Organisation, options: dict[str, Any]) -> None:
        try:
            if options["action"] == "create":
                _token, raw = services.api_token_create(
                    organisation=org, name=options["name"], role=options["role"]
                )
                self.stdout.write(raw)
            elif options["action"] == "list":
                for token in selectors.api_tokens_of(organisation=org):
                    self.stdout.write(
                        f"{token.name}\t{token.role}\t{token.prefix}…\t{token.created_at:%Y-%m-%d}"
                    )
            else:
                live = selectors.api_tokens_of(organisation=org).filter(name=options["name"])
                found = live.first()
                if found is None:
                    raise CommandError(f"no live token named {options['name']!r}")
                services.api_token_revoke(organisation=org, token_id=found.pk)
                self.stdout.write(f"revoked {found.name}")
        except ApplicationError as exc:
            details = "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in exc.fields.items())
            raise CommandError(f"{exc.message} {details}".strip()) from exc
