"""The vendor's public site form for a client's implementation request (issue 7, part 2; spec
leads.md: "Leads come from the vendor's site form").

``/leads/request/`` (name ``lead_request``, public): company, region, size, need, description,
contact person, phone, email and the personal-data consent. The lead is created through
``services.site_lead_submit`` (``lead_create`` with source "site", the address and the moment of
consent), so the phone is normalised and every bad field is named by the same rules as the API
and the import. Spam defences:

- a honeypot field hidden by CSS: a filled one is treated as a bot, which is shown the same
  thank-you page while nothing is stored (checked first, so bots do not use up an address's
  allowance);
- at most ``settings.LEAD_FORM_PER_IP_PER_HOUR`` leads per IP address per hour, counted from the
  stored leads, exactly even under parallel posts (the service serialises one address's
  requests); past it, a 429 page.

Which marketplace: ``?program=<code>`` (an active leads program whose form is on), else the
first such program; with none, the page says the form does not take requests (404).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

import partnerhub.leads.services as services
from partnerhub.core.access import PUBLIC, access
from partnerhub.core.audit import client_ip
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.leads import selectors as lead_selectors
from partnerhub.leads.errors import TooManyLeadRequests
from partnerhub.leads.models import CompanySize, Need
from partnerhub.partners.models import Program, ProgramKind

#: The honeypot's name: one a form-filling bot is eager to fill.
HONEYPOT = "website"
TOO_MANY_REQUESTS = 429


class LeadRequestForm(forms.Form):
    """What a client tells about itself; the shape only (the service checks phone and email)."""

    company_name = forms.CharField(label=_("Название компании"), max_length=300)
    region = forms.ModelChoiceField(
        label=_("Регион"),
        queryset=lead_selectors.active_regions(),
        to_field_name="code",
        empty_label=_("— выберите регион —"),
    )
    company_size = forms.ChoiceField(
        label=_("Сколько человек работает в компании"),
        choices=[("", "—"), *CompanySize.choices],
    )
    need = forms.ChoiceField(
        label=_("Что хотите внедрить в первую очередь"), choices=[("", "—"), *Need.choices]
    )
    description = forms.CharField(
        label=_("Опишите задачу"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    contact_name = forms.CharField(
        label=_("Ваше имя"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    contact_phone = forms.CharField(
        label=_("Телефон"),
        required=False,
        max_length=40,
        help_text=_("Телефон или эл. почта — хотя бы одно, чтобы партнёр мог с вами связаться."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    contact_email = forms.CharField(
        label=_("Эл. почта"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    consent = forms.BooleanField(
        label=_(
            "Я согласен на обработку моих персональных данных и их передачу партнёрам "
            "вендора для подготовки предложения по внедрению"
        ),
        error_messages={"required": _("Без согласия на обработку данных заявку не отправить.")},
    )
    website = forms.CharField(
        label=_("Сайт (не заполняйте)"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def lead_fields(self) -> dict[str, Any]:
        """The cleaned values ``lead_create`` takes."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in (
                "company_name",
                "region",
                "company_size",
                "need",
                "description",
                "contact_name",
                "contact_phone",
                "contact_email",
            )
        }


def site_form_program(code: str = "") -> Program | None:
    """The marketplace the form feeds: an active leads program whose site form is on (a
    program without settings yet has the default: on); ``code`` picks one, else the first."""
    programs = Program.objects.filter(kind=ProgramKind.LEADS, is_active=True).filter(
        Q(lead_settings__isnull=True) | Q(lead_settings__site_form_enabled=True)
    )
    if code:
        programs = programs.filter(code=code)
    return programs.order_by("pk").first()


@access(PUBLIC)
@require_http_methods(["GET", "POST"])
def lead_request(request: HttpRequest) -> HttpResponse:
    """The site form: a client asks for an implementation."""
    code = request.GET.get("program", "")
    program = site_form_program(code)
    if program is None:
        return render(request, "leads/request_closed.html", status=404)
    form = LeadRequestForm(request.POST or None)
    if request.method == "POST":
        if request.POST.get(HONEYPOT, "").strip():
            return redirect("lead_request_done")  # a bot: it sees success, nothing is stored
        if form.is_valid():
            try:
                services.site_lead_submit(
                    program=program, ip=client_ip(request), fields=form.lead_fields()
                )
            except TooManyLeadRequests:
                return render(
                    request,
                    "leads/request_limited.html",
                    {"per_hour": settings.LEAD_FORM_PER_IP_PER_HOUR},
                    status=TOO_MANY_REQUESTS,
                )
            except ApplicationError as error:
                add_service_errors(form, error)
            else:
                return redirect("lead_request_done")
    return render(
        request,
        "leads/request.html",
        {"form": form, "program": program, "honeypot": HONEYPOT},
        status=400 if request.method == "POST" else 200,
    )


@access(PUBLIC)
@require_GET
def lead_request_done(request: HttpRequest) -> HttpResponse:
    """The thank-you page after the form."""
    return render(request, "leads/request_done.html")
