"""Issue 14: fill ``vendor_id`` of the audit rows and outbox events written before core 0005
added it, where one vendor can be told: rows about a vendor organisation itself (its own
staff's actions) and rows about a partner enrolled (in any state) with exactly one vendor get
that vendor; rows about a partner of several vendors, of no vendor, or of no organisation stay
empty (the back office's earlier rule then decides who sees them). This lives in ``partners``
because core knows no enrolments. Reversible: going back empties the column.
"""

from collections import defaultdict

from django.db import migrations


def _vendor_of_organisation(apps):
    Organisation = apps.get_model("partners", "Organisation")
    Enrolment = apps.get_model("partners", "Enrolment")
    vendors = defaultdict(set)
    for org_id, vendor_id in Enrolment.objects.values_list("organisation_id", "program__vendor_id"):
        vendors[org_id].add(vendor_id)
    known = {org: next(iter(ids)) for org, ids in vendors.items() if len(ids) == 1}
    for pk in Organisation.objects.filter(kind="vendor").values_list("pk", flat=True):
        known[pk] = pk
    return known


def fill(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    OutboxEvent = apps.get_model("core", "OutboxEvent")
    by_vendor = defaultdict(list)
    for org_id, vendor_id in _vendor_of_organisation(apps).items():
        by_vendor[vendor_id].append(org_id)
    for vendor_id, org_ids in by_vendor.items():
        for start in range(0, len(org_ids), 500):
            chunk = org_ids[start : start + 500]
            AuditEvent.objects.filter(vendor_id__isnull=True, organisation_id__in=chunk).update(
                vendor_id=vendor_id
            )
            OutboxEvent.objects.filter(vendor_id__isnull=True, organisation_id__in=chunk).update(
                vendor_id=vendor_id
            )


def empty(apps, schema_editor):
    apps.get_model("core", "AuditEvent").objects.update(vendor_id=None)
    apps.get_model("core", "OutboxEvent").objects.update(vendor_id=None)


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0006_kinds_per_vendor_constraints"),
        ("core", "0005_audit_outbox_vendor"),
    ]

    operations = [migrations.RunPython(fill, empty)]
