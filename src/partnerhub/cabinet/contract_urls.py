"""URLs of the cabinet for contracts (issue 6), included in ``cabinet/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.cabinet import contract_views

urlpatterns: list[URLPattern] = [
    path("contracts/", contract_views.contracts, name="contracts"),
    path(
        "contracts/start/<int:program_pk>/",
        contract_views.contract_start,
        name="contract_start",
    ),
    path("contracts/<int:pk>/", contract_views.contract, name="contract"),
    path("contracts/<int:pk>/send/", contract_views.contract_send, name="contract_send"),
    path(
        "contracts/<int:pk>/application-draft.pdf",
        contract_views.contract_application_preview,
        name="contract_application_preview",
    ),
    path(
        "contracts/<int:pk>/application.pdf",
        contract_views.contract_application,
        name="contract_application",
    ),
]
