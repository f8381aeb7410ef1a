"""Watch loading: the shipped watch file is valid, and every mistake is reported with its path."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config.watch import load_watch
from bot.core.watch import Watch

CONFIG = Path(__file__).resolve().parents[2] / "config"


def config_watch() -> Watch:
    """The shipped watch with its fitted model, loaded as the bot loads it."""
    from bot.config import load_settings

    return load_settings(str(CONFIG / "deskwatch.toml")).watches[0]


MINIMAL: dict[str, Any] = {
    "title": "Test watch",
    "threshold": 2.0,
    "roles": {"actor": {"weight": 2, "en": ["North Korea*"]}, "place": {"weight": 1, "any": ["Kursk*"]}},
    "require": [["actor", "place"]],
}


def test_shipped_watch_loads_with_its_gazetteer() -> None:
    w = config_watch()
    assert w.title and w.threshold > 0 and w.story_window_hours > 0
    assert {r.name for r in w.roles} >= {"actor", "theatre", "force"}
    assert w.entity("kursk") is not None and w.entity("kursk").kind == "place"  # type: ignore[union-attr]
    assert len(w.exclusions) >= 4 and w.stopwords


def test_minimal_watch() -> None:
    w, errors = load_watch("t", MINIMAL, "watches[0]")
    assert errors == [] and w is not None
    assert (w.name, w.title, w.threshold, w.story_window_hours) == ("t", "Test watch", 2.0, 72.0)
    assert w.require == (("actor", "place"),)
    assert [t.raw for t in w.role("actor").terms] == ["North Korea*"]  # type: ignore[union-attr]


def _with(**changes: Any) -> dict[str, Any]:
    return {**MINIMAL, **changes}


@pytest.mark.parametrize(("data", "expected"), [
    (_with(colour="red"), "watches[0].colour: unknown key"),
    (_with(roles={"actor": {"weight": "heavy", "en": ["DPRK"]}}), "watches[0].roles.actor.weight: must be a number"),
    (_with(roles={"actor": {"weight": True, "en": ["DPRK"]}}), "watches[0].roles.actor.weight: must be a number"),
    (_with(roles={"actor": {"weight": 1, "en": ["DPRK", ""]}}),
     "watches[0].roles.actor.en[1]: must be a non-empty term"),
    (_with(roles={"actor": {"weight": 1, "en": "DPRK"}}), "watches[0].roles.actor.en: must be an array of terms"),
    (_with(roles={"actor": {"weight": 1, "colour": ["x"]}}), "watches[0].roles.actor.colour: unknown key"),
    (_with(roles={"actor": {"weight": 1}}), "watches[0].roles.actor: needs at least one term"),
    (_with(require=[["actor", "ghost"]]), "watches[0].require[0]: unknown role 'ghost'"),
    (_with(threshold="high"), "watches[0].threshold: must be a number"),
    (_with(story_window_hours=0), "watches[0].story_window_hours: must be greater than 0"),
    (_with(fields={"title": 1, "body": 2}), "watches[0].fields.body: unknown key"),
    (_with(exclusions=[{"penalty": 2, "en": ["K-pop"]}]), "watches[0].exclusions[0].name: is required"),
    (_with(entities=[{"id": "a", "en": ["x"]}, {"id": "a", "en": ["y"]}]), "watches[0].entities[1].id: duplicate"),
    (_with(stories={"join_threshold": "x"}), "watches[0].stories.join_threshold: must be a number"),
    (_with(stories={"glue": 1}), "watches[0].stories.glue: unknown key"),
    (_with(proximity=[{"roles": ["actor"], "window": 3}]), "watches[0].proximity[0].roles: must name two known roles"),
    (_with(since="24 Feb 2022"), "watches[0].since: must be a day such as 2022-02-24"),
    (_with(since=datetime(2022, 2, 24, 6, tzinfo=UTC)), "watches[0].since: must be a day without a time"),
    (_with(since=2022), "watches[0].since:"),
])
def test_errors_name_their_key_path(data: dict[str, Any], expected: str) -> None:
    w, errors = load_watch("t", data, "watches[0]")
    assert w is None
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize("value", [date(2022, 2, 24), "2022-02-24", " 2022-02-24 "])
def test_since_is_a_day_written_as_toml_date_or_string(value: object) -> None:
    w, errors = load_watch("t", _with(since=value), "watches[0]")
    assert errors == [] and w is not None and w.since == date(2022, 2, 24)


def test_every_error_is_reported_at_once() -> None:
    data = _with(colour="red", threshold="x", roles={"actor": {"weight": "y", "en": ["DPRK"]}})
    _, errors = load_watch("t", data, "w")
    assert len(errors) >= 4  # colour, threshold, weight, and the require naming a missing role


def test_indonesian_terms_use_ind_because_id_is_the_entry_key() -> None:
    data = _with(entities=[{"id": "dprk", "ind": ["Korea Utara"], "en": ["North Korea"]}])
    w, errors = load_watch("t", data, "w")
    assert errors == [] and w is not None
    assert {t.lang for t in w.entities[0].terms} == {"id", "en"}
