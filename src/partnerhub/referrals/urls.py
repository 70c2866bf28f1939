"""Public URLs of the referral program (mounted at the site root): the referral link
``/r/<code>`` (a trailing slash, as some messengers add, is accepted too)."""

from django.urls import re_path

from partnerhub.referrals import views

app_name = "referrals"

urlpatterns = [
    re_path(r"^r/(?P<code>[^/]{1,64})/?$", views.referral_redirect, name="referral_redirect"),
]
