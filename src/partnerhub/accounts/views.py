"""Identity pages: login (throttled per IP, per e-mail and IP, known devices apart), logout,
password reset, accepting an invitation."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from partnerhub.accounts import login_guard, services
from partnerhub.accounts.forms import InvitationAcceptForm, LoginForm, QueuedPasswordResetForm
from partnerhub.core.access import AUTHENTICATED, PUBLIC, access
from partnerhub.core.errors import ApplicationError, NotFound
from partnerhub.core.forms import add_service_errors


@access(PUBLIC)
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    """Log in by email and password. After repeated failures the next attempt waits (429 with
    ``Retry-After``, the password unchecked); a success marks this browser as a known device of
    the user, which failures elsewhere do not slow down (see ``accounts.login_guard``)."""
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"]
        user = authenticate(request, email=email, password=form.cleaned_data["password"])
        wait = login_guard.wait_of(request)
        if wait:
            form.add_error(
                None,
                _("Слишком много неудачных попыток входа. Повторите через %(seconds)d с.")
                % {"seconds": wait},
            )
            response = render(
                request, "accounts/login.html", {"form": form, "next": next_url}, status=429
            )
            response["Retry-After"] = str(wait)
            return response
        if user is None:
            form.add_error(None, _("Неверная эл. почта или пароль."))
        else:
            login(request, user)
            safe = url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            )
            response = redirect(next_url if next_url and safe else "home")
            login_guard.remember_device(request, response, user.email)
            return response
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@access(AUTHENTICATED)
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Log out (POST only, so that a link cannot log a user out)."""
    logout(request)
    return redirect("accounts:login")


@access(PUBLIC)
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """An invited employee sets a name and password and lands in the cabinet."""
    try:
        invitation = services.invitation_by_token(token)
    except NotFound:
        return render(request, "accounts/invitation_invalid.html", status=404)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(raw_token=token, **form.cleaned_data)
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            login(request, user, backend="partnerhub.accounts.backends.EmailBackend")
            messages.success(request, _("Добро пожаловать! Вы вошли в кабинет."))
            return redirect("home")
    return render(
        request, "accounts/invitation_accept.html", {"form": form, "invitation": invitation}
    )


def _public(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    return access(PUBLIC)(view)


password_reset = _public(
    auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/email/password_reset.txt",
        html_email_template_name="accounts/email/password_reset.html",
        subject_template_name="accounts/email/password_reset_subject.txt",
        form_class=QueuedPasswordResetForm,
        success_url=reverse_lazy("accounts:password_reset_done"),
    )
)
password_reset_done = _public(
    auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html")
)
password_reset_confirm = _public(
    auth_views.PasswordResetConfirmView.as_view(
        template_name="accounts/password_reset_confirm.html",
        success_url=reverse_lazy("accounts:password_reset_complete"),
    )
)
password_reset_complete = _public(
    auth_views.PasswordResetCompleteView.as_view(
        template_name="accounts/password_reset_complete.html"
    )
)
