"""Issue 14: status kinds and counterparty document kinds belong to a vendor (each vendor keeps
its own catalogue). This step (after 0004 added the nullable ``vendor`` column) gives every
existing kind to the installation's vendor: the only organisation of kind "vendor" or, if
several exist, the one with the lowest pk (the first one created, which the seeded kinds were
made for).

A database with no vendor yet (a fresh install: migrations run before anyone creates the vendor)
has only the seeded kinds of 0003, which nothing can refer to; they are removed, and each vendor
receives its own copy when it is created (``partners.services.vendor_catalogues_seed``, called by
``demo_load``, the admin and the test factories). A kind that something refers to and that no
vendor can take stops the migration with a message.

Reversible: going back empties the column (0006's reverse makes it nullable first); the kinds
removed on a vendorless database are not brought back (0003's reverse and forward re-seed them).
"""

from django.db import migrations


def give_kinds_to_the_installation_vendor(apps, schema_editor):
    Organisation = apps.get_model("partners", "Organisation")
    StatusKind = apps.get_model("partners", "StatusKind")
    DocumentKind = apps.get_model("partners", "CounterpartyDocumentKind")
    vendor = Organisation.objects.filter(kind="vendor").order_by("pk").first()
    if vendor is not None:
        StatusKind.objects.filter(vendor__isnull=True).update(vendor=vendor)
        DocumentKind.objects.filter(vendor__isnull=True).update(vendor=vendor)
        return
    StatusKind.objects.filter(vendor__isnull=True, grants__isnull=True).delete()
    DocumentKind.objects.filter(vendor__isnull=True, uploads__isnull=True).delete()
    left = StatusKind.objects.count() + DocumentKind.objects.count()
    if left:
        raise RuntimeError(
            f"{left} status or counterparty document kinds are in use but there is no vendor "
            "organisation to give them to: create the vendor first, then migrate."
        )


def forget_kind_vendors(apps, schema_editor):
    StatusKind = apps.get_model("partners", "StatusKind")
    DocumentKind = apps.get_model("partners", "CounterpartyDocumentKind")
    StatusKind.objects.update(vendor=None)
    DocumentKind.objects.update(vendor=None)


class Migration(migrations.Migration):
    dependencies = [("partners", "0004_kinds_vendor_column")]

    operations = [
        migrations.RunPython(give_kinds_to_the_installation_vendor, forget_kind_vendors),
    ]
