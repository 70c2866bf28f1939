"""URLs of the vendor back office."""

from django.urls import path

from partnerhub.backoffice import audit_views, outbox_views, views

app_name = "backoffice"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("partners/", views.partners, name="partners"),
    path("partners/<int:pk>/", views.partner_detail, name="partner_detail"),
    path("enrolments/<int:pk>/decide/", views.enrolment_decide, name="enrolment_decide"),
    path("audit/", audit_views.audit_log, name="audit_log"),
    path("outbox/", outbox_views.outbox, name="outbox"),
    path("outbox/<int:pk>/retry/", outbox_views.outbox_retry, name="outbox_retry"),
]
