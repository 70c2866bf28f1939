"""The back office page of the audit log (issue "Audit log": viewable and filterable in the back
office), ``/backoffice/audit/``.

Open to the vendor's administrators, program managers and support: they investigate what
happened to a partner's data. Accountants do not need it (they see documents and payouts on
their own pages), so the rule leaves them out. Filters: action (prefix, e.g. ``partner.card``),
organisation id, object type (``partners.enrolment``), actor (part of the e-mail or token name)
and Moscow dates from/to, both included.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import access, vendor
from partnerhub.core.audit import audit_events
from partnerhub.core.input import validate_year_range
from partnerhub.core.pagination import paginate
from partnerhub.partners import selectors as partner_selectors

AUDIT_READERS = vendor("administrator", "program_manager", "support")


class AuditFilterForm(forms.Form):
    """Filters of the audit log; every one is optional."""

    action = forms.CharField(label=_("Действие"), max_length=100, required=False)
    organisation = forms.IntegerField(label=_("Организация (id)"), min_value=1, required=False)
    object_type = forms.CharField(label=_("Тип объекта"), max_length=100, required=False)
    actor = forms.CharField(label=_("Кто (эл. почта)"), max_length=200, required=False)
    date_from = forms.DateField(
        label=_("С"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_year_range],
    )
    date_to = forms.DateField(
        label=_("По"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        validators=[validate_year_range],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("Дата «по» раньше даты «с»."))
        return data


@access(AUDIT_READERS)
@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, filtered and paginated (a bad filter shows its error and no
    rows rather than an unfiltered list)."""
    form = AuditFilterForm(request.GET or None)
    vendor_org = organisation_of(request.user)
    scope: dict[str, Any] = {
        "organisation_ids": partner_selectors.organisation_ids_of_vendor(vendor=vendor_org),
        "vendor_id": vendor_org.pk,
    }
    events = audit_events(**scope)
    if form.is_bound:
        events = (
            audit_events(**scope, **_filters(form.cleaned_data))
            if form.is_valid()
            else events.none()
        )
    context = {"form": form, "page": paginate(request, events)}
    return render(request, "backoffice/audit_log.html", context, status=400 if form.errors else 200)


def _filters(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_prefix": data["action"],
        "organisation_id": data["organisation"],
        "object_type": data["object_type"],
        "actor": data["actor"],
        "date_from": data["date_from"],
        "date_to": data["date_to"],
    }
