"""The e-mails share their layout blocks (issue 16, item 5): the recipient line, the heading, the
button, the table of facts and the notes are partials under
``templates/notifications/email/partials/``, so a block's inline style is written once and every
e-mail kind renders the same block."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.template import Context, Template, TemplateSyntaxError

import partnerhub
from partnerhub.notifications.services import email_render

EMAILS = Path(partnerhub.__file__).resolve().parent / "templates" / "notifications" / "email"
PARTIALS = EMAILS / "partials"
KINDS = sorted(path.name.removesuffix(".subject.txt") for path in EMAILS.glob("*.subject.txt"))
#: Kinds whose table of facts lists what the event is about.
WITH_FACTS = {
    "payouts_changed",
    "referrals_bonus_activation",
    "referrals_level_down",
    "referrals_level_up",
    "referrals_points_expiring",
    "referrals_reward_accrued",
}
#: Kinds that do not name the recipient organisation: the invitation and the staff's digest.
DIGESTS_AND_INVITATION = {"invitation", "payouts_digest"}


def _style(partial: str) -> str:
    """The first inline style of ``partial``."""
    found = re.search(r'style="([^"]+)"', (PARTIALS / partial).read_text(encoding="utf-8"))
    assert found is not None
    return found.group(0)


def _context(*, settings_link: str) -> dict[str, object]:
    lead = SimpleNamespace(
        pk=7,
        company_name="ООО «Ромашка»",
        published_at=dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 3, 8, 10, tzinfo=dt.UTC),
        region="Москва",
        company_size="10–50",
        need="CRM",
        contact_name="Иван",
        contact_phone="",
        contact_email="",
    )
    payout = SimpleNamespace(
        pk=12,
        organisation=SimpleNamespace(short_name="Альфа"),
        amount="1 000,00",
        get_state_display="Принята",
        due_on=dt.date(2026, 3, 2),
    )
    return {
        "title": "Заголовок письма",
        "body": "Текст письма",
        "organisation": "ООО «Альфа» & Co",
        "link": "https://partners.example.ru/cabinet/",
        "settings_link": settings_link,
        "role": "Менеджер",
        "ttl_days": 7,
        "leads": [lead],
        "number": 42,
        "amount": "5 000,00 ₽",
        "code": "ABC1",
        "client": "Клиент <1>",
        "old": "Silver",
        "new": "Gold",
        "at": "01.03.2026",
        "points": 15,
        "expires_at": "02.03.2026",
        "rate": "10 %",
        "on": dt.date(2026, 3, 1),
        "overdue": [payout],
        "due_today": [],
    }


def test_every_email_kind_is_covered():
    assert len(KINDS) == 15
    assert set(KINDS) >= WITH_FACTS | DIGESTS_AND_INVITATION


@pytest.mark.parametrize("kind", KINDS)
def test_each_email_renders_the_shared_blocks(kind):
    html = email_render(
        template=kind, context=_context(settings_link="https://x.test/s"), language="ru"
    ).html

    assert html.count(_style("button.html")) == 1
    assert html.count(_style("heading.html")) == (0 if kind == "invitation" else 1)
    assert html.count(_style("facts.html")) == (1 if kind in WITH_FACTS else 0)
    named = kind not in DIGESTS_AND_INVITATION
    assert (_style("muted.html") + ">Уведомление для ООО «Альфа» &amp; Co.<" in html) is named


@pytest.mark.parametrize("kind", sorted(WITH_FACTS | {"leads_digest", "leads_deal_stale"}))
def test_the_settings_note_appears_only_with_a_settings_link(kind):
    with_link = email_render(
        template=kind, context=_context(settings_link="https://x.test/s"), language="ru"
    )
    without = email_render(template=kind, context=_context(settings_link=""), language="ru")

    note = "Эти письма можно отключить в настройках:"
    assert f'{note} <a href="https://x.test/s">' in with_link.html
    assert note in with_link.text
    assert note not in without.html
    assert note not in without.text


def test_no_email_repeats_a_partials_inline_style():
    styles = {_style(path.name) for path in PARTIALS.glob("*.html") if "style=" in path.read_text()}
    assert len(styles) >= 5
    copies = [
        f"{path.name}: {style}"
        for path in EMAILS.glob("*.html")
        if path.name != "base.html"
        for style in styles
        if style in path.read_text(encoding="utf-8")
    ]
    assert copies == []


def test_the_table_of_facts_lists_labels_and_escaped_values_in_order():
    context = _context(settings_link="")
    html = email_render(template="referrals_reward_accrued", context=context, language="en").html

    rows = re.findall(r"<tr><th [^>]*>([^<]*)</th><td [^>]*>([^<]*)</td></tr>", html)
    assert rows == [
        ("Partner code", "ABC1"),
        ("Client", "Клиент &lt;1&gt;"),
        ("Rate", "10 %"),
        ("Reward", "5 000,00 ₽"),
    ]


def test_a_payout_number_reads_with_the_number_sign():
    html = email_render(
        template="payouts_changed", context=_context(settings_link=""), language="ru"
    ).html

    assert ">Выплата</th><td " in html
    assert 'font-weight:700;">№ 42</td>' in html


def test_the_table_of_facts_takes_pairs():
    with pytest.raises(TemplateSyntaxError):
        Template('{% load email_blocks %}{% email_facts "Сумма" %}').render(Context({}))
