"""Benchmark: how many partner cards per second the card rules check (validation + completeness).

The rules run on every card write (cabinet, API, back office) and on every completeness gauge;
this prints the rate for a complete legal-entity card and for a card with errors.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")

import django  # noqa: E402

django.setup()

from tests.factories import COMPLETE_UL_CARD  # noqa: E402

from partnerhub.partners import card  # noqa: E402

COMPLETE = {**COMPLETE_UL_CARD, "inn": "7707083893"}
BROKEN = {**COMPLETE, "inn": "7707083894", "settlement_account": "40702810938000000002"}


def rate(data: dict[str, object], seconds: float = 1.5) -> float:
    """Cards checked per second (completeness includes a full validation)."""
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        card.completeness(data)
        count += 1
    return count / (time.perf_counter() - start)


if __name__ == "__main__":
    print(f"card rules, complete card: {rate(COMPLETE):,.0f} cards/s")
    print(f"card rules, card with 2 errors: {rate(BROKEN):,.0f} cards/s")
