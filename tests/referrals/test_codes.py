"""Partner codes (spec: referrals.md, "Joining"): short (6-8 characters), URL-safe, without
look-alike characters, unique; the registering service retries a taken code and grows the
length to 7, then 8 characters after collisions."""

from __future__ import annotations

import datetime as dt
import random
from urllib.parse import quote

import pytest

from partnerhub.partners.models import Organisation, OrgKind
from partnerhub.referrals import codes
from partnerhub.referrals.codes import ALPHABET, generate_partner_code
from partnerhub.referrals.models import ReferralPartner
from partnerhub.referrals.services import partners as partner_services
from tests.referrals.links_support import MSK, record_portal_events, referral_program, register

T0 = dt.datetime(2026, 1, 12, 9, 0, tzinfo=MSK)


@pytest.fixture
def portal_events(monkeypatch):
    return record_portal_events(monkeypatch)


def test_alphabet_has_no_look_alikes_and_no_lower_case():
    assert not set("0O1lIL") & set(ALPHABET)
    assert ALPHABET.upper() == ALPHABET
    assert len(set(ALPHABET)) == len(ALPHABET) == 31


def test_codes_use_only_the_alphabet_and_all_of_it():
    rng = random.Random(5)
    generated = [generate_partner_code(rng) for _ in range(2000)]
    used = set("".join(generated))
    assert used == set(ALPHABET)
    assert all(len(code) == 6 for code in generated)


@pytest.mark.parametrize("length", [6, 7, 8])
def test_codes_have_6_to_8_url_safe_characters(length):
    code = generate_partner_code(random.Random(length), length=length)
    assert len(code) == length
    assert quote(code, safe="") == code


@pytest.mark.parametrize("length", [5, 9])
def test_a_code_length_outside_6_to_8_is_refused(length):
    with pytest.raises(ValueError, match="6-8"):
        generate_partner_code(length=length)


def test_many_generations_rarely_repeat():
    # 31^6 = 887,503,681 codes: 20,000 draws repeat with probability ~0.2 (and the service
    # retries a repeat); with this seed none does.
    rng = random.Random(2026)
    generated = [generate_partner_code(rng) for _ in range(20_000)]
    assert len(set(generated)) == len(generated)


def test_default_generator_is_the_systems_not_a_seeded_one():
    assert isinstance(generate_partner_code.__defaults__[0], random.SystemRandom)


def _partner_org(n: int) -> Organisation:
    return Organisation.objects.create(kind=OrgKind.PARTNER, short_name=f"ООО «П{n}»", inn="")


def test_a_taken_code_is_retried_and_the_length_grows_after_collisions(
    world, monkeypatch, portal_events
):
    # Given partner codes BBBBBB and BBBBBBB are taken
    program = referral_program(world.vendor)
    ReferralPartner.objects.create(
        program=program, organisation=_partner_org(1), code="BBBBBB", registered_at=T0
    )
    ReferralPartner.objects.create(
        program=program, organisation=_partner_org(2), code="BBBBBBB", registered_at=T0
    )
    asked: list[int] = []

    def unlucky(rng=None, length=6):
        asked.append(length)
        return "B" * length

    monkeypatch.setattr(codes, "generate_partner_code", unlucky)

    # When partner A registers and the generator keeps drawing taken codes
    partner = register(program, world.partner_a)

    # Then three tries at 6 characters, three at 7, and the first at 8 wins
    assert asked == [6, 6, 6, 7, 7, 7, 8]
    assert partner.code == "BBBBBBBB"
    assert [e["fields"]["partner"] for e in portal_events] == ["BBBBBBBB"]


def test_registration_gives_up_when_no_code_is_free(world, monkeypatch, portal_events):
    program = referral_program(world.vendor)
    for length in (6, 7, 8):
        ReferralPartner.objects.create(
            program=program,
            organisation=_partner_org(length),
            code="C" * length,
            registered_at=T0,
        )
    monkeypatch.setattr(codes, "generate_partner_code", lambda rng=None, length=6: "C" * length)

    with pytest.raises(partner_services.CodeSpaceExhausted):
        register(program, world.partner_a)
    assert not ReferralPartner.objects.filter(organisation=world.partner_a).exists()
    assert portal_events == []


def test_codes_stay_unique_in_a_crowded_code_space(world, monkeypatch, portal_events):
    # Given an alphabet of two letters: 64 codes of 6 characters, 128 of 7, 256 of 8
    monkeypatch.setattr(codes, "ALPHABET", "AB")
    program = referral_program(world.vendor)

    # When 100 partners register
    partners = [register(program, _partner_org(n)) for n in range(100)]

    # Then every code is different, some had to grow, none is longer than 8
    found = [p.code for p in partners]
    assert len(set(found)) == 100
    assert {len(code) for code in found} <= {6, 7, 8}
    assert max(len(code) for code in found) > 6
