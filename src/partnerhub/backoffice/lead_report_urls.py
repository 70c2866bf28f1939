"""URL patterns of the lead marketplace's vendor report (issue 7, item 7), included in
``backoffice/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.backoffice import lead_report_views as v

urlpatterns: list[URLPattern] = [
    path("leads/report/", v.lead_report, name="lead_report"),
    path("leads/report/export.csv", v.lead_report_csv, name="lead_report_csv"),
]
