"""Issue 17: the worker writes an event's deliveries after commit, not the producer's
transaction; ``fanned_out_at`` says it has. Existing events were fanned out when emitted."""

from django.db import migrations, models
from django.db.models import F


def mark_existing_fanned_out(apps, schema_editor):
    OutboxEvent = apps.get_model("core", "OutboxEvent")
    OutboxEvent.objects.filter(fanned_out_at__isnull=True).update(fanned_out_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("core", "0005_audit_outbox_vendor")]

    operations = [
        migrations.AddField(
            model_name="outboxevent",
            name="fanned_out_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="разослано"),
        ),
        migrations.RunPython(mark_existing_fanned_out, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="outboxevent",
            index=models.Index(
                condition=models.Q(("fanned_out_at__isnull", True)),
                fields=["created_at"],
                name="outbox_event_not_fanned_out",
            ),
        ),
    ]
