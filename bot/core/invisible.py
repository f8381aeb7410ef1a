"""The one list of invisible characters, as [low, high) code point ranges.

Feed text loses CONTROL and FORMAT characters when it is cleaned (core/feed/html.py). Chat text
loses those and DISPLAY ones too (platforms/*/format.py): fillers and variation selectors that
change nothing a reader sees, so someone could use them to disguise a token, a mention or a link.
They are kept in feed text because matching never sees a difference and replay output must not
change with presentation rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Ranges = Sequence[tuple[int, int]]

# C0 and C1 controls and DEL; tab and newline are kept, carriage return is the caller's (→ \n).
CONTROL: tuple[tuple[int, int], ...] = ((0x00, 0x09), (0x0B, 0x0D), (0x0E, 0x20), (0x7F, 0xA0))
# Soft hyphen, zero-width and direction marks, bidi embeddings and isolates, word joiners, BOM.
FORMAT: tuple[tuple[int, int], ...] = (
    (0xAD, 0xAE), (0x200B, 0x2010), (0x202A, 0x202F), (0x2060, 0x2070), (0xFEFF, 0xFF00),
)
# Only where text is shown: combining grapheme joiner, Arabic letter mark, Hangul and Khmer
# fillers, Mongolian selectors, variation selectors.
DISPLAY: tuple[tuple[int, int], ...] = (
    (0x034F, 0x0350), (0x061C, 0x061D), (0x115F, 0x1161), (0x17B4, 0x17B6), (0x180B, 0x1810),
    (0x3164, 0x3165), (0xFE00, 0xFE10), (0xFFA0, 0xFFA1),
)


def char_class(*groups: Ranges) -> str:
    """A regex character class matching every code point of the given range groups."""
    return "[" + "".join(f"\\u{lo:04x}-\\u{hi - 1:04x}" for ranges in groups for lo, hi in ranges) + "]"


def pattern(*groups: Ranges) -> re.Pattern[str]:
    return re.compile(char_class(*groups))
