"""URLs of the back office's lead marketplace pages (issue 7), included in ``backoffice/urls.py``
(namespace "backoffice", under /backoffice/)."""

from django.urls import URLPattern, path

from partnerhub.backoffice import lead_views as v

urlpatterns: list[URLPattern] = [
    path("leads/", v.leads, name="leads"),
    path("leads/new/", v.lead_create, name="lead_create"),
    path("leads/import/", v.lead_import, name="lead_import"),
    path("leads/access/", v.lead_accesses, name="lead_accesses"),
    path("leads/access/<int:pk>/review/", v.lead_access_review, name="lead_access_review"),
    path("leads/settings/", v.lead_settings, name="lead_settings"),
    path("leads/<int:pk>/", v.lead_detail, name="lead"),
    path("leads/<int:pk>/withdraw/", v.lead_withdraw, name="lead_withdraw"),
    path("leads/deals/<int:pk>/", v.lead_deal, name="lead_deal"),
]
