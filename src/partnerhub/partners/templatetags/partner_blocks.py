"""Blocks of partner statuses and counterparty documents embedded in pages owned elsewhere (the
cabinet's card, the back office's partner page). Each block reads through a selector scoped to
the organisation the page shows, and shows actions by the same access rules as the views."""

from __future__ import annotations

from typing import Any

from django import template

from partnerhub.accounts.principal import organisation_of
from partnerhub.core import clock
from partnerhub.core.access import allowed
from partnerhub.partners import selectors
from partnerhub.partners.access_rules import (
    DOCUMENT_REVIEWERS,
    DOCUMENT_VIEWERS,
    STATUS_EDITORS,
)
from partnerhub.partners.forms import CounterpartyDocumentReviewForm
from partnerhub.partners.models import Organisation

register = template.Library()


def _user(context: template.Context) -> Any:
    request = context.get("request")
    return getattr(request, "user", None)


@register.inclusion_tag("cabinet/partners/_statuses.html", takes_context=True)
def partner_statuses(context: template.Context, org: Organisation) -> dict[str, Any]:
    """Statuses of ``org``: in force today, coming, ended."""
    return {
        "org": org,
        "overview": selectors.status_overview(organisation=org, on=clock.today()),
    }


@register.inclusion_tag("backoffice/partners/_statuses.html", takes_context=True)
def partner_statuses_staff(context: template.Context, org: Organisation) -> dict[str, Any]:
    """The statuses block of the back office's partner page (the asking staff's vendor's
    statuses only), with a link to manage them."""
    user = _user(context)
    return {
        "org": org,
        "overview": selectors.status_overview(
            organisation=org, on=clock.today(), vendor=organisation_of(user)
        ),
        "can_edit": allowed(STATUS_EDITORS, user),
    }


@register.inclusion_tag("backoffice/partners/_counterparty_documents.html", takes_context=True)
def counterparty_documents_staff(context: template.Context, org: Organisation) -> dict[str, Any]:
    """Counterparty documents of ``org`` with the review actions (staff who may see them)."""
    user = _user(context)
    visible = allowed(DOCUMENT_VIEWERS, user)
    vendor = organisation_of(user) if visible else None
    return {
        "org": org,
        "visible": visible,
        "rows": selectors.counterparty_documents_of(organisation=org, vendor=vendor)
        if visible
        else [],
        "accepted": visible
        and selectors.counterparty_documents_accepted(organisation=org, vendor=vendor),
        "can_review": allowed(DOCUMENT_REVIEWERS, user),
        "review_form": CounterpartyDocumentReviewForm(),
        "csrf_token": context.get("csrf_token"),
    }
