"""Issue 14: after 0005 gave every kind a vendor, the column is required and a kind's code is
unique per vendor instead of across the installation. (A separate migration: PostgreSQL refuses
to alter a table in the transaction that updated its foreign keys.)

Going back makes codes unique across the installation again, which fails while two vendors use
the same code: remove one vendor's duplicates first.
"""

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("partners", "0005_kinds_vendor_fill")]

    operations = [
        migrations.AlterField(
            model_name="statuskind",
            name="vendor",
            field=models.ForeignKey(
                limit_choices_to={"kind": "vendor"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="status_kinds",
                to="partners.organisation",
                verbose_name="вендор",
            ),
        ),
        migrations.AlterField(
            model_name="counterpartydocumentkind",
            name="vendor",
            field=models.ForeignKey(
                limit_choices_to={"kind": "vendor"},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="counterparty_document_kinds",
                to="partners.organisation",
                verbose_name="вендор",
            ),
        ),
        migrations.AlterField(
            model_name="statuskind",
            name="code",
            field=models.SlugField(verbose_name="код"),
        ),
        migrations.AlterField(
            model_name="counterpartydocumentkind",
            name="code",
            field=models.SlugField(verbose_name="код"),
        ),
        migrations.AddConstraint(
            model_name="statuskind",
            constraint=models.UniqueConstraint(
                fields=("vendor", "code"), name="status_kind_code_per_vendor"
            ),
        ),
        migrations.AddConstraint(
            model_name="counterpartydocumentkind",
            constraint=models.UniqueConstraint(
                fields=("vendor", "code"), name="counterparty_document_kind_code_per_vendor"
            ),
        ),
    ]
