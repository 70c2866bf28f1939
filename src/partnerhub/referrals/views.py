"""The public landing redirect ``/r/<code>`` of referral links (issue 5, item 6).

A known, unblocked partner code: the click is recorded (time, referer, hashed IP, user agent), a
first-party cookie ``partnerhub_ref=<code>`` is set for the program's attribution window, and the
visitor goes on to the landing URL with the code in its query. Anything else (an unknown code, a
blocked partner) goes on to the landing URL without a code: a visitor with an old link never sees
an error page.

Not counted as clicks (they still redirect): HEAD requests and user agents that name themselves
as bots, crawlers or link previews (messengers fetch a link to show its preview; that is not a
visit). Those requests get no cookie either.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from partnerhub.core.access import PUBLIC, access
from partnerhub.core.audit import client_ip
from partnerhub.core.clock import now
from partnerhub.referrals.selectors import links as selectors
from partnerhub.referrals.services import links as services

COOKIE_NAME = "partnerhub_ref"
SECONDS_A_DAY = 86400

#: User agents of robots and link previews (Telegram, Slack, WhatsApp, VK, Facebook...).
BOT_USER_AGENT = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|vkshare|curl/|wget/",
    re.IGNORECASE,
)


def _is_robot(request: HttpRequest) -> bool:
    return request.method == "HEAD" or bool(
        BOT_USER_AGENT.search(request.headers.get("User-Agent", ""))
    )


@access(PUBLIC)
@never_cache  # every visit must reach us to be counted and to refresh the cookie
@require_http_methods(["GET", "HEAD"])
def referral_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Count the click, remember the code in a cookie, send the visitor to the landing page."""
    partner = selectors.referral_partner_by_code(code)
    if partner is None:
        return HttpResponseRedirect(selectors.landing_url_without_partner())
    if partner.blocked:
        return HttpResponseRedirect(selectors.program_config(partner.program).landing_url)
    moment = now()
    config = selectors.program_config(partner.program, at=moment)
    response = HttpResponseRedirect(
        selectors.landing_url_with(config.landing_url, config.referral_param, partner.code)
    )
    if _is_robot(request):
        return response
    services.referral_click_record(
        partner=partner,
        ip=client_ip(request) or "",
        referer=request.headers.get("Referer", ""),
        user_agent=request.headers.get("User-Agent", ""),
        at=moment,
    )
    response.set_cookie(
        COOKIE_NAME,
        partner.code,
        max_age=config.attribution_window_days * SECONDS_A_DAY,
        samesite="Lax",
        httponly=True,
        secure=bool(getattr(settings, "HTTPS", False)),
    )
    return response
