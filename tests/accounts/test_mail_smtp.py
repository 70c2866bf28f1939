"""Identity e-mails delivered through a real SMTP server (aiosmtpd on 127.0.0.1): password reset
end to end, no user enumeration on an unknown address, an invitation accepted once, an expired
invitation refused."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from partnerhub.accounts.models import User
from partnerhub.accounts.services import invitation_create
from tests.factories import PASSWORD
from tests.smtp import bodies

NEW_PASSWORD = "Fresh-pass-2026!"
RESET_LINK = re.compile(r"https?://[^/\s\"]+(/accounts/password-reset/[\w-]+/[\w-]+/)")
INVITATION_LINK = re.compile(r"https?://[^/\s\"]+(/accounts/invitation/[\w-]+/)")


def _login(client: Client, email: str, password: str):
    return client.post("/accounts/login/", {"email": email, "password": password})


def test_password_reset_mail_link_sets_a_new_password(
    world, smtp, django_capture_on_commit_callbacks
):
    user = world.user("a:owner")

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/accounts/password-reset/", {"email": user.email})

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert len(smtp.messages) == 1
    assert smtp.recipients == [[user.email]]
    message = smtp.messages[0]
    assert message["To"] == user.email
    text, html = bodies(message)
    match = RESET_LINK.search(text)
    assert match, text
    assert match.group(1) in html
    link = match.group(1)

    client = Client()
    response = client.get(link)
    assert response.status_code == 302
    set_password_url = response["Location"]
    assert set_password_url.endswith("/set-password/")
    assert client.get(set_password_url).status_code == 200
    response = client.post(
        set_password_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/done/"

    response = _login(Client(), user.email, NEW_PASSWORD)
    assert response.status_code == 302
    response = _login(Client(), user.email, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in response.wsgi_request.session
    # The link works once: its token is bound to the old password.
    reused = Client().get(link)
    assert reused.status_code == 200
    assert reused.context["validlink"] is False


def test_password_reset_for_unknown_email_sends_nothing(
    world, smtp, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = Client().post("/accounts/password-reset/", {"email": "nobody@nowhere.example"})
    assert callbacks == []

    assert response.status_code == 302
    assert response["Location"] == "/accounts/password-reset/sent/"
    assert smtp.messages == []


def test_invitation_mail_link_creates_the_employee_once(
    world, login_as, smtp, django_capture_on_commit_callbacks
):
    owner = login_as("a:owner")
    email = "new.manager@a.example"

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post("/cabinet/employees/invite/", {"email": email, "role": "manager"})

    assert response.status_code == 302
    assert response["Location"] == "/cabinet/employees/"
    assert len(smtp.messages) == 1
    assert smtp.recipients == [[email]]
    message = smtp.messages[0]
    assert message.get_content_type() == "multipart/alternative"
    text, html = bodies(message)
    match = INVITATION_LINK.search(text)
    assert match, text
    link = match.group(1)
    assert link in html
    assert world.partner_a.short_name in text

    guest = Client()
    response = guest.get(link)
    assert response.status_code == 200
    assert 'name="full_name"' in response.content.decode()
    response = guest.post(link, {"full_name": "Новый Менеджер", "password": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    employee = User.objects.get(email=email)
    assert int(guest.session["_auth_user_id"]) == employee.pk
    assert employee.organisation_id == world.partner_a.pk
    assert employee.role == "manager"
    assert employee.full_name == "Новый Менеджер"
    assert employee.check_password(NEW_PASSWORD)

    again = Client().get(link)
    assert again.status_code == 404
    assert "Приглашение недействительно" in again.content.decode()
    assert User.objects.filter(email=email).count() == 1


def test_expired_invitation_link_is_refused(world, smtp):
    _, raw = invitation_create(
        organisation=world.partner_a,
        email="late@a.example",
        role="manager",
        invited_by=world.user("a:owner"),
        now=timezone.now() - timedelta(days=8),
    )

    response = Client().get(f"/accounts/invitation/{raw}/")

    assert response.status_code == 404
    assert "Приглашение недействительно" in response.content.decode()
    response = Client().post(
        f"/accounts/invitation/{raw}/", {"full_name": "Опоздавший", "password": NEW_PASSWORD}
    )
    assert response.status_code == 404
    assert not User.objects.filter(email="late@a.example").exists()
