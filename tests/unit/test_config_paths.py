"""Relative paths in a config resolve against the config file's folder, whatever the working
directory (issue 11 point 2): run from cron or systemd elsewhere, the bot finds the same files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import load_settings
from tests.factories import REPO

WATCH_DIR = REPO / "config" / "watches"


def write_config(folder: Path, storage: str, sink: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "w.toml").write_text((WATCH_DIR / "dprk-russia.toml").read_text("utf-8")
                                   .replace('"../gazetteer.toml"', f'"{REPO / "config" / "gazetteer.toml"}"'), "utf-8")
    (folder / "dprk-russia.model.json").write_text((WATCH_DIR / "dprk-russia.model.json").read_text("utf-8"), "utf-8")
    path = folder / "deskwatch.toml"
    path.write_text(f"""
[storage]
path = "{storage}"

[[watches]]
name = "w"
file = "w.toml"

[[destinations]]
name = "brief"
platform = "file"
path = "{sink}"

[[subscriptions]]
watch = "w"
destination = "brief"
""", "utf-8")
    return path


@pytest.mark.parametrize(("storage", "sink", "db", "out"), [
    ("data/bot.db", "out/brief.md", "etc/data/bot.db", "etc/out/brief.md"),
    ("../var/bot.db", "brief.md", "var/bot.db", "etc/brief.md"),
    ("/ABS/bot.db", "/ABS/brief.md", "ABS/bot.db", "ABS/brief.md"),
    (":memory:", "brief.md", ":memory:", "etc/brief.md"),
])
def test_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str,
                                                 sink: str, db: str, out: str) -> None:
    def at(p: str) -> str:
        return p.replace("/ABS", str(tmp_path / "ABS"))

    config = write_config(tmp_path / "etc", at(storage), at(sink))
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    for cwd in (tmp_path, elsewhere):  # the same files from any working directory
        monkeypatch.chdir(cwd)
        s = load_settings(str(config))
        # `..` is left to the OS (a lexical cut would be wrong under a symlinked folder)
        real = s.storage.path if db == ":memory:" else Path(s.storage.path).resolve()
        assert real == (db if db == ":memory:" else (tmp_path / db).resolve())
        assert Path(s.destination("brief").path).resolve() == (tmp_path / out).resolve()  # type: ignore[union-attr, arg-type]
        assert s.watches[0].model_path == str(tmp_path / "etc" / "dprk-russia.model.json")


def test_a_relative_config_path_is_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path / "etc", "bot.db", "brief.md")
    monkeypatch.chdir(tmp_path)
    s = load_settings("etc/deskwatch.toml")
    monkeypatch.chdir(REPO)  # a later chdir (a daemon) must not move the database
    assert s.storage.path == str(tmp_path / "etc" / "bot.db")


def test_shipped_config_keeps_its_database_beside_the_config_folder() -> None:
    """config/deskwatch.toml says ../data/: `deskwatch run` from the repository uses ./data as before."""
    s = load_settings(str(REPO / "config" / "deskwatch.toml"))
    assert s.storage.path == str(REPO / "config" / ".." / "data" / "deskwatch.db")
