"""WSGI entry point for gunicorn (``partnerhub.config.wsgi:application``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")

application = get_wsgi_application()

from partnerhub.core.runtime import tune_gc  # noqa: E402 - once Django is set up

tune_gc()
