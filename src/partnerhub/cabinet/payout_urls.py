"""URLs of the cabinet for payouts (issue 6), included in ``cabinet/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.cabinet import payout_views

urlpatterns: list[URLPattern] = [
    path("payouts/", payout_views.payouts, name="payouts"),
    path("payouts/convert/", payout_views.payout_convert, name="payout_convert"),
    path("payouts/<int:pk>/", payout_views.payout_detail, name="payout_detail"),
    path("payouts/<int:pk>/sent/", payout_views.payout_mark_sent, name="payout_mark_sent"),
]
