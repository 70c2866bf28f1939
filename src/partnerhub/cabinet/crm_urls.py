"""URL patterns of the partner's CRM page (issue 7, part 6), mounted under /cabinet/ in the
"cabinet" namespace by ``cabinet.urls``."""

from django.urls import URLPattern, path

from partnerhub.cabinet import crm_views

urlpatterns: list[URLPattern] = [
    path("leads/crm/", crm_views.lead_crm, name="lead_crm"),
    path("leads/crm/disconnect/", crm_views.lead_crm_disconnect, name="lead_crm_disconnect"),
    path("leads/crm/secret/", crm_views.lead_crm_secret_rotate, name="lead_crm_secret_rotate"),
]
