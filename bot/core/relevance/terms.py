"""Text primitives for matching: fold noisy text, split sentences, find watch terms in tokens.

A term is written by an analyst (`"North Korean*"`, `"Курск*"`, `"북한"`) and compiled once into
word patterns; a Lexicon indexes many tagged terms so one pass over an item's tokens finds them
all, exactly or (for multi-word Latin terms) as near-miss spellings via rapidfuzz.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz import fuzz, process

from bot.core.relevance.near import MEMO_LIMIT, Memos, NearIndex

WordMode = Literal["exact", "prefix", "infix"]

_DASHES = "-‐‑‒–—―'’ʼ‘`´"
_MARKS = re.compile(r"[\u0300-\u036f\u064b-\u065f\u0670\u0640]")  # diacritics, Arabic harakat


def _mark_ranges() -> str:
    """A regex class body of every combining mark in the Basic Multilingual Plane (categories Mn,
    Mc, Me). Indic, Thai and other scripts write vowels and viramas as marks inside a word, and
    `\\w` does not match them: without them a Hindi word fell apart into single letters."""
    out, start = [], None
    for cp in range(0x300, 0x10001):
        mark = cp < 0x10000 and unicodedata.category(chr(cp)).startswith("M")
        if mark and start is None:
            start = cp
        elif not mark and start is not None:
            out.append(f"\\u{start:04x}-\\u{cp - 1:04x}" if cp - 1 > start else f"\\u{start:04x}")
            start = None
    return "".join(out)


# A word: letters and digits, with the combining marks inside it (after fold, Latin diacritics are
# gone already; what remains are the marks that are part of a letter, as in Devanagari).
_TOKEN = re.compile(rf"[^\W_]+(?:[{_mark_ranges()}]+[^\W_]*)*")
# Sentence end: ./!/? then space then an opening capital, quote or CJK/Hangul character.
_SENT_END = re.compile(r"(?<=[.!?。！？])[\"'”’»]?\s+(?=[\"'“‘«(\[A-ZА-ЯЁІЇЄҐ\u0600-\u06ff\uac00-\ud7a3\u4e00-\u9fff])")
_ABBREV = frozenset({"mr", "mrs", "ms", "dr", "st", "gen", "lt", "col", "sgt", "maj", "capt", "gov", "sen",
                     "rep", "no", "vs", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept",
                     "oct", "nov", "dec", "u.s", "u.n", "u.k", "e.g", "i.e", "approx", "ca"})


def _latin_base(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    return base if base.isascii() else ch


def _greek_base(ch: str) -> str:
    base = unicodedata.normalize("NFD", ch)[0]
    return base if 0x370 <= ord(base) <= 0x3FF else ch


# Precomposed Latin letters with diacritics -> their base letter (é -> e, ł stays via extras); Greek
# letters with tonos, dialytika or breathings likewise (Ρωσία = ΡΩΣΙΑ: headlines drop accents).
_LATIN = {c: _latin_base(chr(c)) for c in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00))}
_LATIN.update({c: _greek_base(chr(c)) for c in (*range(0x386, 0x3D0), *range(0x1F00, 0x2000))})
_LATIN.update({ord("ł"): "l", ord("ø"): "o", ord("đ"): "d", ord("æ"): "ae", ord("œ"): "oe",
               ord("ё"): "е", **{ord(d): " " for d in _DASHES}})


def fold(text: str) -> str:
    """Case, width, diacritic, hyphen and apostrophe noise removed; scripts otherwise kept."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_LATIN)
    return _MARKS.sub("", text)


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def sentences(text: str) -> list[str]:
    """Split into sentences without breaking on initials or abbreviations ("U.S.", "Feb.")."""
    return list(iter_sentences(text))


def iter_sentences(text: str) -> Iterator[str]:
    """sentences(), one at a time: a caller that needs only the first few of a long article
    (placement.read_window) does not split the rest."""
    start = 0
    for m in _SENT_END.finditer(text):
        before = text[start:m.start()].rstrip("\"'”’»").rstrip(".!?。！？")
        words = before.rsplit(None, 1)  # [] when `before` is blank, else its last word is the last item
        last = words[-1].casefold() if words else ""
        if len(last) <= 1 or last in _ABBREV:
            continue
        yield text[start:m.start()].strip()
        start = m.end()
    tail = text[start:].strip()
    if tail:
        yield tail


def script(word: str) -> str:
    """The script class that decides how a word is matched: latin (any alphabet written with
    spaces and no case endings to speak of), cyrillic, hangul, cjk (no spaces between words:
    Chinese, Japanese, and Thai, Lao, Myanmar, Khmer), indic (Devanagari to Sinhala: case
    endings attach to the noun, सैनिकों is सैनिक), arabic."""
    for ch in word:
        o = ord(ch)
        if 0xAC00 <= o <= 0xD7A3 or 0x1100 <= o <= 0x11FF:
            return "hangul"
        if 0x3040 <= o <= 0x30FF or 0x4E00 <= o <= 0x9FFF:
            return "cjk"
        if 0x0E00 <= o <= 0x0EFF or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF:
            return "cjk"
        if 0x0900 <= o <= 0x0DFF:
            return "indic"
        if 0x0600 <= o <= 0x06FF:
            return "arabic"
        if 0x0400 <= o <= 0x04FF:
            return "cyrillic"
    return "latin"


@dataclass(frozen=True)
class Word:
    text: str
    mode: WordMode

    def matches(self, token: str) -> bool:
        if self.mode == "exact":
            return token == self.text
        if self.mode == "prefix":
            return token.startswith(self.text)
        return self.text in token


@dataclass(frozen=True)
class Term:
    """One analyst-written term: `*` at a word's end is a stem, at both ends a substring.

    Hangul and Indic words match as a prefix (particles and case endings attach to nouns: 북한군이,
    सैनिकों) and CJK/Thai/Arabic words as a substring (no spaces; attached clitics), without the
    analyst having to write `*`.
    A Latin-script term listed under a language applies to items in that language only (German
    "Held" is not English "held"); terms under `any`, and terms in other scripts, apply to all.
    """

    raw: str
    words: tuple[Word, ...]
    lang: str = "any"
    universal: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "universal", self.lang == "any" or script(self.words[0].text) != "latin")

    @property
    def fuzzy_text(self) -> str | None:
        """The text to compare near-misses with: multi-word Latin terms without wildcards only."""
        if len(self.words) < 2 or any(w.mode != "exact" or script(w.text) != "latin" for w in self.words):
            return None
        text = " ".join(w.text for w in self.words)
        return text if len(text) >= 8 else None


def parse_term(raw: str, lang: str = "any") -> Term | None:
    """Compile a term; None when it has no word characters left after folding."""
    words: list[Word] = []
    for part in fold(raw).split():
        cores = _TOKEN.findall(part)  # "u.s." is two tokens in text, so two words here
        for i, core in enumerate(cores):
            kind = script(core)
            mode: WordMode = "exact"
            first, last = i == 0, i == len(cores) - 1
            if (first and part.startswith("*")) or kind in ("cjk", "arabic"):
                mode = "infix"
            elif (last and part.endswith("*")) or kind in ("hangul", "indic"):
                mode = "prefix"
            if kind == "indic":
                core = _indic_stem(core)
            words.append(Word(core, mode))
    return Term(raw, tuple(words), lang) if words else None


@dataclass(frozen=True)
class Hit:
    tag: str  # what the term stands for, e.g. "role:actor", "ent:kursk", "excl:korean-war"
    term: str  # the term as the analyst wrote it
    start: int  # token span in the sentence
    end: int
    score: float = 1.0  # 1.0 exact; fuzzy ratio / 100 for a near miss

    @property
    def fuzzy(self) -> bool:
        return self.score < 1.0


def _indic_stem(word: str) -> str:
    """An Indic word without its final vowel sign, so the prefix also finds the forms whose last
    vowel changes before an ending (युद्धबंदी → युद्धबंदियों, कोरिया → कोरियाई)."""
    stem = word
    while stem and unicodedata.category(stem[-1]).startswith("M"):
        stem = stem[:-1]
    return stem if len(stem) >= 3 else word


@dataclass(frozen=True)
class Lexicon:
    """Tagged terms indexed by their first word, so finding them all is one pass over tokens."""

    exact: dict[str, tuple[tuple[str, Term], ...]] = field(default_factory=dict)
    prefix: dict[str, tuple[tuple[str, Term], ...]] = field(default_factory=dict)  # by first 2 chars
    scan: tuple[tuple[str, Term], ...] = ()  # infix or very short prefix first words
    fuzzy: tuple[tuple[str, Term, str], ...] = ()
    fuzzy_ratio: float = 88.0
    vocabulary: frozenset[str] = frozenset()  # every word of every term (names must be unknown words)
    # Derived from the fields above, never passed in (a `replace` builds them afresh):
    _scan_first: dict[str, tuple[tuple[int, str], ...]] = field(init=False, compare=False, repr=False)  # by 1st char
    # the fuzzy terms by first letter and which terms windows of words come near (built on first use)
    _near: dict[str, NearIndex] = field(init=False, compare=False, repr=False)  # by language, and by term set
    _near_memo: Memos = field(init=False, compare=False, repr=False)
    # token -> the exact and prefix entries it is the first word of, every language (bounded)
    _starting: dict[str, tuple[tuple[str, Term], ...]] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        first: dict[str, list[tuple[int, str]]] = {}
        for j, (_, term) in enumerate(self.scan):
            text = term.words[0].text
            first.setdefault(text[:1], []).append((j, text))
        object.__setattr__(self, "_scan_first", {c: tuple(v) for c, v in first.items()})
        object.__setattr__(self, "_near", {})
        object.__setattr__(self, "_near_memo", Memos())  # one for every index: MEMO_LIMIT bounds them together
        object.__setattr__(self, "_starting", {})

    def find(self, tokens: Sequence[str], lang: str = "any", fuzzy: bool = True) -> list[Hit]:
        """Every term occurrence; Latin-script terms of other languages than `lang` are skipped."""
        hits: list[Hit] = []
        scan = self._scan_present(tokens)
        count = len(tokens)
        starting = self._starting
        for i, tok in enumerate(tokens):
            # The exact and prefix entries whose first word this token is, in that order (the
            # hits' order), remembered per token: most tokens start none, and tokens repeat.
            first = starting.get(tok)
            if first is None:
                first = self._first_words(tok)
            for tag, term in first:
                if (term.universal or term.lang == lang or lang == "any") and _rest_matches(term, tokens, i, count):
                    hits.append(Hit(tag, term.raw, i, i + len(term.words)))
            for tag, term in scan:
                if ((term.universal or term.lang == lang or lang == "any") and term.words[0].matches(tok)
                        and _rest_matches(term, tokens, i, count)):
                    hits.append(Hit(tag, term.raw, i, i + len(term.words)))
        if fuzzy and self.fuzzy:
            hits.extend(self._near_misses(tokens, lang, {h.term for h in hits}))
        return hits

    def _first_words(self, tok: str) -> tuple[tuple[str, Term], ...]:
        prefix = tuple(e for e in self.prefix.get(tok[:2], ()) if tok.startswith(e[1].words[0].text))
        if len(self._starting) >= MEMO_LIMIT:
            self._starting.clear()
        first = self._starting[tok] = self.exact.get(tok, ()) + prefix
        return first

    def _scan_present(self, tokens: Sequence[str]) -> tuple[tuple[str, Term], ...]:
        """The scanned terms whose first word occurs somewhere in the text (most are absent: only
        those starting with a character of the text are looked for), in lexicon order."""
        joined = " ".join(tokens)
        chars = set(joined)
        chars.add("")
        index = self._scan_first
        present = [j for c in chars.intersection(index) for j, text in index[c] if text in joined]
        return tuple(self.scan[j] for j in sorted(present))

    def _near_misses(self, tokens: Sequence[str], lang: str, found: set[str]) -> list[Hit]:
        """Near-miss spellings of the fuzzy terms not found exactly. Only the terms the gram index
        says could reach the cut-off are searched (most sentences have none): the same hits, at a
        fraction of comparing every fuzzy term with every window of the sentence."""
        possible = self._near_index(lang).candidates(tokens)
        if not possible:
            return []
        windows: dict[int, list[str]] = {}
        out: list[Hit] = []
        starts = {t[:1] for t in tokens}
        for e in sorted(possible):  # lexicon order, as a later term of the same raw text is skipped
            tag, term, text = self.fuzzy[e]
            if term.raw in found or not (term.universal or term.lang == lang or lang == "any"):
                continue
            if text[:1] not in starts:  # a near miss keeps its first letter (checked below too)
                continue
            n = len(term.words)
            for size in (n - 1, n, n + 1):
                if size < 1 or size > len(tokens):
                    continue
                if size not in windows:
                    windows[size] = [" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)]
                grams = windows[size]
                best = process.extractOne(text, grams, scorer=fuzz.ratio, score_cutoff=self.fuzzy_ratio)
                if best is not None and best[0][:1] == text[:1]:
                    out.append(Hit(tag, term.raw, best[2], best[2] + size, round(best[1] / 100, 3)))
                    found.add(term.raw)
                    break
        return out

    def _near_index(self, lang: str) -> NearIndex:
        """The near-miss index of the fuzzy terms that apply to items in `lang` (universal ones and
        the language's own; every term for "any"): the terms _near_misses would drop afterwards
        are never compared. Built once per language, with each term's place in `fuzzy` as its id."""
        index = self._near.get(lang)
        if index is None:
            # Languages with no fuzzy terms of their own (Russian, Korean, …) share the index of
            # the universal terms: one index (and memo) per language with fuzzy terms, plus two.
            own = lang == "any" or any(not t.universal and t.lang == lang for _, t, _ in self.fuzzy)
            tag = f"={lang}" if own else ""
            index = self._near.get(tag)
            if index is None:
                index = self._near[tag] = NearIndex.build(
                    ((e, text, len(term.words)) for e, (_, term, text) in enumerate(self.fuzzy)
                     if term.universal or term.lang == lang or lang == "any"), self.fuzzy_ratio, self._near_memo, tag)
            self._near[lang] = index
        return index


def _rest_matches(term: Term, tokens: Sequence[str], i: int, count: int) -> bool:
    """Whether the term's words after the first match the tokens after position i (the first
    word's match is checked by the caller, the cheapest way its index allows)."""
    words = term.words
    if i + len(words) > count:
        return False
    return len(words) == 1 or all(words[k].matches(tokens[i + k]) for k in range(1, len(words)))


def build_lexicon(entries: Iterable[tuple[str, Term]], fuzzy_ratio: float = 88.0) -> Lexicon:
    exact: dict[str, list[tuple[str, Term]]] = {}
    prefix: dict[str, list[tuple[str, Term]]] = {}
    scan: list[tuple[str, Term]] = []
    fuzzy: list[tuple[str, Term, str]] = []
    vocabulary: set[str] = set()
    for tag, term in entries:
        vocabulary.update(w.text for w in term.words)
        first = term.words[0]
        if first.mode == "exact":
            exact.setdefault(first.text, []).append((tag, term))
        elif first.mode == "prefix" and len(first.text) >= 2:
            prefix.setdefault(first.text[:2], []).append((tag, term))
        else:
            scan.append((tag, term))
        if term.fuzzy_text:
            fuzzy.append((tag, term, term.fuzzy_text))
    return Lexicon({k: tuple(v) for k, v in exact.items()}, {k: tuple(v) for k, v in prefix.items()},
                   tuple(scan), tuple(fuzzy), fuzzy_ratio, frozenset(vocabulary))
