"""URLs of the backoffice for closing documents (issue 6), included in ``backoffice/urls.py``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
