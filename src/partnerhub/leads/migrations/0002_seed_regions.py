"""Load the regions of the Russian Federation (``leads.regions.REGIONS``). Reversible: going
back removes the seeded regions no lead refers to."""

from django.db import migrations

from partnerhub.leads.regions import REGIONS


def seed(apps, schema_editor):
    Region = apps.get_model("leads", "Region")
    for code, name in REGIONS:
        Region.objects.get_or_create(code=code, defaults={"name": name})


def unseed(apps, schema_editor):
    Region = apps.get_model("leads", "Region")
    Region.objects.filter(code__in=[code for code, _ in REGIONS], leads__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
