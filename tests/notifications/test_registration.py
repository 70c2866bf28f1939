"""Each app registers its notification rules when it is ready (issue 16): the table holds the
rules of every program, and one event type cannot get two rules."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ImproperlyConfigured

from partnerhub.notifications import rules
from partnerhub.notifications.rules import register, rule_for


@pytest.mark.parametrize(
    ("event_type", "module"),
    [
        ("partners.enrolment.active", "partnerhub.notifications.rules"),
        ("partners.status.granted", "partnerhub.notifications.rules_partners"),
        ("referrals.level.up", "partnerhub.referrals.notification_rules"),
        ("contracts.contract.signed", "partnerhub.contracts.notification_rules"),
        ("payouts.payout.paid", "partnerhub.payouts.notification_rules"),
        ("leads.digest", "partnerhub.leads.notification_rules"),
    ],
)
def test_every_app_has_registered_its_rules_by_the_time_django_is_ready(event_type, module):
    rule = rule_for(event_type)

    assert rule is not None
    assert rule.context.__module__ == module


def test_a_second_rule_for_a_taken_event_type_is_refused(monkeypatch):
    monkeypatch.setattr(rules, "RULES", dict(rules.RULES))
    taken = rule_for("leads.digest")
    assert taken is not None

    register(taken)  # the same rule again (a module imported twice): nothing changes
    with pytest.raises(ImproperlyConfigured, match=r"leads\.digest"):
        register(dataclasses.replace(taken, email=None))

    assert rules.RULES["leads.digest"] is taken
