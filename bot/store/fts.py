"""Turn a user's search words into safe prefix terms, for FTS5 and for the in-memory store.

Users type plain words in English, Korean, Russian or Ukrainian, and sometimes paste quotes,
operators or brackets. We never hand their text to FTS5 as syntax: we split it into words, trim
the commonest inflections (Korean particles, Slavic case endings, an English plural -s) and
quote each stem as a prefix term, so "войска" finds "войск" and "북한군이" finds "북한군은".
Pure functions only; both stores use them so their search answers agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

MAX_TERMS = 16  # a pasted paragraph should not turn into a 300-term query

_WORD_SPLIT = re.compile(r"[\W_]+")  # the same separators as FTS5's unicode61 tokenizer


def _longest_first(endings: str) -> tuple[str, ...]:
    # Longest first, so that "ами" is tried before "и".
    return tuple(sorted(endings.split(), key=len, reverse=True))


_SLAVIC_ENDINGS = _longest_first(
    "ами ями ого его ому ему ыми ими ией иях ах ях ов ев ей ой ий ый ая яя ое ее ие ые "
    "ам ям ом ем ую юю ию их ых ів їв ою ею ія ії а я ы и е о у ю ь й і ї є"
)
_SLAVIC_MIN_STEM = 4  # letters a Russian/Ukrainian stem keeps
_KOREAN_PARTICLES = _longest_first(
    "에서는 에게서 으로 에서 에게 까지 부터 처럼 "
    "과 와 은 는 이 가 을 를 의 에 도 로 만"
)


def fold(text: str) -> str:
    """Case-fold and drop Latin diacritics, as `unicode61 remove_diacritics 2` does."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text.casefold()):
        if unicodedata.combining(ch) and out and _is_latin(out[-1]):
            continue  # FTS5 strips accents from Latin letters only (й stays й)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def words(text: str) -> list[str]:
    """The folded tokens of a text, split where unicode61 would split it."""
    return [w for w in _WORD_SPLIT.split(fold(text)) if w]


def search_terms(query: str) -> list[str]:
    """Distinct folded stems of the user's words, each meant as a prefix; [] if none."""
    stems = list(dict.fromkeys(stem(w) for w in words(query)))
    longer = [s for s in stems if len(s) > 1]
    # A stray one-letter token ("s" from "Russia's") would only narrow the search to noise.
    return (longer or stems)[:MAX_TERMS]


def fts_query(query: str, splits: Callable[[str], bool] | None = None) -> str | None:
    """An FTS5 MATCH expression for the user's text, or None when it holds no words.

    `splits`: whether the index's tokenizer splits words at a (non-ASCII) character that Python
    counts as a letter. SQLite's Unicode tables are older than Python's: a few characters became
    letters since (U+19B0…), and a term holding one would be a phrase, which an index without
    positions cannot answer. Each piece is then a prefix term of its own."""
    terms = search_terms(query)
    if splits is not None:
        terms = [piece for t in terms for piece in _split_at(t, splits) if piece]
    if not terms:
        return None
    return " ".join('"' + t.replace('"', '""') + '"*' for t in terms)


def _split_at(term: str, splits: Callable[[str], bool]) -> list[str]:
    pieces: list[str] = []
    cur: list[str] = []
    for ch in term:
        if not ch.isascii() and splits(ch):
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    pieces.append("".join(cur))
    return pieces


def text_matches(terms: list[str], text: str) -> bool:
    """True when every term is a prefix of some word of `text` (the in-memory FTS)."""
    tokens = words(text)
    return bool(terms) and all(any(tok.startswith(t) for tok in tokens) for t in terms)


def stem(word: str) -> str:
    """Trim one common inflection from a folded word; leave short or unknown words alone."""
    if _is_hangul(word[-1]):
        return _strip(word, _KOREAN_PARTICLES, lambda p: 3 if len(p) == 1 else 2)
    if _is_cyrillic(word[-1]):
        return _strip(word, _SLAVIC_ENDINGS, lambda _p: _SLAVIC_MIN_STEM)
    if word.isascii() and len(word) >= 5 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]  # troops -> troop*, forces -> force*
    return word


def _strip(word: str, endings: tuple[str, ...], min_stem: Callable[[str], int]) -> str:
    for ending in endings:
        if word.endswith(ending) and len(word) - len(ending) >= min_stem(ending):
            return word[: -len(ending)]
    return word


def _is_latin(ch: str) -> bool:
    return ch < "\u0250" or "\u1e00" <= ch <= "\u1eff"


def _is_hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3"


def _is_cyrillic(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff"
