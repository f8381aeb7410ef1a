"""A story fingerprint's cost with embeddings: writing and reading it, packed against decimals.

Every merge of a relevant report writes its story's fingerprint (`StoryFacts.to_json`, in
`Story.features`) and the next report to meet the story reads it back (`from_json`). With the
multilingual signal on, each core report carries a 384-number embedding. Format 3 keeps them as
packed doubles; the baseline, in the same run, is format 2's JSON list of rounded decimals
(written as the code before it did). Synthetic facts, four core reports (MAX_CORE).

    .venv/bin/python bench/fingerprint.py [--dims 384] [--rounds 300]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.stories.facts import Facts
from bot.core.stories.fingerprint import MAX_CORE, StoryFacts, _facts_out, _iso


def fingerprint(dims: int) -> StoryFacts:
    rng = random.Random(7)
    sf = StoryFacts.empty()
    for n in range(MAX_CORE):
        vector = tuple(rng.gauss(0.0, 0.05) for _ in range(dims))
        sf = sf.absorb(Facts({"dprk": 1.0, "kursk": 1.0, f"e{n}": 0.5}, frozenset({12000 + n}), frozenset({"10-04"}),
                             frozenset({2024}), {f"stem{k}": 1.0 for k in range(30)}, frozenset({"budanov"}),
                             "north korean troops seen near kursk " * 4, "en",
                             datetime(2024, 10, 4, tzinfo=UTC) + timedelta(hours=n), vector))
    return sf


def format_2(sf: StoryFacts) -> str:
    """to_json as format 2 wrote it: each embedding a list of decimals rounded to 5 places."""
    core = []
    for f in sf.core:
        raw = _facts_out(f)
        del raw["vb"]
        raw["v"] = [round(x, 5) for x in f.vector] if f.vector is not None else None
        core.append(raw)
    out = {"v": 2, "core": core, "nums": sorted(sf.seen_numbers), "ents": sorted(sf.seen_entities),
           "first": _iso(sf.first), "last": _iso(sf.last)}
    return json.dumps(out, ensure_ascii=False, sort_keys=True)


def per_call_us(fn: Callable[[], object], rounds: int) -> float:
    runs = []
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(rounds):
            fn()
        runs.append((time.process_time() - t0) / rounds * 1e6)
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--rounds", type=int, default=300)
    args = ap.parse_args(argv)
    sf = fingerprint(args.dims)
    packed, decimals = sf.to_json(), format_2(sf)
    assert StoryFacts.from_json(packed) == sf, "format 3 must read back exactly"
    old = StoryFacts.from_json(decimals)
    assert all(a.vector == tuple(round(x, 5) for x in b.vector or ()) for a, b in zip(old.core, sf.core, strict=True))
    write_3 = per_call_us(sf.to_json, args.rounds)
    write_2 = per_call_us(lambda: format_2(sf), args.rounds)
    read_3 = per_call_us(lambda: StoryFacts.from_json(packed), args.rounds)
    read_2 = per_call_us(lambda: StoryFacts.from_json(decimals), args.rounds)
    print(f"story fingerprint, {MAX_CORE} core reports with {args.dims}-number embeddings; CPU µs per call, "
          f"median of 5 runs of {args.rounds}")
    print(f"{'':<28}{'write':>10}{'read':>10}{'size':>10}")
    print(f"{'format 2 (decimals)':<28}{write_2:>10,.0f}{read_2:>10,.0f}{len(decimals):>10,}")
    print(f"{'format 3 (packed doubles)':<28}{write_3:>10,.0f}{read_3:>10,.0f}{len(packed):>10,}")
    print(f"ratio format 2 / format 3: write {write_2 / write_3:.1f}x, read {read_2 / read_3:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
