"""URLs of the vendor back office."""

from django.urls import path

from partnerhub.backoffice import (
    audit_views,
    contract_urls,
    document_urls,
    lead_report_urls,
    lead_urls,
    outbox_views,
    partner_urls,
    payout_urls,
    referral_config_views,
    referral_views,
    views,
)

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partners/", views.partners, name="partners"),
    path("partners/<int:pk>/", views.partner_detail, name="partner_detail"),
    path("enrolments/<int:pk>/decide/", views.enrolment_decide, name="enrolment_decide"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("outbox/", outbox_views.outbox, name="outbox"),
    path("outbox/<int:pk>/retry/", outbox_views.outbox_retry, name="outbox_retry"),
    path("referrals/", referral_views.referrals, name="referrals"),
    path("referrals/export.csv", referral_views.export_csv, name="referral_export"),
    path(
        "referrals/partners/<str:code>/",
        referral_views.partner_detail,
        name="referral_partner",
    ),
    path(
        "referrals/partners/<str:code>/adjust/",
        referral_views.partner_adjust,
        name="referral_partner_adjust",
    ),
    path(
        "referrals/clients/unattributed/",
        referral_views.unattributed,
        name="referral_unattributed",
    ),
    path("referrals/events/", referral_views.events, name="referral_events"),
    path(
        "referrals/events/import/",
        referral_views.events_import,
        name="referral_events_import",
    ),
    path("referrals/events/waiting/", referral_views.waiting, name="referral_waiting"),
    path(
        "referrals/events/waiting/drop/",
        referral_views.waiting_drop,
        name="referral_waiting_drop",
    ),
    path("referrals/verify/", referral_views.verify, name="referral_verify"),
    path("referrals/recompute/", referral_views.recompute, name="referral_recompute"),
    path("referrals/config/", referral_config_views.config_current, name="referral_config"),
    path("referrals/config/new/", referral_config_views.config_new, name="referral_config_new"),
    path(
        "referrals/config/<int:version>/",
        referral_config_views.config_version,
        name="referral_config_version",
    ),
]

# issue 6: each area keeps its patterns in a module of its own
urlpatterns += [
    *contract_urls.urlpatterns,
    *document_urls.urlpatterns,
    *partner_urls.urlpatterns,
    *payout_urls.urlpatterns,
]

# issue 7: the lead marketplace
urlpatterns += [*lead_urls.urlpatterns, *lead_report_urls.urlpatterns]
