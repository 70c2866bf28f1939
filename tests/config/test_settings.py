"""Every setting's default and type, read by importing ``partnerhub.config.settings`` in a fresh
interpreter with a clean environment (PATH, HOME and a temporary VAR_DIR only), and a few
overrides (issue 14: ``CRM_ALLOW_LOCAL`` defaulted to the string "False", which is true).

A setting added without its default here fails ``test_every_setting_has_its_default_here``:
add it to ``DEFAULTS``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

import partnerhub
from partnerhub.config.settings import env_bool, env_float, env_int

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "src" / "partnerhub"

#: Prints every setting (an ``isupper()`` name, as Django takes them) as {"NAME": [type name,
#: plain value]}; paths under VAR_DIR are written "VAR_DIR/...", paths in the package
#: "PACKAGE/...", lazy texts as their Russian text with ``--texts``.
DUMP = r"""
import json, os, pathlib, sys
import partnerhub.config.settings as s
from django.utils.functional import Promise
if sys.argv[1:] == ["--texts"]:  # lazy texts need Django set up (after the import: no effect)
    os.environ["DJANGO_SETTINGS_MODULE"] = "partnerhub.config.settings"
    import django
    django.setup()
var_dir, package = str(s.VAR_DIR), str(s.PACKAGE_DIR)

def plain(value):
    if isinstance(value, pathlib.Path):
        text = str(value)
        return text.replace(var_dir, "VAR_DIR").replace(package, "PACKAGE")
    if isinstance(value, Promise):
        return str(value) if sys.argv[1:] == ["--texts"] else "<lazy>"
    if isinstance(value, str):
        return value.replace(var_dir, "VAR_DIR")
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value

dump = {name: [type(getattr(s, name)).__name__, plain(getattr(s, name))]
        for name in dir(s) if name.isupper()}
print(json.dumps(dump, ensure_ascii=False))
"""


def load_settings(tmp_path: Path, *, texts: bool = False, **variables: str) -> dict[str, list[Any]]:
    """The settings module's values with only ``variables`` set (besides PATH, HOME, VAR_DIR and
    PYTHONPATH: the package under test, not another checkout the environment has installed);
    ``texts`` sets Django up after the import to read the lazy texts."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "VAR_DIR": str(tmp_path),
        "PYTHONPATH": str(Path(partnerhub.__file__).resolve().parents[1]),
    }
    env.update(variables)
    done = subprocess.run(
        [sys.executable, "-c", DUMP, *(["--texts"] if texts else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1])
    loaded: dict[str, list[Any]] = json.loads(done.stdout)
    return loaded


MB = 1024 * 1024
#: name -> (type, default). None as the default: the value is checked by its own test below.
DEFAULTS: dict[str, tuple[str, Any]] = {
    # environment-driven
    "DEBUG": ("bool", False),
    "HTTPS": ("bool", False),
    "SESSION_COOKIE_SECURE": ("bool", False),
    "CSRF_COOKIE_SECURE": ("bool", False),
    "SECURE_HSTS_SECONDS": ("int", 0),
    "SECURE_PROXY_SSL_HEADER": ("NoneType", None),
    "ALLOWED_HOSTS": ("list", ["127.0.0.1", "localhost", "testserver"]),
    "SITE_URL": ("str", "http://127.0.0.1:8000"),
    "CSRF_TRUSTED_ORIGINS": ("list", ["http://127.0.0.1:8000"]),
    "VAR_DIR": ("PosixPath", "VAR_DIR"),
    "SECRET_KEY": ("str", None),
    "DATABASES": ("dict", None),
    "REDIS_URL": ("str", ""),
    "HUEY": ("dict", None),
    "EMAIL_BACKEND": ("str", "django.core.mail.backends.console.EmailBackend"),
    "DEFAULT_FROM_EMAIL": ("str", "partnerhub <noreply@partnerhub.local>"),
    "WEBHOOK_ALLOW_LOCAL": ("bool", False),
    "CRM_ALLOW_LOCAL": ("bool", False),
    "CRM_TIMEOUT_SECONDS": ("float", 10.0),
    "CRM_REQUESTS_PER_SECOND": ("float", 2.0),
    "CRM_POLL_MINUTES": ("int", 15),
    "LEAD_FORM_PER_IP_PER_HOUR": ("int", 5),
    "LEAD_IMPORT_MAX_BYTES": ("int", 5 * MB),
    "LEAD_IMPORT_MAX_ROWS": ("int", 5_000),
    "REFERRAL_EVENTS_MAX_BYTES": ("int", 16 * MB),
    "REFERRAL_APPLY_IN_WORKER": ("bool", False),
    "CONTRACT_POSTAL_ADDRESS": ("str", "236001, г. Калининград, Московский пр-кт, д. 261"),
    "COUNTERPARTY_DOCUMENT_MAX_BYTES": ("int", 10 * MB),
    "INPUT_YEAR_MIN": ("int", 2000),
    "INPUT_YEAR_MAX": ("int", 2100),
    "REFERRAL_EVENT_EXTRA_MAX_BYTES": ("int", 4 * 1024),
    "REFERRAL_EVENT_EXTRA_MAX_DEPTH": ("int", 4),
    "REQUEST_TIMEOUT_SECONDS": ("int", 30),
    "IDEMPOTENCY_LEASE_SECONDS": ("float", 35.0),
    "DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS": ("int", 5),
    "DATABASE_POOL": ("bool", False),
    "DATABASE_POOL_MIN_SIZE": ("int", 1),
    "DATABASE_POOL_MAX_SIZE": ("int", 8),
    "DATABASE_POOL_TIMEOUT_SECONDS": ("float", 10.0),
    "DATABASE_CONN_MAX_AGE": ("int", 0),
    "LOGIN_THROTTLE_WINDOW_SECONDS": ("int", 15 * 60),
    "LOGIN_THROTTLE_FREE_FAILURES": ("int", 3),
    "LOGIN_THROTTLE_IP_FREE_FAILURES": ("int", 20),
    "LOGIN_THROTTLE_BASE_DELAY_SECONDS": ("int", 2),
    "LOGIN_THROTTLE_MAX_DELAY_SECONDS": ("int", 5 * 60),
    "LOGIN_DEVICE_COOKIE_DAYS": ("int", 365),
    "REQUEST_UPLOAD_MAX_BYTES": ("int", 64 * MB),
    # fixed
    "BASE_DIR": ("PosixPath", None),
    "PACKAGE_DIR": ("PosixPath", "PACKAGE"),
    "STATIC_ROOT": ("PosixPath", "VAR_DIR/static"),
    "MEDIA_ROOT": ("PosixPath", "VAR_DIR/media"),
    "STATIC_URL": ("str", "/static/"),
    "STATICFILES_DIRS": ("list", ["PACKAGE/static"]),
    "LOCALE_PATHS": ("list", ["PACKAGE/locale"]),
    "STORAGES": (
        "dict",
        {
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
        },
    ),
    "SECURE_CONTENT_TYPE_NOSNIFF": ("bool", True),
    "X_FRAME_OPTIONS": ("str", "DENY"),
    "SESSION_COOKIE_HTTPONLY": ("bool", True),
    "SESSION_COOKIE_AGE": ("int", 12 * 3600),
    "INSTALLED_APPS": ("list", None),
    "MIDDLEWARE": ("list", None),
    "ROOT_URLCONF": ("str", "partnerhub.config.urls"),
    "WSGI_APPLICATION": ("str", "partnerhub.config.wsgi.application"),
    "TEMPLATES": ("list", None),
    "DEFAULT_AUTO_FIELD": ("str", "django.db.models.BigAutoField"),
    "AUTH_USER_MODEL": ("str", "accounts.User"),
    "AUTHENTICATION_BACKENDS": ("list", ["partnerhub.accounts.backends.EmailBackend"]),
    "LOGIN_URL": ("str", "accounts:login"),
    "LOGIN_REDIRECT_URL": ("str", "home"),
    "LOGOUT_REDIRECT_URL": ("str", "accounts:login"),
    "PASSWORD_RESET_TIMEOUT": ("int", 24 * 3600),
    "AUTH_PASSWORD_VALIDATORS": ("list", None),
    "INVITATION_TTL_DAYS": ("int", 7),
    "IDEMPOTENCY_KEY_TTL_HOURS": ("int", 24),
    "LOGIN_DEVICE_COOKIE_NAME": ("str", "ph_device"),
    "LANGUAGE_CODE": ("str", "ru"),
    "LANGUAGES": ("list", [["ru", "Русский"], ["en", "Английский"]]),
    "TIME_ZONE": ("str", "Europe/Moscow"),
    "USE_I18N": ("bool", True),
    "USE_TZ": ("bool", True),
    "EMAIL_TIMEOUT": ("int", 20),
    "OUTBOX_MAX_ATTEMPTS": ("int", 8),
    "OUTBOX_RETRY_BASE_SECONDS": ("int", 10),
    "OUTBOX_RETRY_CAP_SECONDS": ("int", 3600),
    "OUTBOX_LEASE_SECONDS": ("int", 300),
    "WEBHOOK_TIMEOUT_SECONDS": ("float", 5.0),
    "OUTBOUND_RESPONSE_MAX_BYTES": ("int", 2 * 1024 * 1024),
    "WEBHOOK_MAX_ENDPOINTS": ("int", 10),
    "REFERRAL_EVENTS_MAX_BATCH": ("int", 10_000),
    "REFERRAL_EVENTS_FUTURE_TOLERANCE_SECONDS": ("int", 300),
    "REFERRAL_PENDING_LIMIT": ("int", 2_000),
    "REFERRAL_WAITING_STALE_DAYS": ("int", 30),
    "REFERRAL_PENDING_WAIT_SECONDS": ("float", 10.0),
    "REQUEST_BODY_LIMITS": ("dict", {"api:referral_events": 16 * MB}),
    "REST_FRAMEWORK": ("dict", None),
    "SPECTACULAR_SETTINGS": ("dict", None),
    "LOGGING": ("dict", None),
}


@pytest.fixture(scope="module")
def defaults(tmp_path_factory) -> dict[str, list[Any]]:
    return load_settings(tmp_path_factory.mktemp("settings"), texts=True)


def test_every_setting_has_its_default_here(defaults):
    assert sorted(set(defaults) - set(DEFAULTS)) == [], "settings without a tested default"
    assert sorted(set(DEFAULTS) - set(defaults)) == [], "tested settings that no longer exist"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_each_default_and_its_type(defaults, name):
    kind, expected = DEFAULTS[name]

    actual_kind, actual = defaults[name]

    assert actual_kind == kind
    if expected is not None:
        assert actual == expected


def test_local_addresses_are_refused_by_default_as_real_booleans(defaults):
    assert defaults["CRM_ALLOW_LOCAL"] == ["bool", False]
    assert defaults["WEBHOOK_ALLOW_LOCAL"] == ["bool", False]


def test_the_environment_is_not_a_setting(defaults):
    """It carried DATABASE_URL with its password into every list of settings."""
    assert "ENV" not in defaults


def test_the_default_database_is_sqlite_under_var_dir_with_wal_and_immediate(defaults):
    [database] = defaults["DATABASES"][1].values()

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["NAME"] == "VAR_DIR/partnerhub.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]
    assert database["TEST"]["NAME"] == "VAR_DIR/test.sqlite3"
    assert database["CONN_MAX_AGE"] == 0


POSTGRESQL_URL = "postgres://app@db.example:5432/partnerhub"


def test_postgresql_opens_a_connection_a_request_unless_told_otherwise(tmp_path):
    [database] = load_settings(tmp_path, DATABASE_URL=POSTGRESQL_URL)["DATABASES"][1].values()

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (0, False)
    assert "pool" not in database["OPTIONS"]


def test_postgresql_keeps_connections_checked_for_the_worker(tmp_path):
    loaded = load_settings(tmp_path, DATABASE_URL=POSTGRESQL_URL, DATABASE_CONN_MAX_AGE="60")
    [database] = loaded["DATABASES"][1].values()

    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (60, True)


def test_postgresql_pools_connections_checked_before_each_loan(tmp_path):
    loaded = load_settings(
        tmp_path,
        DATABASE_URL=POSTGRESQL_URL,
        DATABASE_POOL="1",
        DATABASE_POOL_MAX_SIZE="12",
        DATABASE_CONN_MAX_AGE="60",  # Django refuses a pool with persistent connections
    )
    [database] = loaded["DATABASES"][1].values()

    assert (database["CONN_MAX_AGE"], database["CONN_HEALTH_CHECKS"]) == (0, True)
    assert database["OPTIONS"]["pool"] == {"min_size": 1, "max_size": 12, "timeout": 10.0}


def test_the_pool_is_not_smaller_than_its_minimum(tmp_path):
    with pytest.raises(RuntimeError) as failed:
        load_settings(
            tmp_path,
            DATABASE_URL=POSTGRESQL_URL,
            DATABASE_POOL="1",
            DATABASE_POOL_MIN_SIZE="4",
            DATABASE_POOL_MAX_SIZE="2",
        )

    assert "DATABASE_POOL_MIN_SIZE=4 is above DATABASE_POOL_MAX_SIZE=2" in str(failed.value)


def test_sqlite_ignores_the_pool(tmp_path):
    [database] = load_settings(tmp_path, DATABASE_POOL="1")["DATABASES"][1].values()

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert "pool" not in database["OPTIONS"]


def test_the_default_queue_is_sqlite_huey_under_var_dir(defaults):
    huey = defaults["HUEY"][1]

    assert (huey["huey_class"], huey["filename"]) == ("huey.SqliteHuey", "VAR_DIR/huey.sqlite3")


def test_the_secret_key_is_generated_once_and_kept_under_var_dir(tmp_path):
    first = load_settings(tmp_path)["SECRET_KEY"][1]

    assert len(first) >= 50
    assert (tmp_path / "secret_key").read_text().strip() == first
    assert load_settings(tmp_path)["SECRET_KEY"][1] == first


def test_the_fixed_structures_keep_their_essentials(defaults):
    assert defaults["INSTALLED_APPS"][1][-3:] == [
        "partnerhub.cabinet",
        "partnerhub.backoffice",
        "partnerhub.demo",
    ]
    assert defaults["MIDDLEWARE"][1][0] == "django.middleware.security.SecurityMiddleware"
    assert defaults["MIDDLEWARE"][1][-1] == "partnerhub.core.access.AccessMiddleware"
    assert defaults["TEMPLATES"][1][0]["DIRS"] == ["PACKAGE/templates"]
    assert len(defaults["AUTH_PASSWORD_VALIDATORS"][1]) == 4
    assert defaults["REST_FRAMEWORK"][1]["PAGE_SIZE"] == 50
    assert defaults["SPECTACULAR_SETTINGS"][1]["SERVE_INCLUDE_SCHEMA"] is False
    assert defaults["LOGGING"][1]["root"]["level"] == "INFO"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"CRM_ALLOW_LOCAL": "1"}, {"CRM_ALLOW_LOCAL": True, "WEBHOOK_ALLOW_LOCAL": False}),
        ({"WEBHOOK_ALLOW_LOCAL": "yes"}, {"WEBHOOK_ALLOW_LOCAL": True, "CRM_ALLOW_LOCAL": True}),
        (
            {"WEBHOOK_ALLOW_LOCAL": "yes", "CRM_ALLOW_LOCAL": "off"},
            {"WEBHOOK_ALLOW_LOCAL": True, "CRM_ALLOW_LOCAL": False},
        ),
        ({"CRM_ALLOW_LOCAL": "False"}, {"CRM_ALLOW_LOCAL": False}),
        ({"DEBUG": " TRUE "}, {"DEBUG": True}),
        ({"HTTPS": "on"}, {"HTTPS": True, "SECURE_HSTS_SECONDS": 31536000}),
        ({"CRM_POLL_MINUTES": "30", "CRM_TIMEOUT_SECONDS": "2.5"}, {"CRM_POLL_MINUTES": 30}),
        ({"LEAD_IMPORT_MAX_ROWS": "1_000"}, {"LEAD_IMPORT_MAX_ROWS": 1000}),
        ({"CRM_POLL_MINUTES": ""}, {"CRM_POLL_MINUTES": 15}),
        ({"ALLOWED_HOSTS": "a.example, b.example,"}, {"ALLOWED_HOSTS": ["a.example", "b.example"]}),
        ({"SITE_URL": "https://partners.example/"}, {"SITE_URL": "https://partners.example"}),
        (
            {"REQUEST_TIMEOUT_SECONDS": "60"},
            {"REQUEST_TIMEOUT_SECONDS": 60, "IDEMPOTENCY_LEASE_SECONDS": 65.0},
        ),
        ({"EMAIL_HOST": "smtp.example", "EMAIL_PORT": "587"}, {"EMAIL_PORT": 587}),
    ],
)
def test_overrides_are_parsed_into_their_types(tmp_path, variables, expected):
    loaded = load_settings(tmp_path, **variables)

    assert {name: loaded[name][1] for name in expected} == expected
    for name, value in expected.items():
        assert loaded[name][0] == type(value).__name__


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"CRM_ALLOW_LOCAL": "maybe"}, "CRM_ALLOW_LOCAL='maybe' is not a yes/no value"),
        ({"DEBUG": "2"}, "DEBUG='2' is not a yes/no value"),
        ({"CRM_POLL_MINUTES": "fifteen"}, "CRM_POLL_MINUTES='fifteen' is not a whole number"),
        ({"REQUEST_TIMEOUT_SECONDS": "30.5"}, "REQUEST_TIMEOUT_SECONDS='30.5' is not a whole"),
        ({"LEAD_IMPORT_MAX_ROWS": "0"}, "LEAD_IMPORT_MAX_ROWS=0 is below its minimum 1"),
        ({"CRM_TIMEOUT_SECONDS": "abc"}, "CRM_TIMEOUT_SECONDS='abc' is not a number"),
        ({"CRM_TIMEOUT_SECONDS": "nan"}, "CRM_TIMEOUT_SECONDS='nan' is not a finite number"),
        ({"CRM_TIMEOUT_SECONDS": "-1"}, "CRM_TIMEOUT_SECONDS=-1.0 is below its minimum 0.1"),
        ({"INPUT_YEAR_MIN": "2100", "INPUT_YEAR_MAX": "2000"}, "INPUT_YEAR_MAX=2000 is below"),
        ({"EMAIL_HOST": "smtp.example", "EMAIL_PORT": "smtp"}, "EMAIL_PORT='smtp' is not a"),
    ],
)
def test_an_invalid_value_stops_the_start_naming_the_variable(tmp_path, variables, message):
    with pytest.raises(RuntimeError) as failed:
        load_settings(tmp_path, **variables)

    assert "ImproperlyConfigured" in str(failed.value)
    assert message in str(failed.value)


@pytest.mark.parametrize(
    ("helper", "default"),
    [(env_bool, "False"), (env_bool, 0), (env_int, "15"), (env_int, True), (env_float, "2.0")],
)
def test_a_helper_refuses_a_default_of_another_type(helper, default):
    """The break: ``env_bool("CRM_ALLOW_LOCAL", str(...))`` made the default the string
    "False", which is true."""
    with pytest.raises(ImproperlyConfigured, match="the default must be"):
        helper("PARTNERHUB_TEST_UNSET", default)
