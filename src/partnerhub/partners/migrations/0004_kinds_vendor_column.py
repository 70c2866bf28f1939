"""Issue 14: status kinds and counterparty document kinds get a nullable ``vendor`` column;
0005 fills it and 0006 makes it required (three steps: PostgreSQL refuses to create an index or
alter a table in the transaction that changed rows the foreign keys check)."""

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("partners", "0003_issue6_seed_status_and_document_kinds")]

    operations = [
        migrations.AddField(
            model_name="statuskind",
            name="vendor",
            field=models.ForeignKey(
                null=True,
                limit_choices_to={"kind": "vendor"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="status_kinds",
                to="partners.organisation",
                verbose_name="вендор",
            ),
        ),
        migrations.AddField(
            model_name="counterpartydocumentkind",
            name="vendor",
            field=models.ForeignKey(
                null=True,
                limit_choices_to={"kind": "vendor"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="counterparty_document_kinds",
                to="partners.organisation",
                verbose_name="вендор",
            ),
        ),
    ]
