"""URLs of the cabinet for payouts (issue 6), included in ``cabinet/urls.py``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
