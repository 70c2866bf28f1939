"""Promo codes (spec: referrals.md, "Promo codes"): 4-32 letters, digits and "-", unique in the
program case-insensitively (also under parallel creation), a client bonus from the vendor's
options, a validity period from today up to the vendor's maximum (365 days by default);
deactivation; each refusal names its field, in Russian, and stores nothing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from partnerhub.core.errors import Conflict, ValidationFailed
from partnerhub.core.models.audit import AuditEvent
from partnerhub.referrals.models import PromoCode
from partnerhub.referrals.selectors.links import PromoState, promo_code_state, promo_codes_of
from partnerhub.referrals.services.links import promo_code_create, promo_code_deactivate
from partnerhub.referrals.services.partners import referral_partner_block
from tests.referrals.links_support import (
    MSK,
    record_portal_events,
    referral_program,
    register,
    use_config,
)

NOW = dt.datetime(2026, 3, 10, 11, 0, tzinfo=MSK)
TODAY = dt.date(2026, 3, 10)


@pytest.fixture
def portal_events(monkeypatch):
    return record_portal_events(monkeypatch)


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


@pytest.fixture
def partner(world, program, portal_events):
    return register(program, world.partner_a)


def create(partner, actor=None, **overrides):
    values = {
        "code": "SPRING-2026",
        "client_bonus": "month",
        "valid_from": TODAY,
        "valid_until": dt.date(2026, 3, 31),
    }
    values.update(overrides)
    return promo_code_create(partner=partner, actor=actor, **values)


def field_errors(excinfo) -> dict[str, list[str]]:
    return {name: [str(m) for m in msgs] for name, msgs in excinfo.value.fields.items()}


def test_a_promo_code_is_created_with_its_event_and_audit_row(world, partner, portal_events, clock):
    owner = world.user("a:owner")
    promo = create(partner, actor=owner)

    assert promo.code == "SPRING-2026"
    assert promo.code_key == "spring-2026"
    assert promo.program == partner.program
    assert promo.created_by == owner
    assert promo.created_at == NOW
    assert portal_events[-1] == {
        "program": partner.program,
        "type": "promo_code.created",
        "at": NOW,
        "fields": {
            "partner": partner.code,
            "code": "SPRING-2026",
            "client_bonus": "month",
            "valid_from": "2026-03-10T00:00:00+03:00",
            # valid through 31 March: the event's end is exclusive, 1 April at Moscow midnight
            "valid_until": "2026-04-01T00:00:00+03:00",
        },
    }
    row = AuditEvent.objects.get(action="referrals.promo_code.created")
    assert row.actor_user_id == owner.pk
    assert row.organisation_id == world.partner_a.pk


def test_cyrillic_letters_and_surrounding_spaces(partner, clock):
    promo = create(partner, code="  Весна-2026 ")
    assert promo.code == "Весна-2026"
    assert promo.code_key == "весна-2026"


@pytest.mark.parametrize("code", ["ABCD", "A" * 32, "2026", "ёжик"])
def test_codes_of_4_to_32_letters_and_digits_are_accepted(partner, clock, code):
    assert create(partner, code=code).code == code


@pytest.mark.parametrize(
    "code", ["ABC", "A" * 33, "SALE_2026", "SALE 2026", "SALE!", "", "ÄPFEL-1"]
)
def test_a_code_of_the_wrong_length_or_characters_is_refused(partner, clock, code):
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, code=code)
    assert field_errors(excinfo) == {
        "code": ["От 4 до 32 символов: буквы (латиница или кириллица), цифры и дефис «-»."]
    }


def test_the_same_code_in_another_case_is_taken(world, partner, portal_events, clock):
    create(partner, code="Spring")
    other = register(partner.program, world.partner_b)

    with pytest.raises(ValidationFailed) as excinfo:
        create(other, code="sPRING")

    assert field_errors(excinfo) == {
        "code": ["Такой промокод уже есть в программе (регистр букв не важен)."]
    }
    assert PromoCode.objects.count() == 1
    assert [e["type"] for e in portal_events].count("promo_code.created") == 1


def test_the_same_code_may_exist_in_another_program(world, partner, clock):
    create(partner, code="SPRING")
    elsewhere = register(referral_program(world.vendor, name="Вторая"), world.partner_b)
    assert create(elsewhere, code="spring").code == "spring"


def test_a_client_bonus_outside_the_options_is_refused(partner, clock):
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, client_bonus="free-forever")
    assert field_errors(excinfo) == {"client_bonus": ["Выберите бонус клиенту из списка."]}


def test_the_client_bonus_options_are_the_programs(partner, clock, monkeypatch):
    from partnerhub.referrals.engine.config import ClientBonusOption

    use_config(monkeypatch, client_bonus_options=(ClientBonusOption("disk", "+10 ГБ"),))
    with pytest.raises(ValidationFailed):
        create(partner, client_bonus="month")
    assert create(partner, client_bonus="disk").client_bonus == "disk"


def test_a_period_starting_yesterday_is_refused(partner, clock):
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, valid_from=TODAY - dt.timedelta(days=1))
    assert field_errors(excinfo) == {"valid_from": ["Срок действия не может начинаться в прошлом."]}


def test_today_is_the_moscow_date(partner):
    # 22:30 UTC on 9 March is already 10 March in Moscow
    with time_machine.travel(dt.datetime(2026, 3, 9, 22, 30, tzinfo=dt.UTC), tick=False):
        assert create(partner, valid_from=TODAY).valid_from == TODAY


def test_an_end_before_the_start_is_refused(partner, clock):
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, valid_from=dt.date(2026, 3, 20), valid_until=dt.date(2026, 3, 19))
    assert field_errors(excinfo) == {"valid_until": ["Дата окончания раньше даты начала."]}


def test_a_one_day_code_is_fine(partner, clock):
    promo = create(partner, valid_from=TODAY, valid_until=TODAY)
    assert promo.valid_until == TODAY


def test_the_period_is_at_most_365_days_from_its_start(partner, clock):
    start = dt.date(2026, 4, 1)
    assert create(partner, code="MAX-OK", valid_from=start, valid_until=start + dt.timedelta(365))
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, code="TOO-LONG", valid_from=start, valid_until=start + dt.timedelta(366))
    assert field_errors(excinfo) == {
        "valid_until": ["Срок действия — не больше 365 дней от даты начала."]
    }


def test_the_maximum_is_the_programs(partner, clock, monkeypatch):
    use_config(monkeypatch, promo_max_validity_days=30)
    with pytest.raises(ValidationFailed) as excinfo:
        create(partner, valid_until=TODAY + dt.timedelta(31))
    assert list(field_errors(excinfo)) == ["valid_until"]


def test_every_broken_rule_is_reported_at_once_and_nothing_is_stored(partner, portal_events, clock):
    before = len(portal_events)
    with pytest.raises(ValidationFailed) as excinfo:
        create(
            partner,
            code="A",
            client_bonus="x",
            valid_from=TODAY - dt.timedelta(1),
            valid_until=TODAY - dt.timedelta(2),
        )
    assert sorted(field_errors(excinfo)) == ["client_bonus", "code", "valid_from", "valid_until"]
    assert not PromoCode.objects.exists()
    assert len(portal_events) == before
    assert not AuditEvent.objects.filter(action__startswith="referrals.promo_code").exists()


def test_a_blocked_partner_cannot_create_codes(partner, clock):
    referral_partner_block(partner=partner)
    with pytest.raises(Conflict) as excinfo:
        create(partner)
    assert excinfo.value.code == "partner_blocked"
    assert not PromoCode.objects.exists()


def test_deactivation_is_recorded_once(world, partner, portal_events, clock):
    promo = create(partner)

    assert promo_code_deactivate(promo_code=promo, actor=world.user("a:manager")) is True
    assert promo_code_deactivate(promo_code=promo, actor=world.user("a:manager")) is False

    assert promo.deactivated_at == NOW
    deactivations = [e for e in portal_events if e["type"] == "promo_code.deactivated"]
    assert deactivations == [
        {
            "program": partner.program,
            "type": "promo_code.deactivated",
            "at": NOW,
            "fields": {"code": "SPRING-2026"},
        }
    ]
    assert AuditEvent.objects.filter(action="referrals.promo_code.deactivated").count() == 1


def test_a_deactivated_code_stays_taken(partner, clock):
    promo = create(partner)
    promo_code_deactivate(promo_code=promo, actor=None)
    with pytest.raises(ValidationFailed):
        create(partner, code="spring-2026")


def test_states_of_a_code_over_time(partner, clock):
    promo = create(partner, valid_from=dt.date(2026, 3, 12), valid_until=dt.date(2026, 3, 20))

    assert promo_code_state(promo, dt.date(2026, 3, 11)) == PromoState.NOT_YET_VALID
    assert promo_code_state(promo, dt.date(2026, 3, 12)) == PromoState.ACTIVE
    assert promo_code_state(promo, dt.date(2026, 3, 20)) == PromoState.ACTIVE
    assert promo_code_state(promo, dt.date(2026, 3, 21)) == PromoState.EXPIRED
    promo_code_deactivate(promo_code=promo, actor=None)
    assert promo_code_state(promo, dt.date(2026, 3, 15)) == PromoState.DEACTIVATED


def test_the_list_shows_each_code_with_its_state_today(world, partner, clock):
    create(partner, code="NOW-1")
    create(partner, code="LATER-1", valid_from=TODAY + dt.timedelta(5))
    off = create(partner, code="OFF-1")
    promo_code_deactivate(promo_code=off, actor=None)
    other = register(partner.program, world.partner_b)
    create(other, code="B-ONLY")

    rows = promo_codes_of(partner)

    assert [(r.promo_code.code, r.state, r.client_bonus_label) for r in rows] == [
        ("OFF-1", "deactivated", "+1 месяц к тарифу"),
        ("LATER-1", "not_yet_valid", "+1 месяц к тарифу"),
        ("NOW-1", "active", "+1 месяц к тарифу"),
    ]
    clock.move_to(dt.datetime(2026, 4, 1, 0, 0, tzinfo=MSK))
    assert {r.promo_code.code: r.state for r in promo_codes_of(partner)}["NOW-1"] == "expired"


@pytest.mark.django_db(transaction=True)
def test_parallel_creation_of_the_same_code_lets_exactly_one_win(world, monkeypatch, clock):
    # Given two partners of the program
    record_portal_events(monkeypatch)
    program = referral_program(world.vendor)
    partners = [register(program, world.partner_a), register(program, world.partner_b)]
    workers = 6
    barrier = threading.Barrier(workers)
    results: list[str] = []

    def attempt(i: int) -> None:
        try:
            connection.ensure_connection()  # connect first, so the requests really meet
            barrier.wait()
            create(partners[i % 2], code="Summer-Sale" if i % 2 else "SUMMER-sale")
            results.append("created")
        except ValidationFailed as exc:
            results.append("taken" if "code" in exc.fields else f"other {exc.fields}")
        except Exception as exc:  # any other outcome fails the assertion below, by name
            results.append(type(exc).__name__)
        finally:
            connection.close()

    # When six requests create the code in different cases at the same moment
    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    # Then one wins and every other gets the field error
    assert sorted(results) == ["created"] + ["taken"] * (workers - 1)
    assert PromoCode.objects.filter(code_key="summer-sale").count() == 1
