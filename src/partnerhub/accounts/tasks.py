"""Background tasks of identity (Huey). Tasks take ids, reload, and are safe to run twice."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from huey.contrib.djhuey import db_task

from partnerhub.accounts.models import Invitation


@db_task(retries=3, retry_delay=30)
def send_invitation_email(invitation_id: int, raw_token: str) -> None:
    """Send the invitation link to the invited address (skipped once accepted or revoked)."""
    invitation = Invitation.objects.select_related("organisation", "invited_by").get(
        pk=invitation_id
    )
    if invitation.accepted_at or invitation.revoked_at:
        return
    link = settings.SITE_URL + reverse("accounts:invitation_accept", args=[raw_token])
    context = {"invitation": invitation, "link": link, "ttl_days": settings.INVITATION_TTL_DAYS}
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string("accounts/email/invitation_subject.txt", context).strip()
        text = render_to_string("accounts/email/invitation.txt", context)
        html = render_to_string("accounts/email/invitation.html", context)
    message = EmailMultiAlternatives(subject, text, to=[invitation.email])
    message.attach_alternative(html, "text/html")
    message.send()
