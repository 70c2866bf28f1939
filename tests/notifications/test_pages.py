"""The notification list in the cabinet: own notifications only, newest first, unread ones
highlighted; the unread count in the header, one query, dropping as notifications are read (by a
plain form or by htmx); another user's notification answers 404."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from partnerhub.notifications.models import Notification

LIST = "/cabinet/notifications/"


def notify(user, title: str, *, minutes_ago: int = 0, read: bool = False) -> Notification:
    """A notification of ``user`` as the outbox handler makes it."""
    created_at = timezone.now() - timedelta(minutes=minutes_ago)
    return Notification.objects.create(
        user=user,
        organisation_id=user.organisation_id,
        event_id=uuid.uuid4(),
        kind="partners.enrolment.active",
        title=title,
        body="Можно работать по программе.",
        url="/cabinet/programs/",
        created_at=created_at,
        read_at=created_at if read else None,
    )


def read_url(notification: Notification) -> str:
    return f"{LIST}{notification.pk}/read/"


def test_the_list_shows_own_notifications_newest_first(world, login_as):
    owner = world.user("a:owner")
    notify(owner, "Первое", minutes_ago=30)
    notify(owner, "Второе", minutes_ago=10)
    notify(world.user("a:manager"), "Менеджеру")
    notify(world.user("b:owner"), "Партнёру Б")

    body = login_as("a:owner").get(LIST).content.decode()

    assert body.index("Второе") < body.index("Первое")
    assert "Менеджеру" not in body
    assert "Партнёру Б" not in body


def test_unread_notifications_are_marked_new_and_read_ones_are_not(world, login_as):
    owner = world.user("a:owner")
    unread = notify(owner, "Непрочитанное")
    read = notify(owner, "Прочитанное", read=True)

    body = login_as("a:owner").get(LIST).content.decode()

    assert f'id="notification-{unread.pk}" class="card-box notification unread"' in body
    assert f'id="notification-{read.pk}" class="card-box notification"' in body
    assert read_url(unread) in body
    assert read_url(read) not in body


def test_the_header_shows_the_unread_count_on_every_page(world, login_as):
    owner = world.user("a:owner")
    for n in range(3):
        notify(owner, f"Уведомление {n}")
    notify(owner, "Старое", read=True)

    body = login_as("a:owner").get("/cabinet/").content.decode()

    assert "Уведомления (3)</a>" in body


def test_the_header_count_costs_one_query(world, login_as):
    notify(world.user("a:owner"), "Одно")
    client = login_as("a:owner")

    with CaptureQueriesContext(connection) as queries:
        response = client.get("/cabinet/programs/")

    assert response.status_code == 200
    touching = [q["sql"] for q in queries if "notifications_notification" in q["sql"]]
    assert len(touching) == 1
    assert "COUNT" in touching[0].upper()


def test_marking_one_read_drops_the_count(world, login_as):
    owner = world.user("a:owner")
    first = notify(owner, "Первое")
    notify(owner, "Второе")
    client = login_as("a:owner")

    response = client.post(read_url(first))

    assert response.status_code == 302
    assert response["Location"] == LIST
    first.refresh_from_db()
    assert first.read_at is not None
    assert "Уведомления (1)</a>" in client.get("/cabinet/").content.decode()


def test_htmx_gets_the_item_back_and_the_new_count_out_of_band(world, login_as):
    owner = world.user("a:owner")
    first = notify(owner, "Первое")
    notify(owner, "Второе")

    response = login_as("a:owner").post(read_url(first), HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(
        f'<li id="notification-{first.pk}" class="card-box notification"'
    )
    assert read_url(first) not in body
    assert 'id="notifications-link"' in body
    assert 'hx-swap-oob="true">Уведомления (1)</a>' in body
    assert "<html" not in body


def test_marking_an_already_read_one_keeps_its_time(world, login_as):
    read = notify(world.user("a:owner"), "Прочитанное", read=True)
    read_at = read.read_at

    response = login_as("a:owner").post(read_url(read))

    assert response.status_code == 302
    read.refresh_from_db()
    assert read.read_at == read_at


def test_another_users_notification_answers_404_and_stays_unread(world, login_as):
    theirs = notify(world.user("a:owner"), "Владельцу А")

    for actor in ("a:manager", "b:owner", "vendor:administrator"):
        response = login_as(actor).post(read_url(theirs))
        assert response.status_code == 404, actor

    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_reads_only_own_notifications(world, login_as):
    owner = world.user("a:owner")
    notify(owner, "Первое")
    notify(owner, "Второе")
    manager = notify(world.user("a:manager"), "Менеджеру")
    client = login_as("a:owner")

    response = client.post(f"{LIST}read-all/")

    assert response.status_code == 302
    assert not Notification.objects.filter(user=owner, read_at__isnull=True).exists()
    manager.refresh_from_db()
    assert manager.read_at is None
    header = client.get("/cabinet/").content.decode()
    assert "Уведомления (" not in header
    assert ">Уведомления</a>" in header


def test_the_list_is_paginated_with_a_fixed_number_of_queries(
    world, login_as, django_assert_max_num_queries
):
    owner = world.user("a:owner")
    for n in range(45):
        notify(owner, f"Уведомление №{n:02d}", minutes_ago=n)
    client = login_as("a:owner")

    with django_assert_max_num_queries(5):
        first = client.get(LIST).content.decode()
    with django_assert_max_num_queries(5):
        third = client.get(f"{LIST}?page=3").content.decode()

    assert "Уведомление №00" in first
    assert "Уведомление №19" in first
    assert "Уведомление №20" not in first
    assert "Страница 1 из 3" in first
    assert "Уведомление №44" in third


def test_vendor_staff_see_their_own_list(world, login_as):
    notify(world.user("vendor:support"), "Сотруднику вендора")

    response = login_as("vendor:support").get(LIST)

    assert response.status_code == 200
    assert "Сотруднику вендора" in response.content.decode()


def test_the_admin_lists_notifications_and_sent_email_read_only(world, login_as):
    notify(world.user("a:owner"), "Для админки")
    admin = login_as("vendor:administrator")

    listing = admin.get("/admin/notifications/notification/")
    sent = admin.get("/admin/notifications/emailsent/")
    add = admin.get("/admin/notifications/notification/add/")

    assert listing.status_code == 200
    assert "Для админки" in listing.content.decode()
    assert sent.status_code == 200
    assert add.status_code == 403
