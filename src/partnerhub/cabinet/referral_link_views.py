"""Cabinet pages of the referral link and the promo codes (issue 5, item 7).

Any partner role reads; the owner and the managers create and deactivate promo codes. A partner
organisation that has not joined the referral program sees a short explanation with a link to
the programs page. Thin views: reads through ``referrals.selectors.links`` scoped to the user's
own referral partner (another partner's promo code is a 404), writes through
``referrals.services.links``.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from partnerhub.accounts.principal import organisation_of
from partnerhub.core.access import ByMethod, access, allowed, partner
from partnerhub.core.clock import today
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.core.input import validate_year_range
from partnerhub.referrals.engine.config import ProgramConfig
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.selectors import links as selectors
from partnerhub.referrals.services import links as services

ANY_PARTNER = partner()
PROMO_CODE_EDITORS = partner("owner", "manager")
#: The suggested length of a new code's validity (within the program's maximum).
SUGGESTED_VALIDITY_DAYS = 30


class PromoCodeForm(forms.Form):
    """Shape of a new promo code; the rules (length, letters, uniqueness, dates) are the
    service's."""

    code = forms.CharField(
        label=gettext_lazy("Промокод"),
        max_length=64,
        help_text=gettext_lazy("4–32 символа: буквы, цифры и дефис. Например, SPRING-2026."),
    )
    client_bonus = forms.ChoiceField(label=gettext_lazy("Бонус клиенту"))
    valid_from = forms.DateField(
        label=gettext_lazy("Действует с"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_year_range],
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Действует по (включительно)"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        validators=[validate_year_range],
    )

    def __init__(self, *args: object, config: ProgramConfig, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["client_bonus"].choices = [  # type: ignore[attr-defined]
            (option.code, option.label) for option in config.client_bonus_options
        ]
        self.fields["valid_until"].help_text = _("Не больше %(days)d дней от даты начала.") % {
            "days": config.promo_max_validity_days
        }
        if not self.is_bound:
            start = today()
            days = min(SUGGESTED_VALIDITY_DAYS, config.promo_max_validity_days)
            self.initial.update(valid_from=start, valid_until=start + dt.timedelta(days=days))


def _partner(request: HttpRequest) -> ReferralPartner | None:
    return selectors.referral_partner_of(organisation_of(request.user))


def _not_joined(request: HttpRequest, template: str) -> HttpResponse:
    return render(request, template, {"org": organisation_of(request.user), "partner": None})


@access(ANY_PARTNER)
@require_GET
def referral_link(request: HttpRequest) -> HttpResponse:
    """The partner code, the referral link with a copy button, clicks of the last 30 days."""
    referral_partner = _partner(request)
    if referral_partner is None:
        return _not_joined(request, "cabinet/referrals/link.html")
    config = selectors.program_config(referral_partner.program)
    context = {
        "org": organisation_of(request.user),
        "partner": referral_partner,
        "link": selectors.referral_link(referral_partner, config),
        "stats": selectors.click_stats(referral_partner),
        "attribution_days": config.attribution_window_days,
    }
    return render(request, "cabinet/referrals/link.html", context)


def _promo_codes_page(
    request: HttpRequest,
    referral_partner: ReferralPartner,
    config: ProgramConfig,
    form: PromoCodeForm,
    status: int = 200,
) -> HttpResponse:
    context = {
        "org": organisation_of(request.user),
        "partner": referral_partner,
        "rows": selectors.promo_codes_of(referral_partner, config),
        "form": form,
        "can_edit": allowed(PROMO_CODE_EDITORS, request.user),
        "max_days": config.promo_max_validity_days,
    }
    return render(request, "cabinet/referrals/promo_codes.html", context, status=status)


@access(ByMethod({"GET": ANY_PARTNER, "POST": PROMO_CODE_EDITORS}))  # type: ignore[arg-type]
@require_http_methods(["GET", "POST"])
def promo_codes(request: HttpRequest) -> HttpResponse:
    """The partner's promo codes with their states; the owner and managers create new ones."""
    referral_partner = _partner(request)
    if referral_partner is None:
        return _not_joined(request, "cabinet/referrals/promo_codes.html")
    config = selectors.program_config(referral_partner.program)
    if request.method != "POST":
        return _promo_codes_page(request, referral_partner, config, PromoCodeForm(config=config))
    form = PromoCodeForm(request.POST, config=config)
    if form.is_valid():
        try:
            promo = services.promo_code_create(
                partner=referral_partner, actor=request.user, **form.cleaned_data
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Промокод «%(code)s» создан.") % {"code": promo.code})
            return redirect("cabinet:promo_codes")
    return _promo_codes_page(request, referral_partner, config, form, status=400)


@access(PROMO_CODE_EDITORS)
@require_POST
def promo_code_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch one of the partner's promo codes off (another partner's code: 404)."""
    referral_partner = _partner(request)
    if referral_partner is None:
        raise Http404
    promo = selectors.promo_code_get(referral_partner, pk)
    if services.promo_code_deactivate(promo_code=promo, actor=request.user):
        messages.success(request, _("Промокод «%(code)s» отключён.") % {"code": promo.code})
    else:
        messages.info(request, _("Промокод «%(code)s» уже отключён.") % {"code": promo.code})
    return redirect("cabinet:promo_codes")
