"""Root URLs: public pages, the cabinet, the back office, the admin and the API."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from partnerhub.accounts.api import EmployeesApi
from partnerhub.cabinet.views import home, set_language
from partnerhub.core.access import PUBLIC
from partnerhub.core.health import healthz, readyz
from partnerhub.leads import api_urls as leads_api_urls
from partnerhub.partners.api import CardApi, CurrentOrganisationApi
from partnerhub.partners.views import join_view
from partnerhub.referrals.api import EventsApi, HistoryApi, StandingApi

handler400 = "partnerhub.core.request_guard.bad_request"
handler403 = "partnerhub.core.api.json_or_html_403"
handler404 = "partnerhub.core.api.json_or_html_404"
handler500 = "partnerhub.core.api.json_or_html_500"

admin.site.site_header = "partnerhub"
admin.site.site_title = "partnerhub"


class SchemaView(SpectacularAPIView):
    """OpenAPI 3 schema of the API (public: it describes, it shows no data)."""

    access_rule = PUBLIC


class SwaggerView(SpectacularSwaggerView):
    """Swagger UI, with its assets served locally (drf-spectacular-sidecar)."""

    access_rule = PUBLIC


api_v1 = [
    path("organisation/", CurrentOrganisationApi.as_view(), name="organisation"),
    path("card/", CardApi.as_view(), name="card"),
    path("employees/", EmployeesApi.as_view(), name="employees"),
    path("referrals/events", EventsApi.as_view(), name="referral_events"),
    path(
        "referrals/partners/<str:code>/standing",
        StandingApi.as_view(),
        name="referral_standing",
    ),
    path(
        "referrals/partners/<str:code>/history",
        HistoryApi.as_view(),
        name="referral_history",
    ),
    *leads_api_urls.urlpatterns,
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("", home, name="home"),
    path("join/", join_view, name="join"),
    path("", include("partnerhub.referrals.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("accounts/", include("partnerhub.accounts.urls")),
    path("cabinet/notifications/", include("partnerhub.notifications.urls")),
    path("cabinet/webhooks/", include("partnerhub.webhooks.urls")),
    path("", include("partnerhub.leads.public_urls")),
    path("", include("partnerhub.leads.crm.urls")),
    path("cabinet/", include("partnerhub.cabinet.urls")),
    path("backoffice/", include("partnerhub.backoffice.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SchemaView.as_view(), name="api_schema"),
    path("api/docs/", SwaggerView.as_view(url_name="api_schema"), name="api_docs"),
]
