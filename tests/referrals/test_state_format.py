"""The live state is data, not code (issue 14 part 7; engine.state, services.live).

1. The engine's state round-trips through its versioned data format: an engine stopped anywhere
   in a random history, stored and restored, continues exactly as the uninterrupted one.
2. What the database holds is never unpickled: a state or checkpoint holding a pickle (even one
   whose unpickling would run code), or a state of another format version, is treated as absent
   and rebuilt from the stored events; the migration removes states of the pickle era.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import pickle
import zlib
from pathlib import Path

import orjson
import pytest
from django.apps import apps as django_apps
from hypothesis import given
from hypothesis import strategies as st

from partnerhub.referrals.engine import (
    ConfigSet,
    Engine,
    ProgramConfig,
    in_order,
    parse_event,
    run,
    state,
)
from partnerhub.referrals.engine import core as engine_core
from partnerhub.referrals.engine.results import BonusEntry, Grant, LevelChange, Rejection, Review
from partnerhub.referrals.models import PartnerState, StateCheckpoint
from partnerhub.referrals.services import intake, live
from partnerhub.referrals.services.live import apply as live_apply
from partnerhub.referrals.services.live import store as live_store
from tests.factories import ProgramFactory
from tests.referrals.test_engine_properties import PROPERTY_SETTINGS, scenarios
from tests.referrals.test_live import (
    NOW,
    T0,
    activity,
    assert_live_equals_replay,
    client,
    partner,
    payment,
    refund,
)

# --- the format -----------------------------------------------------------------------------------


def test_the_format_names_every_field_of_every_engine_object():
    # given the engine's classes; then the format has a column for each of their fields, so
    # that a field added to the engine without a place in the format fails here
    slotted = {
        "partner": engine_core._Partner,
        "client": engine_core._Client,
        "payment": engine_core._Payment,
        "promo": engine_core._Promo,
    }
    keyed = {"payment": "id", "promo": "key"}  # the dictionary key the object is stored under
    for table, cls in slotted.items():
        assert set(state.FIELDS[table]) - {keyed.get(table)} == set(cls.__slots__), table
    for table, cls in {
        "grant": Grant,
        "bonus": BonusEntry,
        "level": LevelChange,
        "review": Review,
        "rejection": Rejection,
    }.items():
        assert state.FIELDS[table] == [f.name for f in dataclasses.fields(cls)], table
    document = state.engine_to_data(Engine())
    kept = set(document) - {"format", "fields"} | {"configs"}
    assert kept == set(vars(Engine())) | {"grants"}


def _engine_of(events, configs: ConfigSet) -> tuple[Engine, list]:
    parsed = in_order([parse_event(e, n) for n, e in enumerate(events)])
    return Engine(configs), parsed


def _through_bytes(engine: Engine, configs: ConfigSet, *, history: bool = True) -> Engine:
    blob = state.state_encode(state.engine_to_data(engine, history=history))
    return state.engine_from_data(state.state_decode(blob), configs)


ZONES = ["Europe/Moscow", "Europe/Berlin", "America/Sao_Paulo", "Asia/Kolkata"]


@PROPERTY_SETTINGS
@given(
    scenario=scenarios(),
    cut=st.floats(0, 1),
    zone=st.sampled_from(ZONES),
    move_on=st.booleans(),
)
def test_an_engine_restored_from_its_data_continues_as_if_never_stopped(
    scenario, cut, zone, move_on
):
    # given a random history, and an engine stopped after some of its events (sometimes
    # brought on in time to its next event first, as the minute task does), stored and restored
    stream, as_of = scenario
    configs = ConfigSet((ProgramConfig(timezone=zone),))
    whole, events = _engine_of([event for _, event in stream], configs)
    stopped, _ = _engine_of([event for _, event in stream], configs)
    split = round(cut * len(events))
    head, tail = events[:split], events[split:]
    for engine in (whole, stopped):
        engine.apply(head)
        if move_on and tail:
            engine.advance_all(tail[0].us)
    restored = _through_bytes(stopped, configs)
    assert state.engine_to_data(restored) == state.engine_to_data(stopped)
    # when both are fed the rest of the history
    whole.apply(tail)
    restored.apply(tail)
    # then they hold the same state and report the same standings, points, bonuses, levels
    assert state.engine_to_data(restored) == state.engine_to_data(whole)
    expected = whole.result(as_of)
    got = restored.result(as_of)
    assert got.partners == expected.partners
    assert got.clients == expected.clients
    assert got.rejected == expected.rejected


@PROPERTY_SETTINGS
@given(scenario=scenarios(), cut=st.floats(0, 1))
def test_a_state_stored_without_its_history_continues_to_the_same_standings(scenario, cut):
    # given an engine stopped mid-way and stored as the live layer stores checkpoints (the
    # history it made is drained into the database, not stored with the state)
    stream, as_of = scenario
    configs = ConfigSet()
    whole, events = _engine_of([event for _, event in stream], configs)
    split = round(cut * len(events))
    whole.apply(events[:split])
    restored = _through_bytes(whole, configs, history=False)
    # when both continue
    whole.apply(events[split:])
    restored.apply(events[split:])
    # then the standings and the state apart from the drained history are equal
    assert state.engine_to_data(restored, history=False) == state.engine_to_data(
        whole, history=False
    )
    assert {c: p.standing for c, p in restored.result(as_of).partners.items()} == {
        c: p.standing for c, p in whole.result(as_of).partners.items()
    }


def test_values_are_written_as_plain_data():
    # given a partner with an active client (1 point, 100.00 of bonus) that paid for Team 12
    # months (60 points) and was refunded (the 60 points taken back)
    events = [
        partner("p1", "AB12CD"),
        client("c1", "acme.bitrix24.ru", "AB12CD", 1),
        activity("a1", "acme.bitrix24.ru", 2),
        payment("pay1", "acme.bitrix24.ru", 3, months=12, amount="10000.00"),
        refund("r1", "pay1", 4),
    ]
    engine, parsed = _engine_of(events, ConfigSet())
    engine.apply(parsed)
    # when it is written
    document = orjson.loads(orjson.dumps(state.engine_to_data(engine)))
    # then money is a decimal string, instants ISO 8601 (a wall time of the program's zone with
    # the zone), days ISO dates
    fields = state.FIELDS
    row = dict(zip(fields["partner"], document["partners"][0], strict=True))
    assert document["format"] == state.FORMAT
    assert row["accrued"] == "100.00"  # the activation bonus; the reward was taken back
    assert row["reg_at"] == "2025-01-10T09:00:00+03:00"
    assert row["next_review"] == "2025-04-10T09:00:00+03:00[Europe/Moscow]"
    client_row = dict(zip(fields["client"], document["clients"][0], strict=True))
    assert client_row["paid"] == "10000.00"
    assert client_row["reg_day"] == "2025-01-11"
    assert client_row["lines"] == ["tariff"]
    grants = [dict(zip(fields["grant"], g, strict=True)) for g in document["grants"]]
    assert [(g["points"], g["revoked_by"]) for g in grants] == [(1, None), (60, "r1")]


def test_a_state_of_another_format_version_is_refused():
    # given a state written by this release
    engine, parsed = _engine_of([partner("p1", "AB12CD")], ConfigSet())
    engine.apply(parsed)
    document = state.engine_to_data(engine)
    # then a document of another version, or with other fields, is not read
    with pytest.raises(state.StateFormatError):
        state.engine_from_data({**document, "format": state.FORMAT + 1})
    with pytest.raises(state.StateFormatError):
        state.engine_from_data({**document, "fields": {**state.FIELDS, "promo": ["key"]}})
    with pytest.raises(state.StateFormatError):
        state.engine_from_data({**document, "partners": [["AB12CD", 1]]})
    with pytest.raises(state.StateFormatError):
        state.engine_from_data({**document, "horizon_us": "0"})


class _Boom:
    """Unpickling this writes a file: what a forged pickle in the database would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def forged_pickle(marker: Path) -> bytes:
    return pickle.dumps(_Boom(marker), protocol=5)


def test_bytes_other_than_a_state_are_refused_without_running_them(tmp_path):
    marker = tmp_path / "ran"
    for blob in (
        forged_pickle(marker),
        b"",
        b"J{not json",
        b"Zrubbish",
        b"Z" + zlib.compress(b"{" * 10)[:-3],
    ):
        with pytest.raises(state.StateFormatError):
            state.state_decode(blob)
    assert not marker.exists()


def test_long_states_are_compressed_and_a_compressed_bomb_is_refused(monkeypatch):
    # given a document longer than the compression threshold
    document = {"format": state.FORMAT, "pad": "x" * (state.COMPRESS_OVER * 4)}
    blob = state.state_encode(document)
    # then it is stored compressed and read back as it was
    assert blob[:1] == b"Z" and len(blob) < state.COMPRESS_OVER
    assert state.state_decode(blob) == document
    assert state.state_encode({"format": 1})[:1] == b"J"
    # and a compressed blob inflating beyond the limit (1 GiB; 1 MiB here) is refused
    monkeypatch.setattr(state, "_MAX_INFLATED", 1 << 20)
    bomb = b"Z" + zlib.compress(b" " * ((1 << 20) + 1), 9)
    with pytest.raises(state.StateFormatError):
        state.state_decode(bomb)


# --- the live states in the database ------------------------------------------------------------


@pytest.fixture
def program(db):
    return ProgramFactory(code="referrals")


def _history() -> list[dict]:
    """AB12CD over 200 days: two reviews (10 April, 10 July), a checkpoint before each."""
    events = [partner("p1", "AB12CD")]
    events += [client(f"c{i}", f"c{i}.ru", "AB12CD", 1 + i) for i in range(4)]
    events += [activity(f"a{i}", f"c{i}.ru", 3 + i) for i in range(3)]
    events += [payment("pay1", "c0.ru", 20, months=12, amount="10000.00")]
    events += [payment("pay2", "c1.ru", 100, months=3, amount="3000.00")]
    events += [refund("r1", "pay2", 110), client("c9", "c9.ru", "AB12CD", 200)]
    return events


def _forge_states(program, blob: bytes) -> None:
    PartnerState.objects.filter(program=program).update(state=blob)
    StateCheckpoint.objects.filter(program=program).update(state=blob)
    live.cache_clear()


def test_a_stored_pickle_is_never_unpickled_and_the_state_is_rebuilt(program, tmp_path):
    # given a partner's live state and checkpoints, then replaced in the database by a pickle
    # whose unpickling would run code
    intake.events_ingest(program=program, objs=_history(), received_at=NOW)
    assert StateCheckpoint.objects.filter(program=program).count() == 2
    marker = tmp_path / "ran"
    _forge_states(program, forged_pickle(marker))
    # when the standing is read as of now and as of a time before the last review
    assert_live_equals_replay(program, NOW)
    early = live.standing_at(program=program, code="AB12CD", as_of=T0 + dt.timedelta(days=105))
    expected = run(_history(), as_of=T0 + dt.timedelta(days=105)).partners["AB12CD"]
    assert early is not None and early.standing == expected.standing
    # and when new events arrive, one of them late (before the last review)
    more = [payment("pay3", "c2.ru", 170, amount="5000.00"), activity("a3", "c3.ru", 50)]
    intake.events_ingest(program=program, objs=more, received_at=NOW)
    # then nothing ran, the standing equals the replay of all stored events, and the state is
    # stored again as data
    assert not marker.exists()
    assert_live_equals_replay(program, NOW)
    saved = bytes(PartnerState.objects.get(program=program, partner="AB12CD").state)
    assert saved[:1] in (b"J", b"Z")
    assert state.state_decode(saved)["format"] == live_store.LIVE_FORMAT


def test_a_late_event_passes_over_a_checkpoint_it_cannot_read(program, tmp_path):
    # given a partner's two checkpoints (10 April, 10 July), the later one forged
    intake.events_ingest(program=program, objs=_history(), received_at=NOW)
    latest = StateCheckpoint.objects.filter(program=program).order_by("-at_us").first()
    marker = tmp_path / "ran"
    latest.state = forged_pickle(marker)
    latest.save(update_fields=["state"])
    live.cache_clear()
    # when a late event dated after both arrives (before the partner's last event)
    intake.events_ingest(
        program=program, objs=[payment("pay3", "c2.ru", 190, amount="5000.00")], received_at=NOW
    )
    # then it is recomputed from the April checkpoint, nothing ran, live equals the replay
    assert not marker.exists()
    assert_live_equals_replay(program, NOW)
    assert early_standing_is_right(program, days=150)


def early_standing_is_right(program, *, days: int) -> bool:
    moment = T0 + dt.timedelta(days=days)
    got = live.standing_at(program=program, code="AB12CD", as_of=moment)
    expected = run([*_history(), payment("pay3", "c2.ru", 190, amount="5000.00")], as_of=moment)
    return got is not None and got.standing == expected.partners["AB12CD"].standing


def test_a_state_of_an_older_format_version_is_rebuilt_from_the_events(program, monkeypatch):
    # given states and checkpoints written by this release
    intake.events_ingest(program=program, objs=_history(), received_at=NOW)
    live.cache_clear()
    # when the next release reads another format version (the version bumped)
    monkeypatch.setattr(state, "FORMAT", state.FORMAT + 1)
    # then it rebuilds the states from the stored events: reads and new events are right
    assert_live_equals_replay(program, NOW)
    more = [payment("pay3", "c2.ru", 170, amount="5000.00"), client("c8", "c8.ru", "AB12CD", 30)]
    intake.events_ingest(program=program, objs=more, received_at=NOW)
    assert_live_equals_replay(program, NOW)
    saved = state.state_decode(PartnerState.objects.get(program=program, partner="AB12CD").state)
    assert saved["engine"]["format"] == state.FORMAT


def test_an_unreadable_copy_from_before_the_last_advance_is_recomputed(program):
    # given a partner's state moved on in time by the minute task past two reviews, and its
    # stored copy from before that advance damaged
    events = [partner("p1", "AB12CD"), client("c1", "a.ru", "AB12CD", 1)]
    intake.events_ingest(program=program, objs=events, received_at=NOW)
    live.partitions_catch_up(program=program, moment=T0 + dt.timedelta(days=200))
    row = PartnerState.objects.get(program=program, partner="AB12CD")
    document = state.state_decode(row.state)
    assert document["before_advance"] is not None
    document["before_advance"] = {"format": "forged"}
    row.state = state.state_encode(document)
    row.save(update_fields=["state"])
    live.cache_clear()
    # when events dated after the last one but before that time arrive
    later = [activity("a1", "a.ru", 2), client("c2", "b.ru", "AB12CD", 150)]
    intake.events_ingest(program=program, objs=later, received_at=NOW)
    # then they count as if they had arrived in order
    assert_live_equals_replay(program, NOW)


def test_the_migration_removes_the_states_stored_as_pickles(program, tmp_path):
    # given a partner whose state and checkpoints an earlier release stored as pickles, and
    # another partner already stored as data
    history = [*_history(), partner("p2", "ZZ99XX", 5), client("z1", "z.ru", "ZZ99XX", 6)]
    intake.events_ingest(program=program, objs=history, received_at=NOW)
    marker = tmp_path / "ran"
    legacy = forged_pickle(marker)
    PartnerState.objects.filter(program=program, partner="AB12CD").update(state=legacy)
    StateCheckpoint.objects.filter(program=program, partner="AB12CD").update(state=legacy)
    kept = bytes(PartnerState.objects.get(program=program, partner="ZZ99XX").state)
    live.cache_clear()
    # when the migration runs
    migration = importlib.import_module("partnerhub.referrals.migrations.0005_states_as_data")
    migration.remove_legacy_states(django_apps, None)
    # then no pickle is left, the data states are untouched, and the standings are rebuilt
    assert not StateCheckpoint.objects.filter(program=program, partner="AB12CD").exists()
    assert bytes(PartnerState.objects.get(program=program, partner="AB12CD").state) == b""
    assert bytes(PartnerState.objects.get(program=program, partner="ZZ99XX").state) == kept
    assert_live_equals_replay(program, NOW)
    intake.events_ingest(
        program=program, objs=[client("c7", "c7.ru", "AB12CD", 40)], received_at=NOW
    )
    assert_live_equals_replay(program, NOW)
    assert not marker.exists()


@PROPERTY_SETTINGS
@given(scenario=scenarios(), cut=st.floats(0, 1), zone=st.sampled_from(ZONES))
def test_an_engine_snapshot_is_its_stored_state_and_shares_nothing_that_changes(
    scenario, cut, zone
):
    # given an engine stopped mid-way, its snapshot (the live layer's marks in memory) and
    # its state stored without history (the checkpoints in the database)
    stream, as_of = scenario
    configs = ConfigSet((ProgramConfig(timezone=zone),))
    engine, events = _engine_of([event for _, event in stream], configs)
    split = round(cut * len(events))
    engine.apply(events[:split])
    copy = engine.snapshot()
    restored = _through_bytes(engine, configs, history=False)
    at_split = state.engine_to_data(restored)
    # then the snapshot is the stored state exactly
    assert state.engine_to_data(copy) == at_split
    # when the engine the snapshot was taken of goes on with the rest of the history (it
    # changes clients and payments the snapshot shares with it: copy on write)
    engine.apply(events[split:])
    # then the snapshot has not changed
    assert state.engine_to_data(copy) == at_split
    # when a copy of the snapshot (a restored mark), the snapshot itself and the restored
    # state all go on with the rest of the history
    again = copy.snapshot()
    again.apply(events[split:])
    assert state.engine_to_data(copy) == at_split
    copy.apply(events[split:])
    restored.apply(events[split:])
    # then they all equal the engine that went on, and each other
    after = state.engine_to_data(restored)
    assert state.engine_to_data(copy) == after
    assert state.engine_to_data(again) == after
    assert state.engine_to_data(engine, history=False) == state.engine_to_data(
        restored, history=False
    )
    assert copy.result(as_of) == restored.result(as_of) == again.result(as_of)
    assert copy.result(as_of, history=False) == engine.result(as_of, history=False)


def test_recompute_rebuilds_an_unreadable_state_once(program, tmp_path, monkeypatch):
    # given a partner's state and checkpoints replaced in the database by a forged pickle
    intake.events_ingest(program=program, objs=_history(), received_at=NOW)
    marker = tmp_path / "ran"
    _forge_states(program, forged_pickle(marker))
    replays = []
    stored_events = live_apply.stored_events
    monkeypatch.setattr(
        live_apply, "stored_events", lambda *a, **k: replays.append(a[1]) or stored_events(*a, **k)
    )
    # when staff recompute the program
    assert live.recompute(program=program) == 1
    # then the partner's events were read once (not a restore of the old state first), nothing
    # ran, and the state is right and stored again as data
    assert replays == ["AB12CD"]
    assert not marker.exists()
    monkeypatch.undo()
    assert_live_equals_replay(program, NOW)
    saved = bytes(PartnerState.objects.get(program=program, partner="AB12CD").state)
    assert state.state_decode(saved)["format"] == live_store.LIVE_FORMAT
