"""Issue 14: audit rows and outbox events name the vendor whose programs they concern (a plain
id, as ``organisation_id``: core knows no domain model). Existing rows are filled where one
vendor can be told by ``partners`` migration 0007 (core knows no enrolments)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0004_idempotency_lease")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="vendor_id",
            field=models.BigIntegerField(
                blank=True, db_index=True, null=True, verbose_name="вендор"
            ),
        ),
        migrations.AddField(
            model_name="outboxevent",
            name="vendor_id",
            field=models.BigIntegerField(
                blank=True, db_index=True, null=True, verbose_name="вендор"
            ),
        ),
    ]
