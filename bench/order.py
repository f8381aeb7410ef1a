"""Replay order: do the stories hold when an archive does not come in date order?

`deskwatch replay` takes rows in file order. The dev corpora list their dated rows by date and
their undated rows last, but an archive a desk replays (or a set kept aside for acceptance) may
come in any order, and live, a feed can bring a late entry after newer stories. Out of sample
(models fitted on one corpus, the other scored, as `make bench-quality` does), each corpus is
replayed in file order and then: dated rows shuffled (undated still last; three seeds), dated
rows reversed, and every row shuffled, undated among dated (three seeds). Printed: relevance
and stories B-cubed per order, and each order's B-cubed F1 minus file order's (the baseline, in
the same run). Labels are read only by the scoring.

    .venv/bin/python bench/order.py [--no-embedding] [--seeds 3]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.quality import CORPORA, DEFAULT_CONFIG, cross_corpus, line, load_labelled, run_replay, scored  # noqa: E402

Rows = list[Mapping[str, Any]]


def orders(rows: Sequence[Mapping[str, Any]], seeds: int) -> list[tuple[str, Rows]]:
    """The file order first (the baseline), then the others."""
    dated = [r for r in rows if r.get("published")]
    undated = [r for r in rows if not r.get("published")]
    out: list[tuple[str, Rows]] = [("file order", list(rows))]
    for s in range(1, seeds + 1):
        out.append((f"dated shuffled (seed {s})", random.Random(s).sample(dated, len(dated)) + undated))
    out.append(("dated reversed", dated[::-1] + undated))
    for s in range(1, seeds + 1):
        out.append((f"all shuffled (seed {s})", random.Random(s).sample(list(rows), len(rows))))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--no-embedding", action="store_true", help="terms only (no multilingual signal)")
    ap.add_argument("--seeds", type=int, default=3, help="shuffles of each kind")
    args = ap.parse_args(argv)
    if not all(p.exists() for p in CORPORA):
        print(f"the dev corpora are not in {CORPORA[0].parent}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    settings, emb, data = load_labelled(DEFAULT_CONFIG, args.no_embedding)
    print("OUT OF SAMPLE; stories B-cubed F1 against file order in the same run")
    for name, model, corpus in cross_corpus(data):
        print(name)
        base = 0.0
        for label, rows in orders(corpus, args.seeds):
            rel, b3 = scored(corpus, run_replay(settings, model, rows, emb))
            base = b3[2] if label == "file order" else base
            print(f"  {label:26}{line('relevance', rel)}  {line('stories B-cubed', b3)}  "
                  f"({b3[2] - base:+.3f})")
    print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
