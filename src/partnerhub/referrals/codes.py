"""Partner codes (spec: referrals.md, "Joining"): short, URL-safe, without look-alikes.

The alphabet drops 0/O, 1/I/L (and lower case altogether), so a code read aloud or copied by
hand comes out right. 31 symbols: 6 characters give ~887 million codes, 7 and 8 more when the
registering service meets collisions. Pure module (no Django).
"""

from __future__ import annotations

import random
import secrets

__all__ = ["ALPHABET", "MAX_LENGTH", "MIN_LENGTH", "generate_partner_code"]

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
MIN_LENGTH = 6
MAX_LENGTH = 8

_SYSTEM_RANDOM = secrets.SystemRandom()


def generate_partner_code(rng: random.Random = _SYSTEM_RANDOM, length: int = MIN_LENGTH) -> str:
    """A random partner code of ``length`` (6-8) characters of ``ALPHABET``.

    ``rng`` defaults to the operating system's generator: codes must not be guessable from
    each other. Tests pass a seeded ``random.Random``.
    """
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ValueError(f"a partner code has {MIN_LENGTH}-{MAX_LENGTH} characters, not {length}")
    return "".join(rng.choice(ALPHABET) for _ in range(length))
