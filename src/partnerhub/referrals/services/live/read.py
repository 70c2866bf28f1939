"""Reading the live state: a partner's standing and history as of any time."""

from __future__ import annotations

import datetime as dt

from partnerhub.partners.models import Program
from partnerhub.referrals.engine.results import PartnerResult
from partnerhub.referrals.models.events import PartnerState
from partnerhub.referrals.selectors.config import config_set
from partnerhub.referrals.services import history
from partnerhub.referrals.services.live.feed import current
from partnerhub.referrals.services.live.store import checkpoint_before, stored_events, to_us


def standing_at(*, program: Program, code: str, as_of: dt.datetime) -> PartnerResult | None:
    """The partner's standing and history as of ``as_of`` (None: no such partner then).

    Later than everything applied: the saved state brought forward. Earlier: the checkpoint
    before ``as_of`` and the partner's stored events up to it.
    """
    row = PartnerState.objects.filter(program=program, partner=code, registered=True).first()
    if row is None:
        return None
    configs = config_set(program)
    as_of_us = to_us(as_of)
    if as_of_us < row.last_us or as_of_us < row.horizon_us:
        engine, start, _blob = checkpoint_before(program, code, as_of_us, configs)
        engine.apply(stored_events(program, code, start, as_of_us))
    else:
        engine = current(program, code, row, configs, take=False)[0].engine
    result = engine.result(as_of, clients=False)
    found = result.partners.get(code)
    if found is None:
        return None
    grants, bonuses, levels, reviews = history.read(program, code, as_of_us)
    # reviews the read itself moved through (after the saved state's time) are not stored yet
    levels += [c for c in found.levels if c.event_id is None and to_us(c.at) > row.horizon_us]
    reviews += [r for r in found.reviews if to_us(r.at) > row.horizon_us]
    return PartnerResult(found.standing, grants, bonuses, levels, reviews)
