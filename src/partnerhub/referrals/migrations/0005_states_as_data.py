"""Live states as data (issue 14 part 7): remove the states an earlier release stored as pickles.

From this release a state blob is a format byte (``J``: JSON, ``Z``: zlib-compressed JSON, see
``referrals.engine.state``) and the loader never reads anything else. States of the earlier
format are not read here either (only their first byte is looked at); they are removed so that
no code-bearing bytes stay in the database:

- checkpoints (a cache of states before reviews) are deleted: late events replay from the
  partner's next readable checkpoint or from its first event;
- a partner's state blob is emptied; its standing columns stay as they were, and the state is
  rebuilt from the stored events the first time it is used (then written in the new format).

Reversing leaves the data as it is: the emptied blobs cannot be restored (nothing is lost, the
events are the source), and an earlier release cannot read states of the new format anyway.
"""

from django.db import migrations

#: The first bytes of a state of this format (``referrals.engine.state``; frozen here).
DATA_FORMAT_BYTES = (b"J", b"Z")
CHUNK = 500


def _legacy(model):
    rows = model.objects.values_list("pk", "state").order_by("pk").iterator(chunk_size=CHUNK)
    return [pk for pk, state in rows if bytes(state[:1]) not in DATA_FORMAT_BYTES]


def remove_legacy_states(apps, schema_editor):
    checkpoint = apps.get_model("referrals", "StateCheckpoint")
    state = apps.get_model("referrals", "PartnerState")
    old = _legacy(checkpoint)
    for start in range(0, len(old), CHUNK):
        checkpoint.objects.filter(pk__in=old[start : start + CHUNK]).delete()
    old = _legacy(state)
    for start in range(0, len(old), CHUNK):
        state.objects.filter(pk__in=old[start : start + CHUNK]).update(state=b"")


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_pending_events"),
    ]

    operations = [
        migrations.RunPython(remove_legacy_states, migrations.RunPython.noop, elidable=True),
    ]
