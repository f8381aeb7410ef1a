"""`deskwatch replay` honours its contract: one JSON line per input line, same order, fields as
specified, stories shared by reports of one development, no gold labels read."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.factories import REPO

ROWS = [
    {"id": "a", "title": "North Korean soldiers captured by Ukraine in Kursk region",
     "summary": "Ukraine's security service said two wounded North Korean soldiers fighting for Russia were "
                "taken prisoner in the Kursk region.", "source": "Wire A", "url": "https://a.example/1",
     "published": "2025-01-11", "lang": "en", "relevant": False, "story": "GOLD-SHOULD-NOT-BE-READ"},
    {"id": "b", "title": "Restaurant review: the best bibimbap in town", "summary": "A cosy Korean place.",
     "source": "Food Weekly", "url": "https://b.example/2", "published": "2025-01-11", "lang": "en"},
    {"id": "c", "title": "Zelensky: two North Korean prisoners of war captured in Kursk",
     "summary": "President Zelensky said Ukrainian forces captured two North Korean soldiers in Russia's "
                "Kursk region, the first taken alive.", "source": "Wire B", "url": "https://c.example/3",
     "published": "2025-01-12T08:30:00Z", "lang": "en", "extra": [1, 2]},
    {"id": "d", "title": "", "summary": "", "source": "", "url": "", "published": "", "lang": ""},
]


def test_replay_contract(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n", "utf-8")
    proc = subprocess.run([sys.executable, "-m", "bot", "replay", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    for o in out:
        assert set(o) == {"id", "relevant", "score", "story", "reasons"}
        assert isinstance(o["relevant"], bool) and isinstance(o["score"], float | int)
        assert isinstance(o["reasons"], list)
        assert (o["story"] is None) == (not o["relevant"])
    a, b, c, d = out
    assert a["relevant"] and c["relevant"] and not b["relevant"] and not d["relevant"]
    assert a["story"] == c["story"]
    assert "GOLD" not in proc.stdout
