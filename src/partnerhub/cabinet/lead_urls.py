"""URL patterns of the lead marketplace (issue 7); filled in by its area."""

from django.urls import URLPattern, path  # noqa: F401

urlpatterns: list[URLPattern] = []
