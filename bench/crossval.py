"""Out-of-sample relevance figures: the model is refitted without the items it is scored on.

  leave-one-story-out — over both dev corpora together: each gold story is held out in turn
                        (with a share of the irrelevant items), the model is fitted on the rest
                        and scores the held-out items;
  cross-corpus        — fit on dev.jsonl, score dev2.jsonl, and the reverse.
The watch's terms were written with dev.jsonl in view, so "fit on dev2, score dev" flatters the
terms; "fit on dev, score dev2" is the honest direction. Embeddings are cached by text on disk
(bench/.cache, not committed) so reruns are quick.

    .venv/bin/python bench/crossval.py [--no-embedding] [-v]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_settings  # noqa: E402
from bot.core.relevance.fit import Example, fit_model  # noqa: E402
from bot.core.relevance.match import Analysis, analyse, decide  # noqa: E402
from bot.core.relevance.model import feature_names  # noqa: E402
from bot.core.watch import Watch  # noqa: E402
from bot.embedding import Embedder, item_text, load_embedder  # noqa: E402
from bot.replay import row_to_item  # noqa: E402

CORPORA = (ROOT.parent / "shared" / "corpus" / "dev.jsonl", ROOT.parent / "shared" / "corpus" / "dev2.jsonl")
CACHE = ROOT / "bench" / ".cache"


class DiskCache:
    """Embeddings by text hash in one JSON file per embedder."""

    def __init__(self, inner: Embedder) -> None:
        self.name = inner.name
        self._inner = inner
        self._path = CACHE / (hashlib.sha1(inner.name.encode()).hexdigest()[:10] + ".json")
        self._data: dict[str, list[float]] = json.loads(self._path.read_text()) if self._path.exists() else {}
        self._dirty = False

    def embed(self, text: str) -> tuple[float, ...]:
        key = hashlib.sha1(text.encode()).hexdigest()
        if key not in self._data:
            self._data[key] = list(self._inner.embed(text))
            self._dirty = True
        return tuple(self._data[key])

    def save(self) -> None:
        if self._dirty:
            CACHE.mkdir(parents=True, exist_ok=True)
            self._path.write_text(json.dumps(self._data))


def read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]


def prepare(watch: Watch, rows: Sequence[Mapping[str, Any]], emb: Embedder | None
            ) -> list[tuple[Analysis, Example]]:
    from datetime import UTC, datetime

    out = []
    for r in rows:
        item, _ = row_to_item({k: r.get(k) for k in ("id", "title", "summary", "source", "url", "published",
                                                      "lang")}, datetime(2000, 1, 1, tzinfo=UTC))
        a = analyse(watch, item)
        vec = emb.embed(item_text(item.title, item.summary)) if emb else None
        out.append((a, Example(a.features, bool(r["relevant"]), str(r.get("story") or r["id"]), vec)))
    return out


def loso_groups(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Fold key per row: its gold story; irrelevant rows are dealt over the stories' folds."""
    stories = sorted({str(r["story"]) for r in rows if r.get("story")})
    return [str(r["story"]) if r.get("story") else stories[i % len(stories)] for i, r in enumerate(rows)]


def predict(watch: Watch, train: Sequence[Example], test: Sequence[tuple[Analysis, Example]], emb_name: str
            ) -> list[tuple[bool, float, bool]]:
    """(predicted, probability, embedding used) per test row, from a model fitted on `train`."""
    names = feature_names([r.name for r in watch.roles])
    model = fit_model(train, names, "cv", emb_name)
    w = replace(watch, model=model)
    out = []
    for a, ex in test:
        m = decide(w, a, ex.vector)
        out.append((m.relevant, m.score, "multilingual" in m.reasons[0]))
    return out


def prf(gold: Sequence[bool], pred: Sequence[bool]) -> tuple[float, float, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    fp = sum(p and not g for g, p in zip(gold, pred, strict=True))
    fn = sum(g and not p for g, p in zip(gold, pred, strict=True))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def loso(watch: Watch, rows: Sequence[Mapping[str, Any]], prepared: Sequence[tuple[Analysis, Example]],
         emb_name: str) -> list[tuple[bool, float, bool]]:
    groups = loso_groups(rows)
    preds: list[tuple[bool, float, bool] | None] = [None] * len(rows)
    for g in sorted(set(groups)):
        test = [i for i, x in enumerate(groups) if x == g]
        train = [prepared[i][1] for i, x in enumerate(groups) if x != g]
        for i, p in zip(test, predict(watch, train, [prepared[i] for i in test], emb_name), strict=True):
            preds[i] = p
    return [p for p in preds if p is not None]


def fmt(name: str, s: tuple[float, float, float]) -> str:
    return f"  {name:<46} P {s[0]:.3f}  R {s[1]:.3f}  F1 {s[2]:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default=str(ROOT / "config" / "deskwatch.toml"))
    ap.add_argument("--no-embedding", action="store_true", help="terms-only model")
    ap.add_argument("-v", "--verbose", action="store_true", help="list the out-of-sample errors")
    args = ap.parse_args(argv)
    watch = load_settings(args.config).watches[0]
    inner = None if args.no_embedding else load_embedder()
    emb = DiskCache(inner) if inner else None
    name = emb.name if emb else ""
    a_rows, b_rows = (read_rows(p) for p in CORPORA)
    a, b = prepare(watch, a_rows, emb), prepare(watch, b_rows, emb)
    if emb:
        emb.save()
    rows, prepared = [*a_rows, *b_rows], [*a, *b]
    print(f"relevance, out of sample ({'terms + ' + name if name else 'terms only'})")
    lo = loso(watch, rows, prepared, name)
    gold = [bool(r["relevant"]) for r in rows]
    print(fmt("leave-one-story-out, dev + dev2", prf(gold, [p[0] for p in lo])))
    print(fmt("  of which dev rows", prf(gold[:len(a_rows)], [p[0] for p in lo][:len(a_rows)])))
    print(fmt("  of which dev2 rows", prf(gold[len(a_rows):], [p[0] for p in lo][len(a_rows):])))
    ab = predict(watch, [e for _, e in a], b, name)
    ba = predict(watch, [e for _, e in b], a, name)
    print(fmt("fit on dev, score dev2", prf(gold[len(a_rows):], [p[0] for p in ab])))
    print(fmt("fit on dev2, score dev (terms were written on dev)", prf(gold[:len(a_rows)], [p[0] for p in ba])))
    used = sum(p[2] for p in lo)
    print(f"  multilingual signal computed for {used} of {len(lo)} items ({100 * used / len(lo):.0f}%) in LOSO")
    if args.verbose:
        for r, p in zip(rows, lo, strict=True):
            if p[0] != bool(r["relevant"]):
                text = str(r.get("title") or r.get("summary"))[:90]
                print(f"  {'FP' if p[0] else 'FN'} {r['id']} [{r['lang']}] p {p[1]:.2f} {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
