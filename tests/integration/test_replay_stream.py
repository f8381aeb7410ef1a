"""`deskwatch replay` streams (issue 11 point 9): each result line is out as soon as its input line
is done, in input order, before the archive is finished; the progress line is drawn only when
stderr is a terminal, never into a pipe or a log file."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

from tests.factories import REPO

ROW = {"title": "North Korean soldiers captured by Ukraine in Kursk region",
       "summary": "Two wounded North Korean soldiers fighting for Russia were taken prisoner.",
       "source": "Wire A", "published": "2025-01-11", "lang": "en"}


def archive(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "items.jsonl"
    rows = [{**ROW, "id": f"r{i}", "title": f"{ROW['title']} ({i})", "url": f"https://a.example/{i}",
             "source": f"Wire {i % 7}"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", "utf-8")
    return path


def test_results_come_out_while_the_archive_is_still_running(tmp_path: Path) -> None:
    n = 40  # about 0.2 s a row with the multilingual signal: still running long after the first line
    proc = subprocess.Popen([sys.executable, "-m", "bot", "replay", str(archive(tmp_path, n))], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    still_running = proc.poll() is None
    rest, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert json.loads(first)["id"] == "r0"
    assert still_running, "the first line came only when everything was done"
    ids = [json.loads(line)["id"] for line in [first, *rest.splitlines()]]
    assert ids == [f"r{i}" for i in range(n)]
    assert "replaying" not in err and "\r" not in err  # stderr is a pipe: no progress line


def test_a_progress_line_on_a_terminal(tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    # A real terminal has a size; a fresh pty is 0x0, where tqdm draws nothing at all.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    seen: list[bytes] = []

    def read_terminal() -> None:  # while it runs: Linux drops what is unread once the terminal closes
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                return
            if not chunk:
                return
            seen.append(chunk)

    reader = threading.Thread(target=read_terminal, daemon=True)
    reader.start()
    proc = subprocess.Popen([sys.executable, "-m", "bot", "replay", str(archive(tmp_path, 40))], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=follower, text=True)
    os.close(follower)
    out, _ = proc.communicate(timeout=300)
    reader.join(10)
    os.close(leader)
    drawn = b"".join(seen)
    assert proc.returncode == 0
    assert b"replaying" in drawn and b"row" in drawn
    assert len(out.splitlines()) == 40  # stdout (a pipe) has the results only
