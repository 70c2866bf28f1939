"""Public URLs of the lead marketplace (issue 7): the vendor's site form for clients (root, no
namespace)."""

from django.urls import URLPattern, path

from partnerhub.leads import site_form

urlpatterns: list[URLPattern] = [
    path("leads/request/", site_form.lead_request, name="lead_request"),
    path("leads/request/thanks/", site_form.lead_request_done, name="lead_request_done"),
]
