"""Version 1 of the configuration of every referral program: the spec's numbers, in force from
the epoch (later versions are made by staff in the back office)."""

from django.db import migrations

from partnerhub.referrals.engine.config import DEFAULT, config_to_dict

INITIAL_COMMENT = "Начальная версия: числа из правил программы"


def create_first_versions(apps, schema_editor):
    Program = apps.get_model("partners", "Program")
    ConfigVersion = apps.get_model("referrals", "ConfigVersion")
    document = config_to_dict(DEFAULT)
    document.pop("version")
    document.pop("effective_from")
    for program in Program.objects.filter(kind="referrals"):
        ConfigVersion.objects.get_or_create(
            program=program,
            version=1,
            defaults={
                "effective_from": DEFAULT.effective_from,
                "document": document,
                "comment": INITIAL_COMMENT,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("referrals", "0001_initial"), ("partners", "0001_initial")]

    operations = [migrations.RunPython(create_first_versions, migrations.RunPython.noop)]
