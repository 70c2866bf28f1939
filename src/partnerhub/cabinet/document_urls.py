"""URLs of the cabinet for closing documents (issue 6), included in ``cabinet/urls.py``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
