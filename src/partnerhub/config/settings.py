"""Django settings for partnerhub, read once from the environment.

This is the only module that reads ``os.environ`` (house rule 11). With no variables at all the
project runs on an embedded SQLite database and a SQLite-backed Huey queue under ``var/``; every
override is listed in the README:

- ``DATABASE_URL``: ``sqlite:///path`` or ``postgres://user@host:port/name``
- ``REDIS_URL``: run the Huey queue on Redis instead of SQLite
- ``SECRET_KEY``: otherwise generated once and kept in ``var/secret_key``
- ``ALLOWED_HOSTS``: comma separated, default ``127.0.0.1,localhost``
- ``EMAIL_URL`` (``smtp://user:pass@host:port``, ``smtp+tls://...``, ``console://``) or
  ``EMAIL_HOST``/``EMAIL_PORT``/``EMAIL_HOST_USER``/``EMAIL_HOST_PASSWORD``/``EMAIL_USE_TLS``
- ``DEFAULT_FROM_EMAIL``, ``SITE_URL`` (absolute base URL used in emails)
- ``DEBUG`` (off by default), ``HTTPS`` (secure cookies and HSTS behind a TLS proxy)
- ``VAR_DIR``: where the SQLite database, queue, secret key and collected static files live
- ``WEBHOOK_ALLOW_LOCAL``: let webhook endpoints use http and local addresses (development)

Every variable is parsed into its type here (``env_bool``/``env_int``/``env_float``/``env_str``/
``env_list``): a value that does not parse or lies outside its range stops the start with
``ImproperlyConfigured`` naming the variable, instead of a string such as ``"False"`` being
taken as true somewhere later. ``tests/config/test_settings.py`` pins every default.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TypeVar
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from partnerhub.config.huey import huey_settings

PACKAGE_DIR = Path(__file__).resolve().parent.parent
BASE_DIR = PACKAGE_DIR.parent.parent
# Not a setting (Django takes every name that ``isupper()``, "_ENV" too): the settings would
# otherwise carry the whole environment, with its passwords, into the debug page and diffsettings.
_environ = dict(os.environ)
_yes_words = frozenset({"1", "true", "yes", "on"})
_no_words = frozenset({"0", "false", "no", "off"})


def _raw(name: str) -> str | None:
    """The variable's value, stripped; None when it is unset or blank (the default applies)."""
    value = _environ.get(name, "").strip()
    return value or None


_Number = TypeVar("_Number", int, float)


def _bounded(
    name: str, value: _Number, minimum: _Number | None, maximum: _Number | None
) -> _Number:
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below its minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above its maximum {maximum}")
    return value


def env_bool(name: str, default: bool = False) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off (any case); anything else refuses to
    start. The default must be a real bool (a string such as "False" would be true)."""
    if not isinstance(default, bool):
        raise ImproperlyConfigured(f"{name}: the default must be a bool, not {default!r}")
    raw = _raw(name)
    if raw is None:
        return default
    if raw.lower() in _yes_words:
        return True
    if raw.lower() in _no_words:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a yes/no value (1/0, true/false, yes/no)")


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A whole number (``1_000`` allowed), within ``minimum``..``maximum`` when given."""
    if isinstance(default, bool) or not isinstance(default, int):
        raise ImproperlyConfigured(f"{name}: the default must be an int, not {default!r}")
    raw = _raw(name)
    if raw is None:
        return _bounded(name, default, minimum, maximum)
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number") from None
    return _bounded(name, value, minimum, maximum)


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A finite number, within ``minimum``..``maximum`` when given."""
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise ImproperlyConfigured(f"{name}: the default must be a number, not {default!r}")
    raw = _raw(name)
    if raw is None:
        return _bounded(name, float(default), minimum, maximum)
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if value != value or value in {float("inf"), float("-inf")}:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a finite number")
    return _bounded(name, value, minimum, maximum)


def env_str(name: str, default: str, *, strip: bool = True) -> str:
    """A text variable, stripped unless ``strip`` is off (passwords); unset or blank gives
    ``default``."""
    if not isinstance(default, str):
        raise ImproperlyConfigured(f"{name}: the default must be a str, not {default!r}")
    raw = _raw(name)
    if raw is None:
        return default
    return raw if strip else _environ[name]


def env_list(name: str, default: str) -> list[str]:
    """A comma separated list."""
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The SECRET_KEY variable, or a key generated on first start and kept under var/."""
    key = env_str("SECRET_KEY", "")
    if key:
        return key
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", SITE_URL)

HTTPS = env_bool("HTTPS")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 12

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "huey.contrib.djhuey",
    "partnerhub.core",
    "partnerhub.accounts",
    "partnerhub.partners",
    "partnerhub.webhooks",
    "partnerhub.notifications",
    "partnerhub.referrals",
    "partnerhub.contracts",
    "partnerhub.documents",
    "partnerhub.payouts",
    "partnerhub.leads",
    "partnerhub.cabinet",
    "partnerhub.backoffice",
    "partnerhub.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # a lost database connection answers 503 with Retry-After (issue 14, part 3)
    "partnerhub.core.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "partnerhub.core.locale.ChosenLanguageMiddleware",
    "partnerhub.core.request_guard.RequestGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "partnerhub.core.audit.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "partnerhub.core.access.AccessMiddleware",
]

ROOT_URLCONF = "partnerhub.config.urls"
WSGI_APPLICATION = "partnerhub.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "partnerhub.notifications.context_processors.unread_notifications",
            ],
        },
    },
]


#: PostgreSQL connections (issue 17). A request that opens its own connection pays for a new
#: server process (about half of a one-query API GET). ``partnerhub serve`` turns the pool on for
#: gunicorn (``DATABASE_POOL_MAX_SIZE`` = its threads a process) and persistent connections for
#: the Huey worker; see the README's production section for the sizing and PgBouncer.
#: The pool: psycopg_pool in each process, connections checked before each use.
DATABASE_POOL = env_bool("DATABASE_POOL", False)
DATABASE_POOL_MIN_SIZE = env_int("DATABASE_POOL_MIN_SIZE", 1, minimum=0)
DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 8, minimum=1)
#: How long a request waits for a free pooled connection before it fails.
DATABASE_POOL_TIMEOUT_SECONDS = env_float("DATABASE_POOL_TIMEOUT_SECONDS", 10.0, minimum=0.1)
#: Without the pool: seconds a connection is kept for the next request or task (0: closed after
#: each, as the suite runs), checked before reuse.
DATABASE_CONN_MAX_AGE = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)


def _postgresql_connections(config: dict[str, object]) -> None:
    """The pool (``DATABASE_POOL``) or persistent connections (``DATABASE_CONN_MAX_AGE``) of a
    PostgreSQL ``config``; the two exclude each other in Django."""
    options = dict(config.get("OPTIONS") or {})  # type: ignore[call-overload]
    if DATABASE_POOL:
        if DATABASE_POOL_MIN_SIZE > DATABASE_POOL_MAX_SIZE:
            raise ImproperlyConfigured(
                f"DATABASE_POOL_MIN_SIZE={DATABASE_POOL_MIN_SIZE} is above "
                f"DATABASE_POOL_MAX_SIZE={DATABASE_POOL_MAX_SIZE}"
            )
        options["pool"] = {
            "min_size": DATABASE_POOL_MIN_SIZE,
            "max_size": DATABASE_POOL_MAX_SIZE,
            "timeout": DATABASE_POOL_TIMEOUT_SECONDS,
        }
        # Persistent connections exclude a pool; health checks make the pool check a
        # connection before it lends it (psycopg_pool's check_connection): one the server
        # dropped is replaced.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = True
    else:
        config["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
        config["CONN_HEALTH_CHECKS"] = DATABASE_CONN_MAX_AGE > 0
    config["OPTIONS"] = options


def _database() -> dict[str, object]:
    """DATABASE_URL, or the embedded SQLite database under var/ (WAL, IMMEDIATE transactions)."""
    url = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'partnerhub.sqlite3'}")
    config: dict[str, object] = dict(dj_database_url.parse(url, conn_max_age=0))
    if str(config["ENGINE"]).endswith("postgresql"):
        _postgresql_connections(config)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            ),
        }
        # Tests use a file too (not shared-cache memory), so that parallel-request tests see
        # the same locking as production: WAL readers, IMMEDIATE writers waiting on the lock.
        config["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["partnerhub.accounts.backends.EmailBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
INVITATION_TTL_DAYS = 7
# Idempotency-Key rows of write API requests are kept this long; an hourly task deletes the rest.
IDEMPOTENCY_KEY_TTL_HOURS = 24

LANGUAGE_CODE = "ru"
LANGUAGES = [("ru", _("Русский")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Europe/Moscow"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"


def _email() -> dict[str, object]:
    """EMAIL_URL or EMAIL_HOST/EMAIL_PORT; without either, mail is printed to the console."""
    url = env_str("EMAIL_URL", "")
    host = env_str("EMAIL_HOST", "")
    if url:
        parts = urlsplit(url)
        if parts.scheme == "console":
            return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": parts.hostname or "localhost",
            "EMAIL_PORT": parts.port or 25,
            "EMAIL_HOST_USER": unquote(parts.username or ""),
            "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
            "EMAIL_USE_TLS": parts.scheme in {"smtp+tls", "submission"},
            "EMAIL_USE_SSL": parts.scheme == "smtps",
        }
    if host:
        return {
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": host,
            "EMAIL_PORT": env_int("EMAIL_PORT", 25, minimum=1, maximum=65535),
            "EMAIL_HOST_USER": env_str("EMAIL_HOST_USER", ""),
            "EMAIL_HOST_PASSWORD": env_str("EMAIL_HOST_PASSWORD", "", strip=False),
            "EMAIL_USE_TLS": env_bool("EMAIL_USE_TLS"),
            "EMAIL_USE_SSL": env_bool("EMAIL_USE_SSL"),
        }
    return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}


globals().update(_email())
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "partnerhub <noreply@partnerhub.local>")

REDIS_URL = env_str("REDIS_URL", "")
HUEY = huey_settings(redis_url=REDIS_URL, var_dir=VAR_DIR)

# Outbox delivery (core.delivery): a failed delivery is retried after
# min(BASE * 2**(attempt-1), CAP) seconds and is dead after MAX_ATTEMPTS attempts. A worker holds
# a claimed delivery for LEASE seconds; past that a crashed worker's delivery is taken again.
OUTBOX_MAX_ATTEMPTS = 8
OUTBOX_RETRY_BASE_SECONDS = 10
OUTBOX_RETRY_CAP_SECONDS = 3600
OUTBOX_LEASE_SECONDS = 300
# Outgoing webhooks (partnerhub.webhooks). WEBHOOK_ALLOW_LOCAL lets endpoints use plain http and
# loopback/private addresses (local development, tests); off, only https to public hosts.
WEBHOOK_TIMEOUT_SECONDS = 5.0
WEBHOOK_ALLOW_LOCAL = env_bool("WEBHOOK_ALLOW_LOCAL")
WEBHOOK_MAX_ENDPOINTS = 10

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partnerhub.accounts.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["partnerhub.core.permissions.AccessPermission"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "partnerhub.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "partnerhub API",
    "DESCRIPTION": (
        "HTTP API of the partner platform. Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["partnerhub.core.permissions.AccessPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "INFO" if not DEBUG else "DEBUG"},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # run_huey installs its own handler; do not print every line twice
        "huey": {"level": "INFO", "propagate": False},
        # PDF rendering logs every step of every document at INFO
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# Referral program (issue "Referral program"): event intake limits.
REFERRAL_EVENTS_MAX_BATCH = 10_000
REFERRAL_EVENTS_MAX_BYTES = env_int("REFERRAL_EVENTS_MAX_BYTES", 16 * 1024 * 1024, minimum=1)
REFERRAL_EVENTS_FUTURE_TOLERANCE_SECONDS = 300
#: Events posted over the API are stored by the request and applied to the partners' states by
#: the worker (``referrals.apply``), so that both cores work. Default on PostgreSQL only: SQLite
#: has one writer at a time, a second writing process would only wait for it.
REFERRAL_APPLY_IN_WORKER = env_bool(
    "REFERRAL_APPLY_IN_WORKER", str(DATABASES["default"]["ENGINE"]).endswith("postgresql")
)
#: Backpressure: a request waits while more events than this wait for the worker...
REFERRAL_PENDING_LIMIT = 2_000
#: ...and after this many seconds (no worker running) applies them itself.
REFERRAL_PENDING_WAIT_SECONDS = 10.0
#: An event that names a client, payment or promo code not seen yet waits for it; the back
#: office lists one still waiting after this many days as stale (issue 15).
REFERRAL_WAITING_STALE_DAYS = env_int("REFERRAL_WAITING_STALE_DAYS", 30, minimum=1)

# Issue 6: contracts, counterparty documents, closing documents, payouts.
#: Where partners post the paper application to join (the vendor's address, seed).
CONTRACT_POSTAL_ADDRESS = env_str(
    "CONTRACT_POSTAL_ADDRESS", "236001, г. Калининград, Московский пр-кт, д. 261"
)
#: The largest counterparty document a partner may upload.
COUNTERPARTY_DOCUMENT_MAX_BYTES = env_int(
    "COUNTERPARTY_DOCUMENT_MAX_BYTES", 10 * 1024 * 1024, minimum=1
)

# Issue 7: the lead marketplace.
#: The partner's CRM (REST over its incoming webhook): timeout of one call, the vendor's limit of
#: requests per second per portal, and how often open deals are polled for stage changes.
CRM_TIMEOUT_SECONDS = env_float("CRM_TIMEOUT_SECONDS", 10.0, minimum=0.1, maximum=300.0)
#: 0 means no limit of ours.
CRM_REQUESTS_PER_SECOND = env_float("CRM_REQUESTS_PER_SECOND", 2.0, minimum=0.0)
CRM_POLL_MINUTES = env_int("CRM_POLL_MINUTES", 15, minimum=1)
#: Let CRM webhook URLs use plain http and local addresses (development, tests), like webhooks.
CRM_ALLOW_LOCAL = env_bool("CRM_ALLOW_LOCAL", WEBHOOK_ALLOW_LOCAL)
#: The public lead form of the vendor's site: requests per IP address per hour.
LEAD_FORM_PER_IP_PER_HOUR = env_int("LEAD_FORM_PER_IP_PER_HOUR", 5, minimum=1)
#: Lead import files (CSV or XLSX) in the back office.
LEAD_IMPORT_MAX_BYTES = env_int("LEAD_IMPORT_MAX_BYTES", 5 * 1024 * 1024, minimum=1)
LEAD_IMPORT_MAX_ROWS = env_int("LEAD_IMPORT_MAX_ROWS", 5_000, minimum=1)

# Issue 14: hardening. Each block below belongs to one part of the issue.

# -- outgoing requests to addresses partners give (core.netguard) --
# Every request to a partner-given address (CRM portal, webhook endpoint) goes through
# core.netguard; WEBHOOK_ALLOW_LOCAL and CRM_ALLOW_LOCAL above (real booleans, off unless set)
# are the only ways to let http and local addresses through (development, tests).
#: The largest answer read from such an address (a hostile portal could send gigabytes).
OUTBOUND_RESPONSE_MAX_BYTES = env_int("OUTBOUND_RESPONSE_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)

# -- input limits (no server error from any input) --
#: Dates and times taken from the API, forms and referral events lie in these years (core.input).
INPUT_YEAR_MIN = env_int("INPUT_YEAR_MIN", 2000, minimum=1)
INPUT_YEAR_MAX = env_int("INPUT_YEAR_MAX", 2100, minimum=INPUT_YEAR_MIN, maximum=9999)
#: A referral event's unknown extra fields: at most this many bytes of canonical JSON...
REFERRAL_EVENT_EXTRA_MAX_BYTES = env_int("REFERRAL_EVENT_EXTRA_MAX_BYTES", 4 * 1024, minimum=0)
#: ...nested at most this deep (a scalar field is 0, an object or list of scalars 1).
REFERRAL_EVENT_EXTRA_MAX_DEPTH = env_int("REFERRAL_EVENT_EXTRA_MAX_DEPTH", 4, minimum=0)

# -- idempotency leases and connection loss --
#: How long a request may run: gunicorn's worker timeout (``partnerhub serve`` passes it).
REQUEST_TIMEOUT_SECONDS = env_int("REQUEST_TIMEOUT_SECONDS", 30, minimum=1)
#: An Idempotency-Key claim's lease: a retry takes over a claim whose request died once this has
#: passed since the claim (a few seconds past the request timeout).
IDEMPOTENCY_LEASE_SECONDS = env_float(
    "IDEMPOTENCY_LEASE_SECONDS", REQUEST_TIMEOUT_SECONDS + 5.0, minimum=1.0
)
#: Retry-After (seconds) of the 503 answered when the database connection is lost.
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env_int(
    "DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", 5, minimum=0
)

# -- abuse limits (login throttling, free-form event data) and exports --
#: Login throttling (accounts.services.login_attempt_start): failed logins count this long.
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 15 * 60, minimum=1)
#: Failures of one e-mail from one IP (or from one known device) that cost no wait; each further
#: failure makes the next attempt wait, the wait doubling from the base delay up to the cap.
LOGIN_THROTTLE_FREE_FAILURES = env_int("LOGIN_THROTTLE_FREE_FAILURES", 3, minimum=0)
#: Failures from one IP, whatever the e-mails, that cost no wait (one address trying many users).
LOGIN_THROTTLE_IP_FREE_FAILURES = env_int("LOGIN_THROTTLE_IP_FREE_FAILURES", 20, minimum=0)
#: The first wait after the free failures (seconds); it doubles with every further failure.
LOGIN_THROTTLE_BASE_DELAY_SECONDS = env_int("LOGIN_THROTTLE_BASE_DELAY_SECONDS", 2, minimum=0)
#: The longest wait (seconds).
LOGIN_THROTTLE_MAX_DELAY_SECONDS = env_int("LOGIN_THROTTLE_MAX_DELAY_SECONDS", 5 * 60, minimum=0)
#: The signed known-device cookie set on a successful login: its name...
LOGIN_DEVICE_COOKIE_NAME = "ph_device"
#: ...and its lifetime (days); a login from such a device ignores failures from elsewhere.
LOGIN_DEVICE_COOKIE_DAYS = env_int("LOGIN_DEVICE_COOKIE_DAYS", 365, minimum=1)

# -- request guard: NUL and non-UTF-8 in URLs (400), oversized bodies (413) (core.request_guard) --
#: Body limits of views that take more than DATA_UPLOAD_MAX_MEMORY_SIZE, by URL name (checked on
#: Content-Length before the body is read).
REQUEST_BODY_LIMITS: dict[str, int] = {"api:referral_events": REFERRAL_EVENTS_MAX_BYTES}
#: The largest multipart body (file uploads: counterparty documents, lead and event imports).
REQUEST_UPLOAD_MAX_BYTES = env_int("REQUEST_UPLOAD_MAX_BYTES", 64 * 1024 * 1024, minimum=1)
