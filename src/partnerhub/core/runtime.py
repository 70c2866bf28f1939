"""Process settings of the long-running processes (gunicorn workers, the Huey worker).

The referral program keeps every partner's live state in memory (``referrals.services.live``):
hundreds of thousands of long-lived objects. CPython's cyclic garbage collector walks all of
them at every full collection, and with its default thresholds (700 allocations a young
collection) a worker applying events spent about a sixth of its time there (measured with
``bench/referrals_intake.py``). The process's objects have no reference cycles to speak of
(plain data, freed by reference counting), so collections run less often: the objects alive
at start-up (modules, settings, templates) are frozen out of the collector's walk, and the
young generation is collected every ``GC_YOUNG`` allocations rather than 700.
"""

from __future__ import annotations

import gc

__all__ = ["GC_YOUNG", "tune_gc"]

#: Allocations (minus deallocations) between two collections of the youngest generation.
GC_YOUNG = 50_000
#: Young collections between two of the middle generation; middle ones between two full ones.
GC_MIDDLE = 20
GC_OLD = 50


def tune_gc() -> None:
    """Collect once, freeze what is alive now, and collect less often from now on; safe to
    call more than once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, GC_MIDDLE, GC_OLD)
