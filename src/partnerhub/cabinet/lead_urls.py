"""URL patterns of the partner's lead marketplace pages (issue 7): the marketplace, its
conditions, taking a lead, the deals and a deal's actions. Mounted under /cabinet/ in the
"cabinet" namespace by ``cabinet.urls``."""

from django.urls import URLPattern, path

from partnerhub.cabinet import lead_views

urlpatterns: list[URLPattern] = [
    path("leads/", lead_views.leads, name="leads"),
    path("leads/conditions/", lead_views.lead_conditions, name="lead_conditions"),
    path("leads/<int:pk>/take/", lead_views.lead_take, name="lead_take"),
    path("deals/", lead_views.deals, name="deals"),
    path("deals/<int:pk>/", lead_views.deal, name="deal"),
    path("deals/<int:pk>/edit/", lead_views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/events/", lead_views.deal_event_add, name="deal_event_add"),
    path("deals/<int:pk>/stage/", lead_views.deal_stage, name="deal_stage"),
    path("deals/<int:pk>/win/", lead_views.deal_win, name="deal_win"),
    path("deals/<int:pk>/lose/", lead_views.deal_lose, name="deal_lose"),
]
