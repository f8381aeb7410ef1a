"""Which fuzzy terms a sentence could hold a near miss of, without comparing every term with
every window of its words.

A near miss (rapidfuzz ratio at or above the cut-off) starts with the term's first letter and
spans one word fewer to one more than the term: Lexicon._near_misses accepts nothing else. So a
window of words is compared only with the terms of its first letter and a fitting word count,
and each distinct window once (windows repeat: "of the", boilerplate, wire copy), with the terms
of every language (the caller drops those that do not apply: few terms come near at all).
The answer is conservative: a term left out has no near miss in the sentence; the terms kept are
searched exactly as before, so the hits are the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

MEMO_LIMIT = 50_000  # windows (or tokens) remembered, then forgotten at once: a few MB at most
MARGIN = 1.0  # compare at a slightly lower cut-off, so no rounding can leave out a term that reaches it


@dataclass
class NearIndex:
    """The fuzzy terms by the (first letter, window size) of the windows they could be near."""

    by_start: dict[tuple[str, int], tuple[tuple[int, ...], tuple[str, ...]]]  # -> term ids, texts
    sizes: dict[str, tuple[int, ...]]  # first letter -> window sizes to compare, ascending
    cutoff: float
    # (index tag, window, size) -> term ids; one dict may serve several indexes (a lexicon's
    # per-language ones), so MEMO_LIMIT bounds them together
    memo: dict[tuple[str, str, int], tuple[int, ...]] = field(default_factory=dict)
    tag: str = ""

    @staticmethod
    def build(terms: Iterable[tuple[int, str, int]], cutoff: float,
              memo: dict[tuple[str, str, int], tuple[int, ...]] | None = None, tag: str = "") -> NearIndex:
        """`terms`: (id, fuzzy text, word count) of every fuzzy term; `memo` (with this index's
        `tag` in its keys) may be shared with other indexes."""
        groups: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for tid, text, words in terms:
            for size in (words - 1, words, words + 1):
                if size >= 1 and text:
                    groups.setdefault((text[:1], size), []).append((tid, text))
        by_start = {k: (tuple(t for t, _ in v), tuple(x for _, x in v)) for k, v in groups.items()}
        sizes: dict[str, list[int]] = {}
        for first, size in by_start:
            sizes.setdefault(first, []).append(size)
        return NearIndex(by_start, {k: tuple(sorted(v)) for k, v in sizes.items()}, max(0.0, cutoff - MARGIN),
                         {} if memo is None else memo, tag)

    def candidates(self, tokens: Sequence[str]) -> set[int]:
        """Ids of the terms some window of these tokens comes near."""
        out: set[int] = set()
        count = len(tokens)
        for i, tok in enumerate(tokens):
            sizes = self.sizes.get(tok[:1])
            if sizes is None:
                continue
            for size in sizes:
                if i + size > count:
                    break
                gram = " ".join(tokens[i:i + size])
                near = self.memo.get((self.tag, gram, size))
                if near is None:
                    near = self._compare(gram, tok[:1], size)
                if near:
                    out.update(near)
        return out

    def _compare(self, gram: str, first: str, size: int) -> tuple[int, ...]:
        ids, texts = self.by_start[(first, size)]
        found = process.extract(gram, texts, scorer=fuzz.ratio, score_cutoff=self.cutoff, limit=None)
        near = tuple(ids[k] for _, _, k in found)
        if len(self.memo) >= MEMO_LIMIT:
            self.memo.clear()
        self.memo[(self.tag, gram, size)] = near
        return near
