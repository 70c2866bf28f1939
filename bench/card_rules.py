"""Benchmark: how many partner cards per second the card rules check (validation + completeness).

The rules run on every card write (cabinet, API, back office) and on every completeness gauge;
this prints the rate for a complete legal-entity card and for a card with errors.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "partnerhub.config.settings")

import django

django.setup()

from partnerhub.partners import card  # noqa: E402

COMPLETE = {
    "legal_form": "ul",
    "full_name": "Общество с ограниченной ответственностью «Тест»",
    "short_name": "ООО «Тест»",
    "inn": "7707083893",
    "kpp": "773601001",
    "ogrn": "1027700132195",
    "legal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "postal_address": "117997, г. Москва, ул. Вавилова, д. 19",
    "vat_payer": True,
    "bik": "044525225",
    "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225",
    "bank_name": "ПАО Сбербанк",
    "director_name": "Иванов Иван Иванович",
    "director_position": "Генеральный директор",
    "email": "office@test.example",
    "phone": "+7 495 500-55-50",
    "website": "https://test.example",
}
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
