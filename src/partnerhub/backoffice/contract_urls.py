"""URLs of the backoffice for contracts (issue 6), included in ``backoffice/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.backoffice import contract_views

urlpatterns: list[URLPattern] = [
    path("contracts/", contract_views.contracts, name="contracts"),
    path("contracts/<int:pk>/", contract_views.contract, name="contract"),
    path("contracts/<int:pk>/review/", contract_views.contract_review, name="contract_review"),
    path("contracts/<int:pk>/sign/", contract_views.contract_sign, name="contract_sign"),
    path("contracts/<int:pk>/reject/", contract_views.contract_reject, name="contract_reject"),
    path(
        "contracts/<int:pk>/terminate/",
        contract_views.contract_terminate,
        name="contract_terminate",
    ),
    path(
        "contracts/<int:pk>/application.pdf",
        contract_views.contract_application,
        name="contract_application",
    ),
]
