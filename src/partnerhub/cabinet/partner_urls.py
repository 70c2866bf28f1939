"""URLs of the cabinet for partners (issue 6), included in ``cabinet/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.cabinet import partner_views

urlpatterns: list[URLPattern] = [
    path(
        "counterparty-documents/",
        partner_views.counterparty_documents,
        name="counterparty_documents",
    ),
    path(
        "counterparty-documents/upload/",
        partner_views.counterparty_document_upload,
        name="counterparty_document_upload",
    ),
    path(
        "counterparty-documents/<int:pk>/download/",
        partner_views.counterparty_document_download,
        name="counterparty_document_download",
    ),
]
