"""The partner cabinet pages: the card form, history, employees, programs."""

from partnerhub.partners.models import CardChange, Enrolment
from tests.factories import COMPLETE_UL_CARD, ProgramFactory


def card_post(**overrides):
    data = {**COMPLETE_UL_CARD, "inn": "7707083893", **overrides}
    data["vat_payer"] = "on" if data.get("vat_payer") else ""
    return data


def test_card_edit_with_a_bad_inn_shows_the_error_under_the_field(world, login_as):
    response = login_as("a:owner").post("/cabinet/card/edit/", card_post(inn="7707083894"))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'data-field="inn"' in page
    assert "ИНН" in page.split('data-field="inn"')[1][:200]
    world.partner_a.refresh_from_db()
    assert world.partner_a.kpp == ""
    assert not CardChange.objects.exists()


def test_card_edit_saves_a_valid_card_and_shows_it_complete(world, login_as):
    client = login_as("a:accountant")
    response = client.post("/cabinet/card/edit/", card_post())
    assert response.status_code == 302
    page = client.get("/cabinet/card/").content.decode()
    assert "Карточка заполнена полностью." in page
    assert CardChange.objects.filter(organisation=world.partner_a).count() >= 10


def test_card_history_lists_who_changed_what(world, login_as):
    client = login_as("a:owner")
    client.post("/cabinet/card/edit/", card_post(kpp="773601001"))
    page = client.get("/cabinet/card/history/").content.decode()
    assert "КПП" in page
    assert "773601001" in page
    assert "owner@a.example" in page


def test_manager_sees_the_card_without_the_edit_button(world, login_as):
    page = login_as("a:manager").get("/cabinet/card/").content.decode()
    assert "/cabinet/card/edit/" not in page


def test_owner_sees_the_invitation_form_and_others_do_not(world, login_as):
    assert (
        'action="/cabinet/employees/invite/"'
        in login_as("a:owner").get("/cabinet/employees/").content.decode()
    )
    assert (
        'action="/cabinet/employees/invite/"'
        not in login_as("a:developer").get("/cabinet/employees/").content.decode()
    )


def test_invite_with_a_bad_email_names_the_field(world, login_as):
    response = login_as("a:owner").post(
        "/cabinet/employees/invite/", {"email": "nope", "role": "manager"}
    )
    assert response.status_code == 400
    assert 'data-field="email"' in response.content.decode()


def test_manager_applies_to_a_program(world, login_as):
    program = ProgramFactory(vendor=world.vendor, name="Биржа лидов")
    client = login_as("a:manager")
    response = client.post(f"/cabinet/programs/{program.pk}/apply/", follow=True)
    assert "Заявка на участие в «Биржа лидов» подана." in response.content.decode()
    assert Enrolment.objects.get().organisation == world.partner_a


def test_employees_page_needs_few_queries(world, login_as, django_assert_max_num_queries):
    client = login_as("a:owner")
    with django_assert_max_num_queries(10):
        client.get("/cabinet/employees/")


def test_english_interface(world, login_as):
    client = login_as("a:owner")
    client.post("/i18n/setlang/", {"language": "en", "next": "/cabinet/"})
    page = client.get("/cabinet/card/").content.decode()
    assert '<html lang="en">' in page
    assert "Organisation card" in page
