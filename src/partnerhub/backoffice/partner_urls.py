"""URLs of the backoffice for partners (issue 6), included in ``backoffice/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.backoffice import partner_views as views

urlpatterns: list[URLPattern] = [
    path("partners/<int:pk>/statuses/", views.partner_statuses, name="partner_statuses"),
    path(
        "partners/<int:pk>/statuses/grant/",
        views.partner_status_grant,
        name="partner_status_grant",
    ),
    path("statuses/<int:pk>/end/", views.partner_status_end, name="partner_status_end"),
    path("status-kinds/", views.status_kinds, name="status_kinds"),
    path("status-kinds/add/", views.status_kind_add, name="status_kind_add"),
    path(
        "counterparty-documents/",
        views.counterparty_documents,
        name="counterparty_documents",
    ),
    path(
        "counterparty-documents/<int:pk>/download/",
        views.counterparty_document_download,
        name="counterparty_document_download",
    ),
    path(
        "counterparty-documents/<int:pk>/review/",
        views.counterparty_document_review,
        name="counterparty_document_review",
    ),
    path(
        "counterparty-documents/kinds/",
        views.counterparty_document_kinds,
        name="counterparty_document_kinds",
    ),
    path(
        "counterparty-documents/kinds/add/",
        views.counterparty_document_kind_add,
        name="counterparty_document_kind_add",
    ),
]
