"""Helpers that bring service errors back into Django forms."""

from __future__ import annotations

from django import forms

from partnerhub.core.errors import ApplicationError


def add_service_errors(form: forms.BaseForm, error: ApplicationError) -> None:
    """Put the field errors of ``error`` under the form's fields; the rest as a form error."""
    placed = False
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, str(message))
            placed = True
    if not placed:
        form.add_error(None, str(error.message))
