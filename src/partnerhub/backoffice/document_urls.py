"""URLs of the backoffice for closing documents (issue 6), included in ``backoffice/urls.py``."""

from django.urls import URLPattern, path

from partnerhub.backoffice import document_views

urlpatterns: list[URLPattern] = [
    path("closing-documents/", document_views.closing_documents, name="closing_documents"),
    path(
        "closing-documents/<int:pk>/pdf/",
        document_views.closing_document_download,
        name="closing_document_download",
    ),
    path(
        "closing-documents/<int:pk>/render/",
        document_views.closing_document_render_retry_view,
        name="closing_document_render_retry",
    ),
]
