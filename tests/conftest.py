"""Shared fixtures: two partner organisations with every role, the vendor with every staff
role, a second vendor with its staff and its own partner C, and helpers to log in as any of
them."""

from __future__ import annotations

import datetime as dt
import functools
import shutil
from dataclasses import dataclass, field

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.backends.postgresql.operations import (
    DatabaseOperations as PostgreSQLOperations,
)
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone, translation
from huey.contrib.djhuey import HUEY

from partnerhub.accounts.models import User
from partnerhub.accounts.roles import PARTNER_ROLES, VENDOR_ROLES
from partnerhub.core import clock
from partnerhub.core.ledger import install_immutability_triggers, uninstall_immutability_triggers
from partnerhub.core.models.ledger import LedgerAccount, LedgerEntry, LedgerTransaction
from partnerhub.partners.models import (
    Enrolment,
    EnrolmentState,
    Organisation,
    Program,
    ProgramKind,
)
from partnerhub.referrals.services.partners import referral_partner_register
from tests.factories import (
    PASSWORD,
    OrganisationFactory,
    ProgramFactory,
    UserFactory,
    VendorFactory,
)

pytest_plugins = ["tests.smtp"]  # the `smtp` fixture: a real SMTP server

HUEY.immediate = True  # tasks run in the test's process, right after commit


@pytest.fixture(scope="session", autouse=True)
def _media_of_this_run(tmp_path_factory):
    """Files the code stores (uploads, generated PDFs) go to this run's temporary directory,
    one per xdist worker (``make test`` runs several), not to ``VAR_DIR/media``, which parallel
    workers would share and which would keep every run's files."""
    media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
    media.enable()
    yield
    media.disable()


@pytest.fixture(autouse=True)
def _russian_by_default():
    """Each test starts in Russian (LocaleMiddleware leaves the last request's language active
    in the thread)."""
    translation.activate("ru")
    yield
    translation.activate("ru")


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests render templates without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _events_applied_in_request(settings):
    """Events posted over the API are applied in the request (as on SQLite): tests run in a
    transaction that never commits, so a task queued on commit would never run. The tests of
    the worker's path (tests/referrals/test_pending.py) turn it on where commits happen."""
    settings.REFERRAL_APPLY_IN_WORKER = False


@dataclass
class World:
    """Partner A, partner B and the vendor, each with a user per role; and a second vendor
    ("vendor 2") with its own staff and its own partner C (enrolled only with vendor 2), for the
    tests that vendors never see each other's data. ``users`` keeps the first vendor's world
    ("a:owner", "b:manager", "vendor:support" ...); ``user()`` also finds "vendor2:<role>" and
    "c:<role>"."""

    vendor: Organisation
    partner_a: Organisation
    partner_b: Organisation
    users: dict[str, object]  # "a:owner", "b:manager", "vendor:support" ...
    vendor2: Organisation
    partner_c: Organisation
    vendor2_users: dict[str, object]  # "vendor2:support", "c:owner" ...

    def user(self, key: str):
        if key in self.users:
            return self.users[key]
        return self.vendor2_users[key]

    def vendor2_programs(self) -> Vendor2Programs:
        """Vendor 2's referral and marketplace programs with partner C enrolled (active) in
        both and registered in the referral one; made on first use (most tests need none)."""
        made = self.__dict__.get("_vendor2_programs")
        if made is None:
            made = _vendor2_programs_make(self)
            self.__dict__["_vendor2_programs"] = made
        return made


@dataclass(frozen=True)
class Vendor2Programs:
    referral_program: Program
    lead_program: Program
    referral_code: str  # partner C's code in vendor 2's referral program


#: Names seeded so that a leak shows in a page's body.
VENDOR2_NAME = "ООО «Второй вендор»"
PARTNER_C_NAME = "ООО «Цезарь-Партнёр»"
#: A valid INN of a series no other test uses ("95...").
PARTNER_C_INN = "9500000012"


def _vendor2_programs_make(world: World) -> Vendor2Programs:
    referral_program = ProgramFactory(
        vendor=world.vendor2, name="Реферальная программа вендора 2", kind=ProgramKind.REFERRALS
    )
    lead_program = ProgramFactory(
        vendor=world.vendor2, name="Биржа лидов вендора 2", kind=ProgramKind.LEADS
    )
    for program in (referral_program, lead_program):
        Enrolment.objects.create(
            organisation=world.partner_c, program=program, state=EnrolmentState.ACTIVE
        )
    registered = referral_partner_register(
        program=referral_program, organisation=world.partner_c, at=timezone.now()
    )
    return Vendor2Programs(
        referral_program=referral_program, lead_program=lead_program, referral_code=registered.code
    )


@functools.cache
def _password_hashed() -> str:
    """``PASSWORD`` hashed once a process (the tests' MD5 hasher, see ``_plain_static_storage``):
    a salt and a hash a user was a tenth of the world's cost."""
    return make_password(PASSWORD)


@pytest.fixture
def world(db) -> World:
    vendor = VendorFactory()
    partner_a = OrganisationFactory(short_name="ООО «Альфа»", inn="7707083893")
    partner_b = OrganisationFactory(short_name="ООО «Бета»", inn="7728123459")
    # users are built, then inserted in one statement (most tests ask for the world: one
    # INSERT a user made it the costliest fixture of the suite)
    users: dict[str, object] = {}
    for prefix, org in (("a", partner_a), ("b", partner_b)):
        for role in PARTNER_ROLES:
            users[f"{prefix}:{role}"] = UserFactory.build(
                password=_password_hashed(),
                organisation=org,
                role=role,
                email=f"{role}@{prefix}.example",
            )
    for role in VENDOR_ROLES:
        users[f"vendor:{role}"] = UserFactory.build(
            password=_password_hashed(),
            organisation=vendor,
            role=role,
            email=f"{role}@vendor.example",
            is_staff=role == "administrator",
            is_superuser=role == "administrator",
        )
    # vendor 2 starts with empty catalogues of status and document kinds, so that partners
    # enrolled nowhere (A, B: every vendor's prospects) are asked vendor 1's documents only;
    # the isolation tests seed vendor 2's catalogue where they need it
    vendor2 = VendorFactory(short_name=VENDOR2_NAME, catalogues=False)
    partner_c = OrganisationFactory(short_name=PARTNER_C_NAME, inn=PARTNER_C_INN)
    vendor2_users: dict[str, object] = {}
    for role in PARTNER_ROLES:
        vendor2_users[f"c:{role}"] = UserFactory.build(
            password=_password_hashed(),
            organisation=partner_c,
            role=role,
            email=f"{role}@c.example",
        )
    for role in VENDOR_ROLES:
        # no superuser here: Django's admin is not scoped by vendor, and vendor 2's
        # administrator must not pass through it to vendor 1's data
        vendor2_users[f"vendor2:{role}"] = UserFactory.build(
            password=_password_hashed(),
            organisation=vendor2,
            role=role,
            email=f"{role}@vendor2.example",
            is_staff=role == "administrator",
        )
    User.objects.bulk_create([*users.values(), *vendor2_users.values()])
    return World(
        vendor=vendor,
        partner_a=partner_a,
        partner_b=partner_b,
        users=users,
        vendor2=vendor2,
        partner_c=partner_c,
        vendor2_users=vendor2_users,
    )


@pytest.fixture
def login_as(world):
    """A test client logged in as ``world.user(key)``."""

    def make(key: str) -> Client:
        client = Client()
        client.force_login(world.user(key))
        return client

    return make


@dataclass
class SteppedClock:
    """The project's clock frozen at ``start``; ``core.clock.sleep`` moves it on instead of
    waiting, and each wait is noted in ``slept``."""

    start: dt.datetime
    traveller: time_machine.Coordinates
    slept: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept.append(seconds)
            self.traveller.shift(dt.timedelta(seconds=seconds))


@pytest.fixture
def stepped_clock(monkeypatch):
    """Time driven by the test (house rule: no test measures a wall-clock gap): the clock is
    frozen a second after the real present (later than any moment the fixtures before it
    stored) and code that waits for a moment (``clock.sleep``) gets there at once."""
    start = clock.now().replace(microsecond=0) + dt.timedelta(seconds=1)
    with time_machine.travel(start, tick=False) as traveller:
        stepped = SteppedClock(start=start, traveller=traveller)
        monkeypatch.setattr(clock, "sleep", stepped.sleep)
        yield stepped


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """pytest-django's test database, and before it is dropped at the end of the run: the end
    of every other session still connected to it on PostgreSQL (a thread of a parallel-request
    test that never closed its connection, a server a test started that is still stopping).
    Without it the drop failed on a loaded machine ("being accessed by other users") and left
    the database behind."""
    yield
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


# --- emptying the database after a test that commits (PostgreSQL) ----------------------------


def _sql_flush_filled_tables_only(original):
    """PostgreSQL's flush (after every test that commits: threads, live server) with DELETE of
    the tables that hold rows, not one TRUNCATE of all ~150 tables: a TRUNCATE gives each table
    a new file, 1.3 s a test, 80 s of CPU a run. Foreign keys and the ledger's append-only
    triggers are set aside for the transaction (``session_replication_role = replica``, which
    needs a superuser: without one, or when sequences must restart, Django's own flush runs)."""

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        with self.connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if not cursor.fetchone()[0]:
                return original(self, style, tables, allow_cascade=allow_cascade)
            cursor.execute(
                " UNION ALL ".join(
                    f"SELECT %s WHERE EXISTS (SELECT 1 FROM {self.quote_name(table)})"
                    for table in tables
                ),
                list(tables),
            )
            filled = [row[0] for row in cursor.fetchall()]
        if not filled:
            return []
        return [
            "SET LOCAL session_replication_role = replica",
            *(f"DELETE FROM {self.quote_name(table)}" for table in filled),
        ]

    return sql_flush


@pytest.fixture(scope="session", autouse=True)
def _quick_flush_on_postgresql():
    original = PostgreSQLOperations.sql_flush
    PostgreSQLOperations.sql_flush = _sql_flush_filled_tables_only(original)
    yield
    PostgreSQLOperations.sql_flush = original


# --- committed ledger rows (tests that commit: threads, live server) -------------------------


def triggers_installed() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'core_ledger%'"
            )
        else:
            cursor.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'core_ledger%_append_only'"
            )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def ledger_committed(transactional_db):
    """For tests that commit ledger rows: empty the ledger tables afterwards ourselves, because
    the runner's flush deletes rows with DELETE on SQLite, which the append-only triggers (when
    a migration installed them) refuse. The triggers are lifted for that and put back."""
    yield
    installed = triggers_installed()
    with transaction.atomic():
        uninstall_immutability_triggers(connection)
        with connection.cursor() as cursor:
            for model in (LedgerEntry, LedgerTransaction, LedgerAccount):
                cursor.execute(f"DELETE FROM {model._meta.db_table}")
        if installed:
            install_immutability_triggers(connection)


@pytest.fixture(autouse=True)
def _fresh_referral_cache():
    """Each test starts with no live referral states in memory (ids repeat between tests)."""
    from partnerhub.referrals.services.live import cache_clear

    cache_clear()
    yield
    cache_clear()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``@pytest.mark.needs_tools("pdftoppm", ...)``: skip, naming what is missing, where a
    system tool the test runs is not installed (``make test`` installs them: poppler-utils)."""
    for item in items:
        for mark in item.iter_markers("needs_tools"):
            missing = [name for name in mark.args if shutil.which(name) is None]
            if missing:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"{', '.join(missing)} not installed (Debian: poppler-utils)"
                    )
                )
