"""Root URL patterns of the partner's CRM (issue 7, part 6): the inbound webhook of ours."""

from django.urls import URLPattern, path

from partnerhub.leads.crm import views

urlpatterns: list[URLPattern] = [
    path("hooks/crm/<str:secret>/", views.crm_inbound, name="crm_inbound"),
]
