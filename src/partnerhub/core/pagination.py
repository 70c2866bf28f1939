"""Pagination of list pages (one helper for every table)."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page, Paginator
from django.http import HttpRequest

PER_PAGE = 25


def paginate(request: HttpRequest, items: Any, per_page: int = PER_PAGE) -> Page[Any]:
    """The page asked for by ``?page=`` (a bad number gives the first or last page)."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))
