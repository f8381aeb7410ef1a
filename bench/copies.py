"""Syndicated copies: does a report reissued by another outlet join its original's story?

The sets kept aside for acceptance hold syndicated copies; the dev corpora hold few (their
near-copies are edited rewrites, which merge already). So every gold-relevant row of the scored
corpus is reissued once at the end of the replay, as a syndicator would: another outlet and
link, the same text, its headline given a suffix, and, per variant, dated as the original,
undated, or undated without a headline. Out of sample (models fitted on the other corpus, as
`make bench-quality` does); counted: copies placed in their original's story, placed apart,
and not found relevant. Labels are read only by the scoring.

    .venv/bin/python bench/copies.py [--no-embedding]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import CORPORA, DEFAULT_CONFIG, cross_corpus, load_labelled, run_replay  # noqa: E402

VARIANTS = ("dated", "undated", "undated, no headline")


def copies(rows: Sequence[Mapping[str, Any]], variant: str) -> list[dict[str, Any]]:
    """One copy of each gold-relevant row, as another outlet would reissue it."""
    out = []
    for n, r in enumerate(x for x in rows if x.get("relevant")):
        title = str(r.get("title") or "")
        out.append({**r, "id": f"{r['id']}-copy", "source": f"Syndicator {n % 7} (via {r.get('source')})",
                    "url": f"https://syndicator.example/{r['id']}",
                    "title": "" if variant == "undated, no headline" else (f"{title} | Syndicator" if title else ""),
                    "published": r.get("published") if variant == "dated" else ""})
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-embedding", action="store_true", help="terms only (no multilingual signal)")
    args = ap.parse_args(argv)
    if not all(p.exists() for p in CORPORA):
        print(f"the dev corpora are not in {CORPORA[0].parent}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    settings, emb, data = load_labelled(DEFAULT_CONFIG, args.no_embedding)
    print("OUT OF SAMPLE; each gold-relevant row reissued once, after the corpus")
    for name, model, corpus in cross_corpus(data):
        print(name)
        for variant in VARIANTS:
            extra = copies(corpus, variant)
            ours = run_replay(settings, model, [*corpus, *extra], emb)
            joined = apart = missed = 0
            for c in extra:
                mine, original = ours[c["id"]], ours[c["id"].removesuffix("-copy")]
                if not mine["relevant"]:
                    missed += 1
                elif mine["story"] == original["story"]:
                    joined += 1
                else:
                    apart += 1
            print(f"  {variant:22} copies {len(extra)}: in the original's story {joined}, apart {apart}, "
                  f"not relevant {missed}")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
