"""The README's configuration reference is the one generated from the models (issue 11 point 12):
a key added, renamed or re-bounded in bot/config/ without regenerating the README fails here."""

from __future__ import annotations

import typing

from pydantic import BaseModel

from bot.config import reference
from bot.config.schema import Config
from bot.config.watch import WatchFile
from tests.factories import REPO


def test_readme_section_is_the_generated_one() -> None:
    readme = (REPO / "README.md").read_text("utf-8")
    assert reference.BEGIN in readme and reference.END in readme
    section = readme[readme.index(reference.BEGIN):readme.index(reference.END) + len(reference.END) + 1]
    assert section == reference.markdown(), "run: .venv/bin/python -m bot.config.reference --write README.md"


def _keys(model: type[BaseModel]) -> list[tuple[type[BaseModel], str]]:
    out = []
    for name, field in model.model_fields.items():
        out.append((model, name))
        for arg in typing.get_args(field.annotation) or (field.annotation,):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _keys(arg)
    return out


def test_every_key_has_a_meaning() -> None:
    """A key without a docstring would be a blank cell in the reference."""
    missing = [f"{m.__name__}.{k}" for m, k in _keys(Config) + _keys(WatchFile)
               if k != "terms" and not reference.meanings(m).get(k)]
    assert missing == []


def test_write_replaces_only_the_section(tmp_path: typing.Any) -> None:
    path = tmp_path / "README.md"
    path.write_text(f"# x\n\nbefore\n{reference.BEGIN}\nold\n{reference.END}\nafter\n", "utf-8")
    assert reference.main(["--write", str(path)]) == 0
    assert path.read_text("utf-8") == f"# x\n\nbefore\n{reference.markdown()}after\n"
