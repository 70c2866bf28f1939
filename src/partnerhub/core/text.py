"""Names people read, cleaned of the characters that make them lie (issue 14, item 6).

A right-to-left override (U+202E) turns ``ООО «Альфа» exe.fdp`` into what looks like another
name in the back office; zero-width characters make two identical-looking names differ or a
name look empty. ``clean_name`` is applied by every service and form that takes a name
(organisations, users, leads' clients and contacts, referral clients, promo code descriptions).

What is removed (decisions):

- every bidirectional control: the embeddings and overrides U+202A–U+202E, the isolates
  U+2066–U+2069, the marks U+200E, U+200F and U+061C;
- every other invisible format character (Unicode category Cf: zero-width space U+200B, word
  joiner U+2060, BOM U+FEFF, soft hyphen U+00AD, invisible operators, tag characters, ...),
  except the zero-width joiner and non-joiner (U+200D, U+200C): they are needed inside words
  of some scripts (Persian, Indic) and in emoji sequences, so they are removed only at the ends
  of the name and of each word, where they never join anything;
- the Hangul fillers (U+115F, U+1160, U+3164, U+FFA0) and the blank Braille pattern (U+2800),
  letters that show nothing and are used to fake an empty or a different name;
- control characters (category Cc, such as tabs and line breaks) and line or paragraph
  separators become spaces; runs of white space become one space; the ends are trimmed.

Nothing else is changed (no Unicode normalisation, no case change). Pure: no Django.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
JOINERS = "\u200c\u200d"
INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_SPACE_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})
_SPACES = re.compile(r"\s+")
_LOOSE_JOINERS = re.compile(rf"(?:^|(?<=\s))[{JOINERS}]+|[{JOINERS}]+(?=\s|$)")


def _kept(char: str) -> str:
    if char in JOINERS:
        return char
    if char in BIDI_CONTROLS or char in INVISIBLE_LETTERS:
        return ""
    category = unicodedata.category(char)
    if category == "Cf":
        return ""
    if category in _SPACE_CATEGORIES:
        return " "
    return char


def clean_name(value: object) -> str:
    """``value`` as a one-line name without bidi controls and invisible characters (see the
    module docstring); ``None`` is the empty name."""
    if value is None:
        return ""
    text = "".join(_kept(char) for char in str(value))
    text = _LOOSE_JOINERS.sub("", _SPACES.sub(" ", text))
    return _SPACES.sub(" ", text).strip()
