"""URLs of the backoffice for payouts (issue 6), included in ``backoffice/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.backoffice import payout_views as v

urlpatterns: list[URLPattern] = [
    path("payouts/", v.payouts, name="payouts"),
    path("payouts/<int:pk>/", v.payout_detail, name="payout_detail"),
    path("payouts/<int:pk>/accept/", v.payout_accept, name="payout_accept"),
    path("payouts/<int:pk>/reject/", v.payout_reject, name="payout_reject"),
    path("payouts/registers/", v.registers, name="payout_registers"),
    path("payouts/registers/new/", v.register_create, name="payout_register_create"),
    path("payouts/registers/<int:pk>/", v.register_detail, name="payout_register"),
    path("payouts/registers/<int:pk>/export.csv", v.register_csv, name="payout_register_csv"),
    path("payouts/registers/<int:pk>/export-1c.txt", v.register_1c, name="payout_register_1c"),
    path("payouts/registers/<int:pk>/paid/", v.register_mark_paid, name="payout_register_paid"),
    path("payouts/registers/<int:pk>/cancel/", v.register_cancel, name="payout_register_cancel"),
]
