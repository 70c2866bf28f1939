"""The EDO participant id check (a pure function): the operator's prefix, then a GUID or the
organisation's INN (with KPP); at most 46 characters."""

from __future__ import annotations

import pytest

from partnerhub.contracts.edo import edo_id_error, normalise_edo_id

GUID = "E0D7C3D8-0C57-4C6A-A32D-4F0D6F5E37F3"


@pytest.mark.parametrize(
    ("operator", "participant_id"),
    [
        ("diadoc", "2BM-7707083893-770701001"),
        ("diadoc", "2BM-7707083893-770701001-201205280232044463093"),
        ("taxcom", f"2AL-{GUID}-00000"),
        ("taxcom", f"2AL-{GUID}"),
        ("sbis", f"2BE-{GUID.replace('-', '')}"),
        ("sbis", "2BE-500100732259"),  # an individual entrepreneur's 12-digit INN
    ],
)
def test_an_id_with_the_operators_prefix_and_a_guid_or_inn_is_accepted(operator, participant_id):
    assert edo_id_error(operator, participant_id) is None


@pytest.mark.parametrize(
    ("operator", "participant_id", "prefix"),
    [
        ("diadoc", "2AL-7707083893-770701001", "2BM"),
        ("taxcom", "2BM-7707083893-770701001", "2AL"),
        ("sbis", "2BM-7707083893-770701001", "2BE"),
        ("sbis", "7707083893-770701001", "2BE"),
    ],
)
def test_an_id_of_another_operator_is_refused_naming_the_expected_prefix(
    operator, participant_id, prefix
):
    error = edo_id_error(operator, participant_id)

    assert error == f"ID участника ЭДО у этого оператора начинается с «{prefix}-»."


@pytest.mark.parametrize(
    "participant_id",
    [
        "2BM-",
        "2BM-12345",  # too short for an INN
        "2BM-7707083893-7707",  # a KPP must have 9 digits
        "2BM-ООО Альфа",
        "2BM-E0D7C3D8-0C57-4C6A-A32D",  # a truncated GUID
    ],
)
def test_garbage_after_the_prefix_is_refused(participant_id):
    error = edo_id_error("diadoc", participant_id)

    assert error is not None
    assert "ожидается GUID или ИНН" in error


def test_an_id_longer_than_46_characters_is_refused():
    participant_id = "2BM-7707083893-770701001-" + "1" * 22  # 47 characters

    assert edo_id_error("diadoc", participant_id) == "ID участника ЭДО длиннее 46 символов."


def test_an_id_with_the_inn_of_another_organisation_is_refused():
    error = edo_id_error("diadoc", "2BM-7728123459-772801001", inn="7707083893")

    assert error == "ID участника ЭДО содержит ИНН другой организации."


def test_an_unknown_operator_and_an_empty_id_are_refused():
    assert edo_id_error("kontur-x", "2BM-7707083893") == "Выберите оператора ЭДО."
    assert edo_id_error("diadoc", "  ") == "Укажите ID участника ЭДО."


def test_spaces_are_dropped_and_letters_upper_cased():
    assert normalise_edo_id(" 2bm-7707083893 -770701001 ") == "2BM-7707083893-770701001"
    assert edo_id_error("taxcom", f" 2al-{GUID.lower()} ") is None
