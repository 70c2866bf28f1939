"""Login throttling that cannot lock the user out (issue 14, item 6): per e-mail and IP and per
IP, with a progressive delay (0, 0, 0, 2, 4, 8 ... s), and a known device (signed cookie) that
failures from elsewhere never slow down. Time is driven by time-machine, never slept."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client

from partnerhub.accounts import services
from partnerhub.accounts.models import LoginAttempt
from tests.factories import PASSWORD, UserFactory, VendorFactory

URL = "/accounts/login/"
VICTIM = "owner@example.com"
ATTACKER_IP = "203.0.113.7"
USER_IP = "198.51.100.20"
START = dt.datetime(2026, 6, 22, 9, 0, tzinfo=dt.UTC)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def victim():
    return UserFactory(email=VICTIM)


def post(client: Client, ip: str, password: str, email: str = VICTIM):
    return client.post(URL, {"email": email, "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail_many_times(client: Client, ip: str, clock, failures: int, email: str = VICTIM):
    """``failures`` wrong passwords from ``ip``, ten seconds apart (each one checked: the
    delays they earn, 2, 4 and 8 s, have passed)."""
    for n in range(failures):
        clock.shift(10 if n else 0)
        assert post(client, ip, "wrong", email).status_code == 200


def test_the_delay_grows_0_0_0_2_4_8_up_to_the_cap():
    assert [services.login_delay(n, 3) for n in range(10)] == [0, 0, 0, 2, 4, 8, 16, 32, 64, 128]
    assert services.login_delay(12, 3) == 300
    assert services.login_delay(10_000, 3) == 300


def test_wrong_passwords_from_another_ip_do_not_lock_the_user_out(victim, clock):
    attacker = Client()
    fail_many_times(attacker, ATTACKER_IP, clock, failures=5)

    user = Client()
    response = post(user, USER_IP, PASSWORD)

    assert response.status_code == 302
    assert logged_in(user)
    assert post(attacker, ATTACKER_IP, PASSWORD).status_code == 429  # the attacker waits


def test_the_attackers_ip_waits_longer_after_each_failure(victim, clock):
    attacker = Client()
    for _ in range(3):
        assert post(attacker, ATTACKER_IP, "wrong").status_code == 200

    waits = []
    for _ in range(3):
        refused = post(attacker, ATTACKER_IP, "wrong")
        assert refused.status_code == 429
        waits.append(int(refused["Retry-After"]))
        clock.shift(waits[-1])
        assert post(attacker, ATTACKER_IP, "wrong").status_code == 200

    assert waits == [2, 4, 8]
    refused = post(attacker, ATTACKER_IP, "wrong")
    assert refused["Retry-After"] == "16"
    assert "Повторите через 16 с" in refused.content.decode()


def test_while_waiting_even_the_right_password_is_not_checked(victim, clock):
    client = Client()
    for _ in range(3):
        post(client, ATTACKER_IP, "wrong")

    response = post(client, ATTACKER_IP, PASSWORD)

    assert response.status_code == 429
    assert not logged_in(client)
    assert LoginAttempt.objects.count() == 3  # the refused attempt left no row


def test_a_known_device_logs_in_even_from_the_attackers_ip(victim, clock):
    device = Client()
    assert post(device, USER_IP, PASSWORD).status_code == 302
    device.post("/accounts/logout/")
    attacker = Client()
    fail_many_times(attacker, ATTACKER_IP, clock, failures=5)
    assert post(attacker, ATTACKER_IP, PASSWORD).status_code == 429

    response = post(device, ATTACKER_IP, PASSWORD)

    assert response.status_code == 302
    assert logged_in(device)


def test_the_device_cookie_is_signed_http_only_and_names_no_email(victim, clock):
    response = post(Client(), USER_IP, PASSWORD)

    cookie = response.cookies["ph_device"]
    assert cookie["httponly"]
    assert int(cookie["max-age"]) == 365 * 24 * 60 * 60
    assert VICTIM not in cookie.value


def test_a_device_known_for_one_user_does_not_help_another(victim, clock):
    other = UserFactory(email="other@example.com")
    device = Client()
    post(device, USER_IP, PASSWORD)
    for _ in range(3):
        post(device, USER_IP, "wrong", other.email)

    assert post(device, USER_IP, PASSWORD, other.email).status_code == 429


def test_a_forged_device_cookie_is_ignored(victim, clock):
    attacker = Client()
    attacker.cookies["ph_device"] = "0123456789abcdef0123456789abcdef.deadbeef:forged:sig"
    for _ in range(3):
        post(attacker, ATTACKER_IP, "wrong")

    assert post(attacker, ATTACKER_IP, PASSWORD).status_code == 429


def test_failures_on_a_known_device_slow_that_device_down(victim, clock):
    device = Client()
    post(device, USER_IP, PASSWORD)
    for _ in range(3):
        assert post(device, USER_IP, "wrong").status_code == 200

    assert post(device, USER_IP, PASSWORD).status_code == 429


def test_many_emails_from_one_ip_are_throttled(clock):
    client = Client()
    for n in range(20):
        assert post(client, ATTACKER_IP, "wrong", f"user{n}@example.com").status_code == 200

    refused = post(client, ATTACKER_IP, "wrong", "user20@example.com")

    assert refused.status_code == 429
    assert refused["Retry-After"] == "2"
    assert post(Client(), USER_IP, "wrong", "user20@example.com").status_code == 200


def test_failures_are_forgotten_after_the_window(victim, clock):
    client = Client()
    for _ in range(3):
        post(client, ATTACKER_IP, "wrong")
    assert post(client, ATTACKER_IP, PASSWORD).status_code == 429

    clock.shift(15 * 60 + 1)

    assert post(client, ATTACKER_IP, PASSWORD).status_code == 302


def test_a_success_forgives_the_users_own_typos(victim, clock):
    client = Client()
    for _ in range(2):
        post(client, USER_IP, "wrong")
    assert post(client, USER_IP, PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    client.cookies.pop("ph_device")

    for _ in range(3):
        assert post(client, USER_IP, "wrong").status_code == 200


def test_attempts_in_flight_count_for_the_ones_behind_them(victim):
    gates = [
        services.login_attempt_start(email=VICTIM, ip=ATTACKER_IP, now=START) for _ in range(4)
    ]

    assert [g.wait_seconds for g in gates] == [0, 0, 0, 2]
    assert gates[3].attempt_id is None


def test_the_admin_login_form_is_throttled_too(clock):
    admin = UserFactory(
        email="admin@example.com",
        organisation=VendorFactory(),
        role="administrator",
        is_staff=True,
        is_superuser=True,
    )
    client = Client()
    for _ in range(3):
        client.post(
            "/admin/login/", {"username": admin.email, "password": "wrong"}, REMOTE_ADDR=ATTACKER_IP
        )

    client.post(
        "/admin/login/", {"username": admin.email, "password": PASSWORD}, REMOTE_ADDR=ATTACKER_IP
    )

    assert not logged_in(client)
    assert LoginAttempt.objects.filter(succeeded=False).count() == 3


def test_attempts_past_the_window_and_a_day_are_deleted_by_the_hourly_cleanup(db):
    now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)
    kept_for = dt.timedelta(minutes=15) + dt.timedelta(days=1)
    old = LoginAttempt.objects.create(
        email=VICTIM, ip="203.0.113.9", at=now - kept_for - dt.timedelta(seconds=1)
    )
    recent = LoginAttempt.objects.create(
        email=VICTIM, ip="203.0.113.9", at=now - kept_for + dt.timedelta(seconds=1)
    )

    assert services.login_attempts_cleanup(now=now) == 1

    assert list(LoginAttempt.objects.values_list("pk", flat=True)) == [recent.pk]
    assert old.pk != recent.pk
