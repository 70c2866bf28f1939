"""Names without bidi controls and invisible characters (issue 14, item 6): ``clean_name``."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from partnerhub.core.text import BIDI_CONTROLS, clean_name

BIDI = sorted(BIDI_CONTROLS)


@pytest.mark.parametrize("control", BIDI)
def test_every_bidi_control_is_removed(control):
    assert clean_name(f"ООО «Альфа{control}» exe.fdp{control}") == "ООО «Альфа» exe.fdp"


def test_the_right_to_left_override_of_the_issue_is_removed():
    assert clean_name("ООО \u202eатеБ") == "ООО атеБ"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Аль\u200bфа", "Альфа"),  # zero-width space
        ("\ufeffАльфа\u2060", "Альфа"),  # BOM, word joiner
        ("Аль\u00adфа", "Альфа"),  # soft hyphen
        ("\u200dАльфа\u200c", "Альфа"),  # joiners at the ends
        ("Альфа \u200d Бета", "Альфа Бета"),  # a joiner that joins nothing
        ("\u3164", ""),  # Hangul filler: an "empty" name
        ("  ООО\t«Альфа»\r\n", "ООО «Альфа»"),
        ("a\u2028b", "a b"),
        (None, ""),
    ],
)
def test_invisible_characters_are_removed_and_spaces_collapsed(raw, clean):
    assert clean_name(raw) == clean


@pytest.mark.parametrize(
    "name",
    [
        "ООО «Альфа-Сервис»",
        "می\u200cخواهم",  # Persian: a non-joiner inside a word is spelling
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # an emoji family sequence
        "ИП Иванов И. И.",
    ],
)
def test_real_names_are_kept(name):
    assert clean_name(name) == name


@given(hs.text())
def test_clean_names_hold_no_controls_and_cleaning_twice_changes_nothing(raw):
    clean = clean_name(raw)

    assert not set(clean) & BIDI_CONTROLS
    assert all(unicodedata.category(c) not in {"Cc", "Cf"} or c in "\u200c\u200d" for c in clean)
    assert clean == clean.strip()
    assert clean_name(clean) == clean
