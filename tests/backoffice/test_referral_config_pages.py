"""Back office pages of the referral program's configuration: the version in force as tables,
the scheduled version, the history, one version, and the editor (prefilled from the latest
version, errors under their fields, nothing stored on an error). Every member of the vendor's
staff reads; the program manager and the administrator edit; partners never get in."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine

from partnerhub.backoffice.referral_config_views import ConfigForm
from partnerhub.referrals.engine.config import DEFAULT
from partnerhub.referrals.models import ConfigVersion
from partnerhub.referrals.selectors.config import config_cache_forget, current_config
from partnerhub.referrals.services.config import (
    config_initial_document,
    config_version_create,
    config_version_ensure_initial,
)
from tests.factories import ProgramFactory

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=MSK)
TOMORROW = dt.datetime(2026, 3, 11, 0, 0, tzinfo=MSK)
CONFIG = "/backoffice/referrals/config/"
NEW = "/backoffice/referrals/config/new/"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _fresh_cache():
    config_cache_forget()
    yield
    config_cache_forget()


@pytest.fixture
def program(world):
    """The vendor's referral program with its first version (as the data migration makes it)."""
    program = ProgramFactory(vendor=world.vendor, code="referrals", name="Реферальная программа")
    config_version_ensure_initial(program=program)
    return program


def version_2(world, program, *, rate: str = "40", at: dt.datetime = TOMORROW) -> ConfigVersion:
    document = config_initial_document()
    document["levels"][2]["first_rate"] = rate
    return config_version_create(
        program=program,
        document=document,
        effective_from=at,
        actor=world.user("vendor:program_manager"),
        comment="Весенняя акция: 40% за первую покупку на уровне 2",
    )


def form_data(**changes) -> dict[str, str]:
    """What the editor posts when nothing is changed (the spec's numbers), with ``changes``."""
    form = ConfigForm(base=DEFAULT, now=NOW)
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    data.update(changes)
    return data


def errors_of(page: str, field: str) -> list[str]:
    return re.findall(rf'<p class="error" data-field="{re.escape(field)}">([^<]*)</p>', page)


# --- reading ---------------------------------------------------------------------------------


def test_staff_see_the_version_in_force_as_tables(world, program, login_as):
    page = login_as("vendor:support").get(CONFIG).content.decode()

    assert "Сейчас действует версия 1." in page
    assert "Тариф «Компания»" in page and "<code>tariff.company</code>" in page
    points = re.search(r'<table class="table config-points">.*?</table>', page, re.S).group(0)
    assert re.search(r"Тариф «Компания».*?<td>30</td><td>60</td><td>120</td>", points, re.S)
    assert re.search(r"Диск 1 ТБ.*?<td>15</td><td>27</td><td>48</td>", points, re.S)
    levels = re.search(r'<table class="table config-levels">.*?</table>', page, re.S).group(0)
    assert "<td>2</td><td>60+</td><td>35\u00a0%</td><td>20\u00a0%</td>" in levels
    assert "<td>3</td><td>120+</td><td>50\u00a0%</td><td>20\u00a0%</td>" in levels
    assert "100,00\u00a0₽" in page
    assert "5\u00a0000,00\u00a0₽" in page
    assert "https://www.bitrix24.ru/" in page
    assert "+1 месяц к тарифу" in page
    assert "Новая версия" not in page  # support reads only


def test_a_scheduled_version_and_the_history_are_shown(world, program, login_as):
    version_2(world, program)

    page = login_as("vendor:accountant").get(CONFIG).content.decode()

    assert "Сейчас действует версия 1." in page
    assert "Запланирована версия 2: действует с 11.03.2026 00:00 (МСК)" in page
    assert "<td>2</td><td>60+</td><td>40\u00a0%</td>" in page
    history = re.search(r'<table class="table config-history">.*?</table>', page, re.S).group(0)
    assert f'href="{CONFIG}2/?program=referrals"' in history
    assert f'href="{CONFIG}1/?program=referrals"' in history
    assert "Весенняя акция" in history
    assert "program_manager@vendor.example" in history
    assert "система" in history  # version 1 came from the migration


def test_the_version_in_force_changes_at_its_date(world, program, login_as):
    version_2(world, program)

    with time_machine.travel(TOMORROW, tick=False):
        page = login_as("vendor:support").get(CONFIG).content.decode()

    assert "Сейчас действует версия 2." in page
    assert "Запланирована" not in page


def test_one_version_shows_its_numbers_author_and_what_it_changed(world, program, login_as):
    version_2(world, program)

    page = login_as("vendor:support").get(f"{CONFIG}2/").content.decode()

    assert "Версия 2 настроек: Реферальная программа" in page
    assert "Запланирована" in page
    assert "11.03.2026 00:00" in page
    assert "program_manager@vendor.example" in page
    assert "Изменено по сравнению с версией 1" in page
    assert re.search(r"<dd>Уровни</dd>", page)
    assert "<td>2</td><td>60+</td><td>40\u00a0%</td>" in page


def test_an_unknown_version_is_404(world, program, login_as):
    assert login_as("vendor:support").get(f"{CONFIG}7/").status_code == 404


def test_the_program_is_chosen_by_its_code(world, program, login_as):
    other = ProgramFactory(vendor=world.vendor, code="referrals-b2b", name="Рефералы B2B")
    document = config_initial_document()
    document["activation_bonus"] = "250.00"
    config_version_create(
        program=other,
        document=document,
        effective_from=NOW,
        actor=world.user("vendor:administrator"),
    )
    client = login_as("vendor:support")

    default_page = client.get(CONFIG).content.decode()
    other_page = client.get(f"{CONFIG}?program=referrals-b2b").content.decode()

    assert "Реферальная программа" in default_page and "100,00\u00a0₽" in default_page
    assert "Рефералы B2B" in other_page and "250,00\u00a0₽" in other_page
    assert client.get(f"{CONFIG}?program=nope").status_code == 404


def test_the_config_page_needs_few_queries(world, program, login_as, django_assert_max_num_queries):
    for rate in ("40", "41", "42", "43", "44"):
        version_2(world, program, rate=rate)
    client = login_as("vendor:support")

    with django_assert_max_num_queries(10):
        response = client.get(CONFIG)

    assert response.status_code == 200


# --- the editor ------------------------------------------------------------------------------


def test_the_editor_is_prefilled_from_the_latest_version(world, program, login_as):
    version_2(world, program)

    page = login_as("vendor:program_manager").get(NEW).content.decode()

    assert "Форма заполнена значениями версии 2." in page
    assert re.search(r'name="level_2_first_rate" value="40"', page)
    assert re.search(r'name="level_3_min_points" value="120"', page)
    assert re.search(r'type="number" name="points_1_12" value="120"', page)
    assert 'name="activation_bonus" value="100,00"' in page
    assert 'type="datetime-local" name="effective_from" value="2026-03-11T00:00"' in page
    assert "month: +1 месяц к тарифу" in page


def test_saving_the_editor_creates_the_next_version(world, program, login_as):
    data = form_data(
        points_0_3="20",  # tariff.team, 3 months
        level_2_first_rate="37,5",
        level_4_min_points="200",
        level_4_first_rate="55",
        level_4_later_rate="25",
        activation_bonus="150,00",
        promo_max_validity_days="180",
        client_bonus_options="month: +1 месяц\ntwo-months: +2 месяца",
        effective_from="2026-04-01T00:00",
        comment="Пятый уровень",
    )

    response = login_as("vendor:program_manager").post(NEW, data)

    assert response.status_code == 302
    assert response["Location"] == f"{CONFIG}2/?program=referrals"
    row = ConfigVersion.objects.get(program=program, version=2)
    assert row.effective_from == dt.datetime(2026, 4, 1, 0, 0, tzinfo=MSK)
    assert row.created_by == world.user("vendor:program_manager")
    assert row.comment == "Пятый уровень"
    config = row.to_config()
    assert config.points["tariff.team"] == {3: 20, 6: 30, 12: 60}
    assert config.points["disk.1tb"] == {3: 15, 6: 27, 12: 48}
    assert [lv.min_points for lv in config.levels] == [0, 15, 60, 120, 200]
    assert str(config.level(2).first_rate) == "37.50"
    assert str(config.level(4).later_rate) == "25.00"
    assert str(config.activation_bonus) == "150.00"
    assert config.promo_max_validity_days == 180
    assert [(o.code, o.label) for o in config.client_bonus_options] == [
        ("month", "+1 месяц"),
        ("two-months", "+2 месяца"),
    ]
    assert current_config(program).version == 1
    assert current_config(program, row.effective_from).version == 2


def test_the_highest_level_is_dropped_by_clearing_its_row(world, program, login_as):
    data = form_data(level_3_min_points="", level_3_first_rate="", level_3_later_rate="")

    response = login_as("vendor:administrator").post(NEW, data)

    assert response.status_code == 302
    levels = ConfigVersion.objects.get(version=2).to_config().levels
    assert [lv.number for lv in levels] == [0, 1, 2]


def test_a_past_effective_time_is_an_error_under_its_field(world, program, login_as):
    response = login_as("vendor:program_manager").post(
        NEW, form_data(effective_from="2026-03-01T00:00")
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert errors_of(page, "effective_from") == [
        "Новая версия не может действовать с прошедшей даты: укажите будущий момент."
    ]
    assert not ConfigVersion.objects.filter(version=2).exists()


def test_every_error_the_service_finds_is_shown_at_once(world, program, login_as):
    response = login_as("vendor:program_manager").post(
        NEW, form_data(effective_from="2026-03-01T00:00", level_3_min_points="50")
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert len(errors_of(page, "effective_from")) == 1
    assert len(errors_of(page, "levels")) == 1


def test_thresholds_that_do_not_grow_are_an_error_above_the_levels(world, program, login_as):
    response = login_as("vendor:program_manager").post(NEW, form_data(level_3_min_points="50"))

    assert response.status_code == 400
    assert errors_of(response.content.decode(), "levels") == [
        "Порог уровня 0 — 0 баллов, порог каждого следующего уровня больше предыдущего."
    ]
    assert ConfigVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("level_3_first_rate", "150", "Убедитесь, что это значение меньше либо равно 100."),
        ("level_1_later_rate", "двадцать", "Введите процент числом, например 20 или 12,5."),
        ("points_1_12", "", "Обязательное поле."),
        ("points_2_3", "-3", "Убедитесь, что это значение больше либо равно 0."),
        ("review_period_months", "0", "Убедитесь, что это значение больше либо равно 1."),
        ("activation_bonus", "100,555", None),
        ("landing_url", "не адрес", "Введите правильный URL."),
        ("referral_param", "p p", None),
        ("client_bonus_options", "month +1 месяц", "Строка 1: нужно «код: название»."),
        ("client_bonus_options", "Месяц: +1 месяц", None),
        ("effective_from", "завтра", None),
    ],
)
def test_a_bad_value_is_an_error_under_its_field_and_nothing_is_stored(
    world, program, login_as, field, value, message
):
    response = login_as("vendor:administrator").post(NEW, form_data(**{field: value}))

    assert response.status_code == 400
    errors = errors_of(response.content.decode(), field)
    assert errors, f"no error under {field}"
    if message is not None:
        assert errors == [message]
    assert ConfigVersion.objects.count() == 1


def test_a_half_filled_new_level_asks_for_the_rest(world, program, login_as):
    response = login_as("vendor:administrator").post(NEW, form_data(level_4_min_points="200"))

    assert response.status_code == 400
    page = response.content.decode()
    assert errors_of(page, "level_4_first_rate") == ["Заполните порог и обе ставки уровня."]
    assert errors_of(page, "level_4_later_rate") == ["Заполните порог и обе ставки уровня."]
    assert ConfigVersion.objects.count() == 1


def test_staff_who_only_read_cannot_open_the_editor(world, program, login_as):
    for actor in ("vendor:support", "vendor:accountant"):
        client = login_as(actor)
        assert client.get(NEW).status_code == 403
        assert client.post(NEW, form_data()).status_code == 403
    assert ConfigVersion.objects.count() == 1


def test_partner_users_never_get_in(world, program, login_as):
    for actor in ("a:owner", "b:manager"):
        client = login_as(actor)
        assert client.get(CONFIG).status_code == 403
        assert client.get(f"{CONFIG}1/").status_code == 403
        assert client.post(NEW, form_data()).status_code == 403
    assert ConfigVersion.objects.count() == 1


def test_a_vendor_without_a_referral_program_sees_a_note(world, login_as):
    page = login_as("vendor:administrator").get(CONFIG).content.decode()

    assert "У вендора нет реферальной программы." in page
