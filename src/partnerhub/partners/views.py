"""Public pages of partners: the application form that opens the cabinet at once."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from partnerhub.core.access import PUBLIC, access
from partnerhub.core.errors import ApplicationError
from partnerhub.core.forms import add_service_errors
from partnerhub.partners import services
from partnerhub.partners.forms import JoinForm


@access(PUBLIC)
@require_http_methods(["GET", "POST"])
def join_view(request: HttpRequest) -> HttpResponse:
    """Apply to become a partner (ЮЛ/ИП, name, INN, contact, email, phone, password)."""
    if request.user.is_authenticated:
        return redirect("home")
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.partner_join(**form.cleaned_data)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            login(request, user, backend="partnerhub.accounts.backends.EmailBackend")
            messages.success(
                request, _("Заявка принята, кабинет открыт. Заполните карточку организации.")
            )
            return redirect("cabinet:card_edit")
    return render(request, "partners/join.html", {"form": form})
