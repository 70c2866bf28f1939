"""Seed the production calendar 2020-2035 from the holidays package and make the ledger tables
append-only with database triggers (UPDATE and DELETE abort on both SQLite and PostgreSQL)."""

from django.db import migrations

from partnerhub.core.calendar import seed_for_migration, unseed_for_migration
from partnerhub.core.ledger import install_immutability_triggers, uninstall_immutability_triggers


def install_triggers(apps, schema_editor):
    install_immutability_triggers(schema_editor)


def uninstall_triggers(apps, schema_editor):
    uninstall_immutability_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("core", "0002_calendar_ledger_audit_idempotency")]

    operations = [
        migrations.RunPython(seed_for_migration, unseed_for_migration),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
