"""URL patterns of the lead-marketplace API (issue 7), under /api/v1/ in namespace "api"."""

from django.urls import URLPattern, path

from partnerhub.leads import api

urlpatterns: list[URLPattern] = [
    path("leads", api.LeadsApi.as_view(), name="leads"),
    path("marketplace/leads", api.MarketplaceLeadsApi.as_view(), name="marketplace_leads"),
    path(
        "marketplace/leads/<int:pk>/take",
        api.MarketplaceLeadTakeApi.as_view(),
        name="marketplace_lead_take",
    ),
    path("deals", api.DealsApi.as_view(), name="deals"),
    path("deals/<int:pk>", api.DealApi.as_view(), name="deal"),
    path("deals/<int:pk>/events", api.DealEventsApi.as_view(), name="deal_events"),
    path("deals/<int:pk>/stage", api.DealStageApi.as_view(), name="deal_stage"),
    path("deals/<int:pk>/win", api.DealWinApi.as_view(), name="deal_win"),
    path("deals/<int:pk>/lose", api.DealLoseApi.as_view(), name="deal_lose"),
]
