"""The indexed near-miss search finds exactly what comparing every fuzzy term with every window
finds: over the shipped watch's terms, misspelt, split, joined and set among other words."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz, process

from bot.core.relevance.near import MEMO_LIMIT, lengths
from bot.core.relevance.terms import Hit, Lexicon, build_lexicon, parse_term, sentences, tokenize
from tests.unit.test_watch import config_watch

LEX = config_watch().lexicon
SAMPLES = Path(__file__).resolve().parents[2] / "config" / "samples"
LANG_OF = {"ko": "ko", "ru": "ru", "uk": "uk"}
FUZZY = [text for _, _, text in LEX.fuzzy]
LANGS = sorted({t.lang for _, t, _ in LEX.fuzzy} | {"any", "ru", "ko"})
WORDS = sorted({w for text in FUZZY for w in text.split()} | {
    "the", "of", "in", "troops", "said", "on", "a", "to", "near", "front", "kim", "korea", "north", "northern",
    "korean", "koreans", "army", "forces", "defense", "defence", "mutual", "people", "s", "republic", "un", "jong"})


def exhaustive(lex: Lexicon, tokens: Sequence[str], lang: str, found: set[str]) -> list[Hit]:
    """The search before the index: every fuzzy term against every window of n-1..n+1 words."""
    windows: dict[int, list[str]] = {}
    out: list[Hit] = []
    starts = {t[:1] for t in tokens}
    for tag, term, text in lex.fuzzy:
        if term.raw in found or not (term.universal or term.lang == lang or lang == "any"):
            continue
        if text[:1] not in starts:
            continue
        n = len(term.words)
        for size in (n - 1, n, n + 1):
            if size < 1 or size > len(tokens):
                continue
            if size not in windows:
                windows[size] = [" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)]
            best = process.extractOne(text, windows[size], scorer=fuzz.ratio, score_cutoff=lex.fuzzy_ratio)
            if best is not None and best[0][:1] == text[:1]:
                out.append(Hit(tag, term.raw, best[2], best[2] + size, round(best[1] / 100, 3)))
                found.add(term.raw)
                break
    return out


def exhaustive_find(lex: Lexicon, tokens: Sequence[str], lang: str, fuzzy: bool = True) -> list[Hit]:
    """`Lexicon.find` before its scanned terms were indexed by first character."""
    hits: list[Hit] = []
    joined = " ".join(tokens)
    scan = tuple(e for e in lex.scan if e[1].words[0].text in joined)
    for i, tok in enumerate(tokens):
        for tag, term in lex.exact.get(tok, ()) + lex.prefix.get(tok[:2], ()) + scan:
            if not (term.universal or term.lang == lang or lang == "any"):
                continue
            n = len(term.words)
            if i + n <= len(tokens) and all(w.matches(tokens[i + k]) for k, w in enumerate(term.words)):
                hits.append(Hit(tag, term.raw, i, i + n))
    if fuzzy and lex.fuzzy:
        hits.extend(exhaustive(lex, tokens, lang, {h.term for h in hits}))
    return hits


def same(lex: Lexicon, tokens: Sequence[str], lang: str) -> list[Hit]:
    exact = {h.term for h in lex.find(tokens, lang, fuzzy=False)}
    want = exhaustive(lex, tokens, lang, set(exact))
    got = lex._near_misses(tokens, lang, set(exact))
    assert got == want, (tokens, lang)
    assert lex.find(tokens, lang) == exhaustive_find(lex, tokens, lang), (tokens, lang)
    return got


def misspell(data: st.DataObject, text: str) -> str:
    """A few character edits: drop, double, swap, replace, a space removed or added."""
    chars = list(text)
    for _ in range(data.draw(st.integers(0, 3))):
        if not chars:
            break
        i = data.draw(st.integers(0, len(chars) - 1))
        op = data.draw(st.sampled_from(("drop", "double", "swap", "replace", "space")))
        if op == "drop":
            del chars[i]
        elif op == "double":
            chars.insert(i, chars[i])
        elif op == "swap" and i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == "replace":
            chars[i] = data.draw(st.sampled_from("aeiouknrstl"))
        elif op == "space":
            chars[i:i + 1] = [] if chars[i] == " " else [chars[i], " "]
    return "".join(chars)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_indexed_search_finds_what_the_exhaustive_one_finds(data: st.DataObject) -> None:
    words: list[str] = []
    for _ in range(data.draw(st.integers(1, 5))):
        words += data.draw(st.lists(st.sampled_from(WORDS), max_size=6))
        words.append(misspell(data, data.draw(st.sampled_from(FUZZY))))
    words += data.draw(st.lists(st.sampled_from(WORDS), max_size=4))
    tokens = tokenize(" ".join(words))
    same(LEX, tokens, data.draw(st.sampled_from(LANGS)))


TERM_WORDS = sorted({w.text for _, t in (*LEX.scan, *(e for v in LEX.prefix.values() for e in v),
                                        *(e for v in LEX.exact.values() for e in v)) for w in t.words})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([*TERM_WORDS, *WORDS]), st.sampled_from(("", "", "s", "ий", "이", "x"))),
                max_size=12), st.sampled_from(LANGS))
def test_find_with_indexed_scan_finds_what_it_found_before(words: list[tuple[str, str]], lang: str) -> None:
    """Term words of every script and mode, some with an ending attached (prefix and infix terms)."""
    tokens = tokenize(" ".join(w + end for w, end in words))
    assert LEX.find(tokens, lang) == exhaustive_find(LEX, tokens, lang)
    assert LEX.find(tokens, lang, False) == exhaustive_find(LEX, tokens, lang, False)


NEAR = [
    ("kim jongun spoke in pyongyang", "en", True),
    ("north koreas troops", "en", True),
    ("northkorea sent troops", "en", True),
    ("the nort korea army", "en", True),
    ("mutual defense treaty", "en", True),
    ("corea del nrote", "es", True),
    ("corea del nrote", "en", False),  # a Spanish term, not for English items
    ("the weather was fine", "en", False),
    ("", "en", False),
]


def test_table_of_near_misses() -> None:
    for text, lang, near in NEAR:
        assert bool(same(LEX, tokenize(text), lang)) == near, text


def test_a_repeated_term_is_reported_once_and_the_memo_stays_bounded() -> None:
    entries = [(f"t:{i}", parse_term(f"alpha bravo{i}")) for i in range(3)]
    lex = build_lexicon([(tag, t) for tag, t in entries if t is not None] * 2)
    tokens = tokenize("alpha bravo1 and alpa bravo2")
    same(lex, tokens, "en")
    hits = lex._near_misses(tokens, "en", set())
    assert hits == exhaustive(lex, tokens, "en", set())
    assert [h.tag for h in hits] == ["t:0", "t:1", "t:2"]  # each raw term once, its first tag
    # English has fuzzy terms of its own in the shipped watch, Russian none: two indexes, one memo
    index, other = LEX._near_index("en"), LEX._near_index("ru")
    assert other is not index and other.memos is index.memos and other.memo is not index.memo
    assert LEX._near_index("ko") is other
    for i in range(MEMO_LIMIT + 10):
        index.candidates([f"a{i}"])
        other.candidates([f"a{i}"])
    assert 0 < len(index.memo) + len(other.memo) <= MEMO_LIMIT
    lex.find([f"w{i}" for i in range(MEMO_LIMIT + 10)], "en", fuzzy=False)
    assert len(lex._starting) <= MEMO_LIMIT


def test_a_changed_lexicon_does_not_reuse_the_old_ones_memos() -> None:
    tokens = tokenize("north koreaa troops")
    assert LEX.find(tokens, "en")
    stricter = replace(LEX, fuzzy_ratio=99.0)
    assert stricter._near is not LEX._near and stricter._starting is not LEX._starting
    assert stricter.find(tokens, "en") == exhaustive_find(stricter, tokens, "en")


def sample_texts() -> list[tuple[str, str]]:
    """(text, language) of every title and description in the sample feeds (markup stripped)."""
    out = []
    for path in sorted(SAMPLES.rglob("*.*")):
        if path.suffix not in (".xml", ".atom"):
            continue
        lang = LANG_OF.get(path.stem.split("-")[-1], "en")
        raw = html.unescape(path.read_text(encoding="utf-8", errors="replace"))
        for m in re.finditer(r"<(title|description|summary|content)[^>]*>(.*?)</\1>", raw, re.S):
            out.append((re.sub(r"<[^>]+>|<!\[CDATA\[|\]\]>", " ", m.group(2)), lang))
    return out


def test_sample_feed_sentences() -> None:
    texts = sample_texts()
    assert len(texts) > 100
    near = 0
    for text, lang in [*texts, (" ".join(FUZZY), "en")]:
        for one in sentences(text):
            for as_lang in {lang, "en", "any"}:
                near += bool(same(LEX, tokenize(one), as_lang))
    assert near > 0


@settings(max_examples=500, deadline=None)
@given(st.text("abcdefgh ", min_size=1, max_size=30), st.text("abcdefgh ", min_size=1, max_size=30),
       st.sampled_from((0.0, 50.0, 80.0, 87.0, 99.0, 100.0)))
def test_a_window_the_length_check_skips_never_reaches_the_cutoff(window: str, term: str, cutoff: float) -> None:
    shortest, longest = lengths([term], cutoff)
    if fuzz.ratio(window, term) >= cutoff:
        assert shortest <= len(window) <= longest


def test_the_length_check_is_tight_enough_to_skip_windows() -> None:
    # "korea" (5 letters) at 87: windows of 4 to 6 letters can reach it (3.85 to 6.49), rounded
    # outwards with a letter's slack each way against floating-point error
    assert lengths(["korea"], 87.0) == (2, 8)
    assert lengths(["north korea", "korea"], 87.0) == (2, 16)
