"""Config loading: every error at once, with its key path; unknown keys rejected; no secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_settings, settings_from_dict

REPO = Path(__file__).resolve().parents[2]
WATCH = {"name": "w", "file": str(REPO / "config" / "watches" / "dprk-russia.toml")}


def base(**over: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "watches": [WATCH],
        "feeds": [{"name": "a", "url": "https://example.org/rss", "language": "en"}],
        "destinations": [{"name": "console", "platform": "console"}],
        "subscriptions": [{"watch": "w", "destination": "console"}],
    }
    doc.update(over)
    return doc


def errors_of(doc: dict[str, object]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(doc, base_dir=REPO / "config")
    return info.value.errors


def test_shipped_configs_load() -> None:
    for name in ("deskwatch.toml", "demo.toml"):
        s = load_settings(str(REPO / "config" / name))
        assert s.feeds and s.watches and s.destinations
        langs = {f.language for f in s.feeds}
        if name == "deskwatch.toml":
            assert {"en", "ko", "ru", "uk"} <= langs


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"feeds": [{"name": "a", "url": "ftp://x/y", "language": "en"}]}, "feeds[0].url: not an http(s) URL"),
        ({"feeds": [{"name": "a", "url": "https://x/y"}]}, "feeds[0].language: is required"),
        (
            {"feeds": [{"name": "a", "url": "https://x/y", "language": "en", "colour": 1}]},
            "feeds[0].colour: unknown key",
        ),
        ({"feeds": [{"name": "a", "url": "https://x/y", "language": "en", "tier": "blog"}]}, "feeds[0].tier:"),
        (
            {"feeds": [{"name": "a", "url": "https://x/y", "language": "en", "interval": -5}]},
            "feeds[0].interval: must be greater than 0",
        ),
        ({"polling": {"interval": "often"}}, "polling.interval: must be an integer"),
        ({"destinations": [{"name": "d", "platform": "discord"}]}, "destinations[0].channel: is required"),
        (
            {"destinations": [{"name": "d", "platform": "webhook", "webhook_env": "https://hooks.example/x"}]},
            "destinations[0].webhook_env: must be an environment variable name",
        ),
        ({"destinations": [{"name": "d", "platform": "pager"}]}, "destinations[0].platform: must be one of"),
        (
            {"subscriptions": [{"watch": "w", "destination": "nowhere"}]},
            "subscriptions[0].destination: no destination named 'nowhere'",
        ),
        (
            {"subscriptions": [{"watch": "w", "destination": "console", "mode": "digest", "schedule": "99 * * * *"}]},
            "subscriptions[0].schedule: not a valid cron schedule",
        ),
        (
            {"subscriptions": [{"watch": "w", "destination": "console", "timezone": "Mars/Olympus"}]},
            "subscriptions[0].timezone: unknown time zone",
        ),
        ({"storage": {"path": "x.db", "engine": "pg"}}, "storage.engine: unknown key"),
        ({"bogus": 1}, "bogus: unknown key"),
    ],
)
def test_each_error_names_its_key(override: dict[str, object], expected: str) -> None:
    assert any(e.startswith(expected) for e in errors_of(base(**override))), errors_of(base(**override))


def test_every_error_is_reported_at_once() -> None:
    doc = base(
        feeds=[{"name": "a", "url": "nope", "language": "en"}, {"name": "a", "url": "https://x/y"}],
        polling={"concurrency": 0},
    )
    errs = errors_of(doc)
    assert "feeds[0].url: not an http(s) URL" in errs
    assert "feeds[1].language: is required" in errs
    assert any(e.startswith("feeds[1].name: duplicate") for e in errs)
    assert "polling.concurrency: must be greater than 0" in errs


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(str(tmp_path / "missing.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("feeds = [", "utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(str(bad))


def test_secret_values_never_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK", "https://hooks.example.org/T000/SECRET")
    doc = base(destinations=[{"name": "d", "platform": "webhook", "webhook_env": "HOOK", "nonsense": True}])
    assert not any("SECRET" in e for e in errors_of(doc))


# --- values TOML accepts but the bot cannot run with (issue 10 point 9) ----------------------------
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"polling": {"max_age_days": NAN}}, "polling.max_age_days: must be a finite number"),
        ({"polling": {"max_age_days": INF}}, "polling.max_age_days: must be a finite number"),
        ({"polling": {"max_age_days": -INF}}, "polling.max_age_days: must be a finite number"),
        ({"polling": {"max_age_days": 1e9}}, "polling.max_age_days: must be at most 36500"),
        ({"polling": {"interval": 10**30}}, "polling.interval: must be at most 604800"),
        ({"polling": {"min_interval": 10**7}}, "polling.min_interval: must be at most 604800"),
        ({"polling": {"max_interval": 10**9}}, "polling.max_interval: must be at most 604800"),
        ({"polling": {"tick": 10**12}}, "polling.tick: must be at most 86400"),
        ({"polling": {"connect_timeout": NAN}}, "polling.connect_timeout: must be a finite number"),
        ({"polling": {"total_timeout": INF}}, "polling.total_timeout: must be a finite number"),
        ({"polling": {"total_timeout": 3601}}, "polling.total_timeout: must be at most 600"),
        ({"polling": {"connect_timeout": 0.0}}, "polling.connect_timeout: must be greater than 0"),
        ({"polling": {"max_bytes": 10**20}}, "polling.max_bytes: must be at most 1000000000"),
        ({"polling": {"max_redirects": 10**6}}, "polling.max_redirects: must be at most 50"),
        ({"polling": {"concurrency": 10**9}}, "polling.concurrency: must be at most 10000"),
        ({"polling": {"per_host": 10**9}}, "polling.per_host: must be at most 10000"),
        (
            {"feeds": [{"name": "a", "url": "https://x/y", "language": "en", "interval": 10**30}]},
            "feeds[0].interval: must be at most 604800",
        ),
        ({"storage": {"path": ""}}, "storage.path: must not be empty"),
        ({"storage": {"path": "   "}}, "storage.path: must not be empty"),
    ],
)
def test_values_that_break_at_run_time_are_refused(override: dict[str, object], expected: str) -> None:
    errs = errors_of(base(**override))
    assert any(e.startswith(expected) for e in errs), errs


@pytest.mark.parametrize(
    "polling",
    [
        {"interval": 604800, "max_interval": 604800, "min_interval": 604800},
        {"tick": 86400, "connect_timeout": 600, "total_timeout": 600.0, "max_age_days": 0.5},
        {"max_bytes": 1_000_000_000, "max_redirects": 50, "concurrency": 10_000, "per_host": 10_000},
    ],
)
def test_the_bounds_themselves_are_accepted(polling: dict[str, object]) -> None:
    settings = settings_from_dict(base(polling=polling), base_dir=REPO / "config")
    for key, value in polling.items():
        assert getattr(settings.polling, key) == value


@pytest.mark.parametrize(("toml", "env", "error"), [
    ({"http": {"port": 8080}}, {}, ""),
    ({"http": {"port": 70000}}, {}, "http.port"),
    ({"http": {"host": "0.0.0.0", "port": 9100}}, {}, ""),
    ({}, {"DESKWATCH_HTTP_PORT": "9101"}, ""),
    ({}, {"DESKWATCH_HTTP_PORT": "nine"}, "DESKWATCH_HTTP_PORT"),
    ({"storage": {"keep_days": 0}}, {}, "storage.keep_days"),
    ({"storage": {"keep_days": 30}}, {}, ""),
])
def test_http_and_retention_settings(toml: dict[str, object], env: dict[str, str], error: str,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKWATCH_HTTP_PORT", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    if error:
        assert any(e.startswith(error) for e in errors_of(base(**toml)))
        return
    s = settings_from_dict(base(**toml), base_dir=REPO / "config")
    port = {**toml.get("http", {}), **({"port": int(env["DESKWATCH_HTTP_PORT"])} if env else {})}.get("port")  # type: ignore[dict-item]
    assert s.http.port == port
    assert s.http.host == toml.get("http", {}).get("host", "127.0.0.1")  # type: ignore[attr-defined]
    assert s.storage.keep_days == toml.get("storage", {}).get("keep_days", 180)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("extra", "error"), [
    ({"timezone": "Asia/Seoul", "headline_language": "EN"}, ""),
    ({"timezone": "Mars/Base"}, "destinations[0].timezone"),
    ({"headline_language": "english"}, "destinations[0].headline_language"),
])
def test_destination_display_settings(extra: dict[str, str], error: str) -> None:
    doc = base(destinations=[{"name": "console", "platform": "console", **extra}])
    if error:
        assert any(e.startswith(error) for e in errors_of(doc))
        return
    d = settings_from_dict(doc, base_dir=REPO / "config").destinations[0]
    assert (d.timezone, d.headline_language) == ("Asia/Seoul", "en")
