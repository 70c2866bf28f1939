"""The access layer beyond the URL table: platform superusers and undeclared views."""

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.test import RequestFactory

from partnerhub.accounts.models import User
from partnerhub.core.access import AccessMiddleware, Principal, partner


@pytest.mark.django_db
def test_a_platform_superuser_runs_the_admin_but_has_no_cabinet(client):
    user = User.objects.create_superuser("root@example.com", "Root-pass-2026!")
    client.force_login(user)
    assert client.get("/", follow=True).request["PATH_INFO"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/cabinet/").status_code == 403


def test_a_view_without_a_rule_is_refused():
    def undeclared(request):
        return HttpResponse("secret")

    request = RequestFactory().get("/somewhere/")
    request.resolver_match = None
    middleware = AccessMiddleware(lambda r: HttpResponse())
    with pytest.raises(PermissionDenied, match="no access rule"):
        middleware.process_view(request, undeclared, (), {})


def test_partner_rule_checks_kind_and_role():
    rule = partner("owner", "accountant")
    assert rule.decide(Principal(True, "partner", "accountant")).value == "allow"
    assert rule.decide(Principal(True, "partner", "manager")).value == "forbidden"
    assert rule.decide(Principal(True, "vendor", "accountant")).value == "forbidden"
    assert rule.decide(Principal(False)).value == "login_required"


@pytest.mark.django_db
def test_the_interface_is_russian_whatever_the_browser_asks(client):
    page = client.get("/join/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="ru">' in page
    assert "Заявка на партнёрство" in page


@pytest.mark.django_db
def test_the_language_switch_turns_english_on(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/join/"})
    page = client.get("/join/").content.decode()
    assert "Partnership application" in page
