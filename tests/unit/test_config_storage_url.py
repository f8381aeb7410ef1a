"""storage.url and storage.pool_size (issue 13 point 1): a PostgreSQL URL from the config or from
DESKWATCH_DATABASE_URL (which wins), checked without ever echoing the value (it may hold a
password), and never shown in a repr of the settings."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, settings_from_dict
from tests.unit.test_config import REPO, base

SECRET = "s3cr3t-pa55word"
URL = f"postgresql://desk:{SECRET}@db.internal:5432/deskwatch"


def errors(doc: dict[str, object], env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(doc, base_dir=REPO / "config", env=env)
    return info.value.errors


def test_default_is_the_sqlite_file() -> None:
    s = settings_from_dict(base(), base_dir=REPO / "config", env={})
    assert (s.storage.url, s.storage.pool_size) == ("", 10)


@pytest.mark.parametrize(("toml", "env", "url"), [
    ({"url": URL}, {}, URL),
    ({"url": "postgres://desk@localhost/d"}, {}, "postgres://desk@localhost/d"),
    ({}, {"DESKWATCH_DATABASE_URL": URL}, URL),
    ({"url": "postgresql://other@x/y"}, {"DESKWATCH_DATABASE_URL": f" {URL} "}, URL),  # the environment wins
    ({"url": URL}, {"DESKWATCH_DATABASE_URL": ""}, URL),
])
def test_url_from_the_config_or_the_environment(toml: dict[str, str], env: dict[str, str], url: str) -> None:
    s = settings_from_dict(base(storage={**toml, "pool_size": 4}), base_dir=REPO / "config", env=env)
    assert (s.storage.url, s.storage.pool_size) == (url, 4)
    assert SECRET not in repr(s) and SECRET not in repr(s.storage)


@pytest.mark.parametrize(("toml", "env", "key"), [
    ({"url": f"mysql://root:{SECRET}@x/y"}, {}, "storage.url"),
    ({"url": f"{SECRET}"}, {}, "storage.url"),
    ({}, {"DESKWATCH_DATABASE_URL": f"sqlite:///{SECRET}"}, "DESKWATCH_DATABASE_URL"),
    ({"pool_size": 0}, {}, "storage.pool_size"),
    ({"pool_size": 1001}, {}, "storage.pool_size"),
])
def test_a_bad_url_is_refused_without_showing_it(toml: dict[str, object], env: dict[str, str], key: str) -> None:
    found = errors(base(storage=toml), env)
    assert any(e.startswith(key) for e in found), found
    assert not any(SECRET in e for e in found)
