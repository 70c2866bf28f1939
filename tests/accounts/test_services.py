"""Identity use cases: users, invitations, API tokens, login throttling."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from partnerhub.accounts import services
from partnerhub.accounts.models import ApiToken, Invitation, token_digest
from partnerhub.core.errors import Conflict, NotFound, ValidationFailed
from tests.factories import PASSWORD, OrganisationFactory, UserFactory, VendorFactory


@pytest.mark.django_db
def test_a_partner_cannot_grant_a_vendor_role():
    with pytest.raises(ValidationFailed) as exc:
        services.user_create(
            organisation=OrganisationFactory(),
            email="x@example.com",
            password=PASSWORD,
            role="administrator",
        )
    assert list(exc.value.fields) == ["role"]


@pytest.mark.django_db
def test_a_vendor_administrator_gets_the_admin_site():
    user = services.user_create(
        organisation=VendorFactory(),
        email="adm@example.com",
        password=PASSWORD,
        role="administrator",
    )
    assert user.is_staff and user.is_superuser


@pytest.mark.django_db
def test_invitation_stores_only_a_digest_and_expires_in_seven_days():
    org = OrganisationFactory()
    now = timezone.now()
    invitation, raw = services.invitation_create(
        organisation=org, email="new@example.com", role="manager", invited_by=None, now=now
    )
    assert invitation.token_digest == token_digest(raw)
    assert raw not in invitation.token_digest
    assert invitation.expires_at == now + timedelta(days=7)


@pytest.mark.django_db
def test_an_invitation_is_accepted_once():
    org = OrganisationFactory()
    _invitation, raw = services.invitation_create(
        organisation=org, email="new@example.com", role="accountant", invited_by=None
    )
    user = services.invitation_accept(raw_token=raw, full_name="Новый Сотрудник", password=PASSWORD)
    assert (user.organisation, user.role) == (org, "accountant")
    with pytest.raises(NotFound):
        services.invitation_accept(raw_token=raw, full_name="Ещё раз", password=PASSWORD)


@pytest.mark.django_db
def test_an_invitation_is_dead_after_seven_days():
    org = OrganisationFactory()
    created = timezone.now() - timedelta(days=7, seconds=1)
    _inv, raw = services.invitation_create(
        organisation=org, email="late@example.com", role="manager", invited_by=None, now=created
    )
    with pytest.raises(NotFound):
        services.invitation_accept(raw_token=raw, full_name="Опоздавший", password=PASSWORD)


@pytest.mark.django_db
def test_a_new_invitation_revokes_the_previous_one_to_the_same_address():
    org = OrganisationFactory()
    first, raw1 = services.invitation_create(
        organisation=org, email="a@example.com", role="manager", invited_by=None
    )
    services.invitation_create(
        organisation=org, email="a@example.com", role="developer", invited_by=None
    )
    first.refresh_from_db()
    assert first.revoked_at is not None
    with pytest.raises(NotFound):
        services.invitation_by_token(raw1)


@pytest.mark.django_db
def test_accepting_with_a_weak_password_keeps_the_invitation_usable():
    org = OrganisationFactory()
    _inv, raw = services.invitation_create(
        organisation=org, email="w@example.com", role="manager", invited_by=None
    )
    with pytest.raises(ValidationFailed):
        services.invitation_accept(raw_token=raw, full_name="Слабый", password="123")
    assert Invitation.objects.get().accepted_at is None


@pytest.mark.django_db
def test_revoking_an_accepted_invitation_is_a_conflict():
    org = OrganisationFactory()
    inv, raw = services.invitation_create(
        organisation=org, email="r@example.com", role="manager", invited_by=None
    )
    services.invitation_accept(raw_token=raw, full_name="Р", password=PASSWORD)
    with pytest.raises(Conflict):
        services.invitation_revoke(organisation=org, invitation_id=inv.pk)


@pytest.mark.django_db
def test_inviting_an_existing_user_names_the_email_field():
    user = UserFactory()
    with pytest.raises(ValidationFailed) as exc:
        services.invitation_create(
            organisation=user.organisation,
            email=user.email.upper(),
            role="manager",
            invited_by=None,
        )
    assert list(exc.value.fields) == ["email"]


@pytest.mark.django_db
def test_api_token_is_stored_hashed_and_printed_by_the_command(capsys):
    org = OrganisationFactory(short_name="ООО «Токен»")
    call_command("apitoken", "create", "--org", org.inn, "--name", "CRM")
    raw = capsys.readouterr().out.strip()
    token = ApiToken.objects.get()
    assert raw.startswith("ph_")
    assert token.key_digest == token_digest(raw)
    assert raw not in (token.prefix + token.key_digest)
    assert token.role == "owner"


@pytest.mark.django_db
def test_login_with_the_right_password_opens_the_cabinet(client):
    user = UserFactory(email="owner@example.com")
    response = client.post("/accounts/login/", {"email": "OWNER@example.com", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"], follow=True).request["PATH_INFO"] == "/cabinet/"
    assert int(client.session["_auth_user_id"]) == user.pk


@pytest.mark.django_db
def test_login_does_not_redirect_to_another_site(client):
    user = UserFactory()
    response = client.post(
        "/accounts/login/",
        {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"
