"""Versions of the program configuration: the first version holds the spec's numbers, staff add
versions that take effect at a future moment (never in the past), numbers are taken one by one
also under concurrency, every bad value is refused naming its field, each version is audited and
announced through the outbox, and the selectors see a new version at once."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from partnerhub.core.errors import ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.core.models.outbox import OutboxEvent
from partnerhub.referrals.engine.config import (
    DEFAULT,
    EPOCH,
    ConfigError,
    config_from_dict,
    config_to_dict,
)
from partnerhub.referrals.models import ConfigVersion
from partnerhub.referrals.selectors.config import (
    config_cache_forget,
    config_set,
    config_versions,
    current_config,
)
from partnerhub.referrals.services.config import (
    config_initial_document,
    config_version_create,
    config_version_ensure_initial,
)
from tests.factories import ProgramFactory

MSK = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=MSK)
TOMORROW = dt.datetime(2026, 3, 11, 0, 0, tzinfo=MSK)


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
    return ProgramFactory(vendor=world.vendor, code="referrals", name="Реферальная программа")


def spec_document(**changes) -> dict:
    """The spec's configuration document with ``changes`` on top."""
    document = config_initial_document()
    document.update(changes)
    return document


def with_level_2_first_rate(rate: str) -> dict:
    document = spec_document()
    document["levels"][2]["first_rate"] = rate
    return document


# --- the first version ----------------------------------------------------------------------


def test_the_initial_document_is_the_spec_without_version_and_date():
    document = config_initial_document()

    expected = config_to_dict(DEFAULT)
    del expected["version"], expected["effective_from"]
    assert document == expected
    assert document["points"]["tariff.company"] == {"3": 30, "6": 60, "12": 120}
    assert document["levels"][3] == {
        "number": 3,
        "min_points": 120,
        "first_rate": "50",
        "later_rate": "20",
    }
    assert document["activation_bonus"] == "100.00"
    assert document["conversion_minimum"] == "5000.00"


def test_ensuring_the_first_version_twice_makes_one_version_1_from_the_epoch(program):
    first = config_version_ensure_initial(program=program)
    again = config_version_ensure_initial(program=program)

    assert first.pk == again.pk
    assert ConfigVersion.objects.filter(program=program).count() == 1
    assert first.version == 1
    assert first.effective_from == EPOCH
    assert first.document == config_initial_document()
    assert first.created_by is None


def test_a_program_without_versions_has_the_spec_numbers(program):
    configs = config_set(program)

    assert len(configs.versions) == 1
    assert configs.versions[0] == DEFAULT
    assert current_config(program).level_for(60) == 2


# --- creating versions ----------------------------------------------------------------------


def test_the_first_staff_version_is_2_and_the_spec_stays_in_force_before_it(world, program):
    manager = world.user("vendor:program_manager")

    row = config_version_create(
        program=program,
        document=with_level_2_first_rate("40"),
        effective_from=TOMORROW,
        actor=manager,
        comment="Весенняя акция",
    )

    assert row.version == 2
    assert row.effective_from == TOMORROW
    assert row.created_by == manager
    assert row.comment == "Весенняя акция"
    assert row.document["levels"][2]["first_rate"] == "40"
    assert "version" not in row.document and "effective_from" not in row.document
    assert list(config_versions(program).values_list("version", flat=True)) == [2, 1]
    assert current_config(program).level(2).first_rate == Decimal("35")
    assert current_config(program, TOMORROW - dt.timedelta(seconds=1)).version == 1
    assert current_config(program, TOMORROW).level(2).first_rate == Decimal("40")
    # Nothing before the new version's date is judged by it, however far back.
    assert current_config(program, dt.datetime(2024, 1, 1, tzinfo=MSK)).version == 1


def test_versions_are_numbered_one_after_another_per_program(world, program):
    other = ProgramFactory(vendor=world.vendor, code="referrals-2")
    actor = world.user("vendor:administrator")

    numbers = [
        config_version_create(
            program=program, document=spec_document(), effective_from=TOMORROW, actor=actor
        ).version
        for _ in range(3)
    ]
    other_number = config_version_create(
        program=other, document=spec_document(), effective_from=TOMORROW, actor=actor
    ).version

    assert numbers == [2, 3, 4]
    assert other_number == 2


def test_version_and_date_inside_the_document_are_ignored(world, program):
    document = spec_document(version=99, effective_from="2020-01-01T00:00:00+03:00")

    row = config_version_create(
        program=program,
        document=document,
        effective_from=TOMORROW,
        actor=world.user("vendor:administrator"),
    )

    assert row.version == 2
    assert row.effective_from == TOMORROW
    assert row.to_config().effective_from == TOMORROW


def test_a_version_may_start_now_or_within_the_last_minute(world, program):
    actor = world.user("vendor:administrator")

    at_now = config_version_create(
        program=program, document=spec_document(), effective_from=NOW, actor=actor
    )
    a_moment_ago = config_version_create(
        program=program,
        document=spec_document(),
        effective_from=NOW - dt.timedelta(seconds=59),
        actor=actor,
    )

    assert (at_now.version, a_moment_ago.version) == (2, 3)
    # A time typed in the last minute is stored as now: nothing before now is judged by it.
    assert a_moment_ago.effective_from == NOW
    assert current_config(program).version == 3
    assert current_config(program, NOW - dt.timedelta(seconds=1)).version == 1


def test_a_version_in_the_past_is_refused_and_nothing_is_stored(world, program):
    with pytest.raises(ValidationFailed) as caught:
        config_version_create(
            program=program,
            document=with_level_2_first_rate("40"),
            effective_from=NOW - dt.timedelta(minutes=2),
            actor=world.user("vendor:administrator"),
        )

    assert list(caught.value.fields) == ["effective_from"]
    assert "прошедшей даты" in str(caught.value.fields["effective_from"][0])
    assert not ConfigVersion.objects.exists()
    assert not OutboxEvent.objects.filter(event_type="referrals.config.changed").exists()


def test_a_version_records_an_audit_row_with_both_documents(world, program):
    manager = world.user("vendor:program_manager")

    row = config_version_create(
        program=program,
        document=with_level_2_first_rate("40"),
        effective_from=TOMORROW,
        actor=manager,
        comment="Ставка 40%",
    )

    audit = AuditEvent.objects.filter(
        action="referrals.config.created", object_id=str(row.pk)
    ).get()
    assert audit.actor_user_id == manager.pk
    assert audit.organisation_id == world.vendor.pk
    assert audit.object_type == "referrals.configversion"
    assert audit.before["version"] == 1
    assert audit.before["document"]["levels"][2]["first_rate"] == "35"
    assert audit.after["version"] == 2
    assert audit.after["document"]["levels"][2]["first_rate"] == "40"
    assert audit.after["effective_from"] == TOMORROW.isoformat()
    assert audit.after["comment"] == "Ставка 40%"


def test_a_version_is_announced_through_the_outbox(world, program):
    row = config_version_create(
        program=program,
        document=spec_document(),
        effective_from=TOMORROW,
        actor=world.user("vendor:administrator"),
    )

    event = OutboxEvent.objects.get(event_type="referrals.config.changed")
    assert event.payload == {"program_id": program.pk, "version": row.version}
    assert event.organisation_id == world.vendor.pk


@pytest.mark.django_db(transaction=True)
def test_staff_saving_at_the_same_moment_get_distinct_numbers(world, program):
    config_version_ensure_initial(program=program)
    actor = world.user("vendor:administrator")
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def save() -> None:
        try:
            barrier.wait(timeout=10)
            config_version_create(
                program=program, document=spec_document(), effective_from=TOMORROW, actor=actor
            )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=save) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    numbers = sorted(
        ConfigVersion.objects.filter(program=program).values_list("version", flat=True)
    )
    assert numbers == [1, 2, 3, 4, 5]


# --- every bad value names its field ----------------------------------------------------------


def _points(product: str, months: str, value) -> dict:
    document = spec_document()
    document["points"][product][months] = value
    return document


def _level(index: int, **changes) -> dict:
    document = spec_document()
    document["levels"][index].update(changes)
    return document


def _new_product_without_line() -> dict:
    document = spec_document()
    document["points"]["disk.5tb"] = {"3": 30}
    return document


BAD_DOCUMENTS = [
    pytest.param(_points("tariff.team", "3", -15), "points.tariff.team.3", id="negative-points"),
    pytest.param(_points("tariff.team", "3", "15"), "points.tariff.team.3", id="points-as-text"),
    pytest.param(_points("users.12", "0", 3), "points.users.12.0", id="zero-months"),
    pytest.param(_new_product_without_line(), "product_lines.disk.5tb", id="product-no-line"),
    pytest.param(_level(2, min_points=10), "levels", id="thresholds-do-not-grow"),
    pytest.param(_level(3, first_rate="150"), "levels", id="rate-over-100"),
    pytest.param(_level(1, first_rate="двадцать"), "levels.1.first_rate", id="rate-not-number"),
    pytest.param(_level(1, later_rate="-20"), "levels.1.later_rate", id="negative-rate"),
    pytest.param(spec_document(activation_bonus="-100"), "activation_bonus", id="negative-bonus"),
    pytest.param(spec_document(activation_bonus=100.5), "activation_bonus", id="float-bonus"),
    pytest.param(spec_document(review_period_months=0), "review_period_months", id="review-0"),
    pytest.param(
        spec_document(points_lifetime_months=0), "points_lifetime_months", id="lifetime-0"
    ),
    pytest.param(
        spec_document(activation_window_months="1"), "activation_window_months", id="window-text"
    ),
    pytest.param(
        spec_document(conversion_minimum="пять тысяч"), "conversion_minimum", id="minimum-text"
    ),
    pytest.param(spec_document(landing_url="ftp://bitrix24.ru/"), "landing_url", id="ftp-url"),
    pytest.param(spec_document(referral_param="p p"), "referral_param", id="param-space"),
    pytest.param(spec_document(timezone="Europe/Atlantis"), "timezone", id="unknown-zone"),
    pytest.param(
        spec_document(client_bonus_options=[]), "client_bonus_options", id="no-bonus-options"
    ),
    pytest.param(
        spec_document(
            client_bonus_options=[
                {"code": "month", "label": "+1 месяц"},
                {"code": "month", "label": "+2 месяца"},
            ]
        ),
        "client_bonus_options",
        id="duplicate-option",
    ),
]


@pytest.mark.parametrize(("document", "field"), BAD_DOCUMENTS)
def test_a_bad_value_is_refused_naming_its_field_and_nothing_is_stored(
    world, program, document, field
):
    with pytest.raises(ValidationFailed) as caught:
        config_version_create(
            program=program,
            document=document,
            effective_from=TOMORROW,
            actor=world.user("vendor:administrator"),
        )

    assert list(caught.value.fields) == [field]
    message = str(caught.value.fields[field][0])
    assert any("а" <= ch <= "я" for ch in message.lower()), f"not Russian: {message}"
    assert not ConfigVersion.objects.exists()
    assert not AuditEvent.objects.filter(action="referrals.config.created").exists()


def test_a_naive_effective_time_is_refused(world, program):
    with pytest.raises(ValidationFailed) as caught:
        config_version_create(
            program=program,
            document=spec_document(),
            effective_from=dt.datetime(2026, 3, 11, 0, 0),
            actor=world.user("vendor:administrator"),
        )

    assert list(caught.value.fields) == ["effective_from"]


def test_a_past_time_and_a_bad_value_are_both_named(world, program):
    with pytest.raises(ValidationFailed) as caught:
        config_version_create(
            program=program,
            document=spec_document(landing_url="bitrix24"),
            effective_from=NOW - dt.timedelta(days=1),
            actor=world.user("vendor:administrator"),
        )

    assert sorted(caught.value.fields) == ["effective_from", "landing_url"]


def test_the_minimum_of_a_number_is_in_the_message(world, program):
    with pytest.raises(ValidationFailed) as caught:
        config_version_create(
            program=program,
            document=spec_document(review_period_months=0),
            effective_from=TOMORROW,
            actor=world.user("vendor:administrator"),
        )

    assert str(caught.value.fields["review_period_months"][0]) == (
        "Введите целое число не меньше 1."
    )


# --- reading ----------------------------------------------------------------------------------


def test_a_new_version_is_seen_at_once_by_the_cached_set(world, program):
    before = config_set(program)
    config_version_create(
        program=program,
        document=with_level_2_first_rate("40"),
        effective_from=TOMORROW,
        actor=world.user("vendor:administrator"),
    )

    after = config_set(program)

    assert [c.version for c in before.versions] == [1]
    assert [c.version for c in after.versions] == [1, 2]
    assert after.at(TOMORROW).level(2).first_rate == Decimal("40")


def test_a_version_written_by_another_process_is_seen_without_forgetting_the_cache(program):
    config_set(program)  # cached: no versions
    ConfigVersion.objects.create(
        program=program, version=1, effective_from=EPOCH, document=config_initial_document()
    )
    ConfigVersion.objects.create(
        program=program,
        version=2,
        effective_from=TOMORROW,
        document=with_level_2_first_rate("45"),
    )

    configs = config_set(program)

    assert configs.at(TOMORROW).level(2).first_rate == Decimal("45")


def test_a_cached_set_costs_one_query(world, program, django_assert_num_queries):
    config_version_create(
        program=program,
        document=spec_document(),
        effective_from=TOMORROW,
        actor=world.user("vendor:administrator"),
    )
    first = config_set(program)

    with django_assert_num_queries(1):
        again = config_set(program)

    assert again is first


@pytest.mark.parametrize("months", ["²", "١٢", "99999", "0", "-1"])
def test_months_of_the_points_table_are_a_short_run_of_ascii_digits(months):
    """ "²".isdigit() is true but int("²") raises: such a month was a 500, now a ConfigError."""
    doc = config_to_dict(DEFAULT)
    doc["points"] = {"product": {months: 10}}
    with pytest.raises(ConfigError):
        config_from_dict(doc)
