"""Read deskwatch.toml (and the watch files it names) and turn it into `Settings`.

Validation collects EVERY problem with its key path (`feeds[3].url: not an http(s) URL`) and
raises one ConfigError. Unknown keys are errors: a typo must not silently disable a setting.
Secrets are never read here; destinations only name the environment variables that hold them.
"""

from __future__ import annotations

import json
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger

from bot.core.watch import Watch, load_watch
from bot.model import Destination, Subscription
from bot.settings import (
    MAX_AGE_DAYS,
    MAX_BYTES,
    MAX_CONCURRENCY,
    MAX_INTERVAL,
    MAX_REDIRECTS,
    MAX_TICK,
    MAX_TIMEOUT,
    AccessSettings,
    ConfigError,
    FeedSettings,
    HttpSettings,
    PollingSettings,
    Settings,
    StorageSettings,
)

DEFAULT_PATH = "config/deskwatch.toml"
TOP_KEYS = {"feeds", "watches", "destinations", "subscriptions", "storage", "polling", "access", "http"}
TIERS = {"wire", "state-media", "independent", "government", "aggregator"}
PLATFORMS = {"discord", "discord-webhook", "slack", "slack-webhook", "webhook", "console", "file"}
T = TypeVar("T")


def config_path(explicit: str | None) -> str:
    return explicit or os.environ.get("DESKWATCH_CONFIG") or DEFAULT_PATH


def is_http_url(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class _Checker:
    """Collects errors while reading typed values out of TOML tables."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def err(self, where: str, msg: str) -> None:
        self.errors.append(f"{where}: {msg}")

    def keys(self, table: Mapping[str, Any], allowed: set[str], where: str) -> None:
        for key in sorted(set(table) - allowed):
            self.err(f"{where}.{key}" if where else key, f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def get(self, table: Mapping[str, Any], key: str, kind: type[T], where: str, default: T) -> T:
        if key not in table:
            return default
        value = table[key]
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not ok:
            self.err(f"{where}.{key}", f"must be {_kind_name(kind)}, got {type(value).__name__}")
            return default
        return value

    def require_str(self, table: Mapping[str, Any], key: str, where: str) -> str:
        if key not in table:
            self.err(f"{where}.{key}", "is required")
            return ""
        value = self.get(table, key, str, where, "")
        if key in table and isinstance(table[key], str) and not value.strip():
            self.err(f"{where}.{key}", "must not be empty")
        return value

    def positive(self, table: Mapping[str, Any], key: str, kind: type[T], where: str, default: T) -> T:
        value = self.get(table, key, kind, where, default)
        if key in table and isinstance(value, int | float) and value <= 0:
            self.err(f"{where}.{key}", "must be greater than 0")
            return default
        return value

    def bounded(self, table: Mapping[str, Any], key: str, kind: type[T], where: str, default: T,
                high: float) -> T:
        """A positive, finite number no larger than `high`. TOML accepts nan, inf and 10**30, and
        each breaks the bot at run time (a timedelta overflow, a fetch that never times out)."""
        value = self.get(table, key, kind, where, default)
        if key not in table or value is default or not isinstance(value, int | float):
            return value
        problem = (f"must be a finite number, got {value}" if not math.isfinite(value) else
                   "must be greater than 0" if value <= 0 else
                   f"must be at most {_number(high)}, got {_number(value)}" if value > high else "")
        if problem:
            self.err(f"{where}.{key}", problem)
            return default
        return value

    def tables(self, doc: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.err(key, f"must be an array of tables ([[{key}]])")
            return []
        return value


def _number(x: float) -> str:
    """1e9 as 1000000000, 2.5 as 2.5, 1e30 as 1e+30: how a person would write it in the file."""
    return str(int(x)) if math.isfinite(x) and float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _kind_name(kind: type) -> str:
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            list: "an array", dict: "a table"}.get(kind, kind.__name__)


def load_settings(path: str | None = None, models: bool = True) -> Settings:
    """Read and validate the config file; raise ConfigError listing every problem.
    `models=False` skips the watches' fitted model files (what `deskwatch train` rewrites)."""
    p = Path(config_path(path))
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read config file ({exc.strerror or exc})"]) from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{p}: not valid TOML ({exc})"]) from None
    except RecursionError:  # tomllib recurses once per nesting level: ~500 deep exhausts the stack
        raise ConfigError([f"{p}: not valid TOML (arrays or tables nested too deeply)"]) from None
    return settings_from_dict(doc, base_dir=p.parent, source_path=str(p), models=models)


def settings_from_dict(doc: Mapping[str, Any], base_dir: Path, source_path: str = "", models: bool = True
                       ) -> Settings:
    c = _Checker()
    c.keys(doc, TOP_KEYS, "")
    feeds = _feeds(c, doc)
    watches = _watches(c, doc, base_dir, models)
    destinations = _destinations(c, doc)
    subs = _subscriptions(c, doc, {w.name for w in watches}, {d.name for d in destinations})
    storage = _storage(c, doc)
    polling = _polling(c, doc)
    access = _access(c, doc)
    http = _http(c, doc, os.environ)
    if c.errors:
        raise ConfigError(c.errors)
    return Settings(
        feeds=tuple(feeds), watches=tuple(watches), destinations=tuple(destinations),
        subscriptions=tuple(subs), storage=storage, polling=polling, access=access, http=http,
        source_path=source_path,
    )


def _feeds(c: _Checker, doc: Mapping[str, Any]) -> list[FeedSettings]:
    out: list[FeedSettings] = []
    seen: set[str] = set()
    allowed = {"name", "url", "language", "tier", "interval", "source"}
    for i, t in enumerate(c.tables(doc, "feeds")):
        w = f"feeds[{i}]"
        c.keys(t, allowed, w)
        name = c.require_str(t, "name", w)
        url = c.require_str(t, "url", w)
        if url and not is_http_url(url):
            c.err(f"{w}.url", "not an http(s) URL")
        if name in seen:
            c.err(f"{w}.name", f"duplicate feed name {name!r}")
        seen.add(name)
        lang = c.require_str(t, "language", w)
        if lang and not (2 <= len(lang) <= 8 and lang.replace("-", "").isalpha()):
            c.err(f"{w}.language", "must be a language code such as en, ko, ru, uk")
        tier = c.get(t, "tier", str, w, "independent")
        if tier not in TIERS:
            c.err(f"{w}.tier", f"must be one of {', '.join(sorted(TIERS))}")
        interval = c.bounded(t, "interval", int, w, 0, MAX_INTERVAL) or None
        out.append(FeedSettings(name=name, url=url, language=lang.lower(), tier=tier,
                                interval=interval, source=c.get(t, "source", str, w, "")))
    return out


def _watches(c: _Checker, doc: Mapping[str, Any], base_dir: Path, models: bool = True) -> list[Watch]:
    out: list[Watch] = []
    for i, t in enumerate(c.tables(doc, "watches")):
        w = f"watches[{i}]"
        name = c.require_str(t, "name", w)
        data: dict[str, Any] = {k: v for k, v in t.items() if k not in ("name", "file")}
        if "file" in t:
            fname = c.get(t, "file", str, w, "")
            loaded = _read_watch_file(c, base_dir / fname, f"{w}.file")
            data = _merge(loaded, data)
        # The fitted model file sits next to the watch file (or where its `model` key says).
        watch_file = base_dir / str(t.get("file", f"{name}.toml"))
        model_file = watch_file.with_suffix(".model.json")
        if isinstance(data.get("model"), str):
            model_file = watch_file.parent / data["model"]
            data["model"] = _read_model_file(c, model_file, f"{w}.model") if models else None
        watch, errors = load_watch(name, data, w)
        c.errors.extend(errors)
        if watch is not None:
            out.append(replace(watch, model_path=str(model_file)))
    if not out and not c.errors:
        c.err("watches", "at least one watch is required")
    return out


def _read_watch_file(c: _Checker, path: Path, where: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        c.err(where, f"cannot read {path} ({exc.strerror or exc})")
        return {}
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        c.err(where, f"{path} is not valid TOML ({exc})")
        return {}
    except RecursionError:
        c.err(where, f"{path} is not valid TOML (arrays or tables nested too deeply)")
        return {}
    includes = data.pop("include", [])
    if not isinstance(includes, list):
        c.err(f"{where} include", "must be an array of file names")
        return data
    for inc in includes:
        data = _merge(data, _read_watch_file(c, path.parent / str(inc), f"{where} include {inc}"))
    return data


def _read_model_file(c: _Checker, path: Path, where: str) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        c.err(where, f"cannot read {path} ({exc.strerror or exc}); fit one with `deskwatch train`")
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        c.err(where, f"{path} is not valid JSON ({exc})")
        return None
    if not isinstance(data, dict):
        c.err(where, f"{path} must hold a JSON object")
        return None
    return data


def _merge(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """Shallow merge; arrays are concatenated, tables merged one level down."""
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, list) and isinstance(out.get(k), list):
            out[k] = [*out[k], *v]
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def _destinations(c: _Checker, doc: Mapping[str, Any]) -> list[Destination]:
    out: list[Destination] = []
    allowed = {"name", "platform", "channel", "webhook_env", "path", "format", "thread_replies",
               "unfurl", "max_alerts_per_hour", "timezone", "headline_language"}
    for i, t in enumerate(c.tables(doc, "destinations")):
        w = f"destinations[{i}]"
        c.keys(t, allowed, w)
        name = c.require_str(t, "name", w)
        platform = c.require_str(t, "platform", w)
        if platform and platform not in PLATFORMS:
            c.err(f"{w}.platform", f"must be one of {', '.join(sorted(PLATFORMS))}")
        channel = c.get(t, "channel", str, w, "") or None
        webhook_env = c.get(t, "webhook_env", str, w, "") or None
        path = c.get(t, "path", str, w, "") or None
        if platform in ("discord", "slack") and not channel:
            c.err(f"{w}.channel", f"is required for platform {platform!r} (the channel id)")
        if platform.endswith("webhook") and not webhook_env:
            c.err(f"{w}.webhook_env", "is required: the NAME of the environment variable holding the URL")
        if webhook_env and (webhook_env.startswith(("http:", "https:")) or not webhook_env.isidentifier()):
            c.err(f"{w}.webhook_env", "must be an environment variable name, not the URL itself")
        if platform == "file" and not path:
            c.err(f"{w}.path", "is required for platform 'file'")
        fmt = c.get(t, "format", str, w, "markdown")
        if fmt not in ("markdown", "jsonl"):
            c.err(f"{w}.format", "must be markdown or jsonl")
        tz = c.get(t, "timezone", str, w, "UTC")
        if check_timezone(tz):
            c.err(f"{w}.timezone", check_timezone(tz) or "")
        lang = c.get(t, "headline_language", str, w, "") or None
        if lang is not None and not (2 <= len(lang) <= 3 and lang.isalpha() and lang.isascii()):
            c.err(f"{w}.headline_language", "must be a language code such as en, ko or ru")
        out.append(Destination(
            name=name, platform=platform,  # type: ignore[arg-type]
            channel=channel, webhook_env=webhook_env, path=path, format=fmt,  # type: ignore[arg-type]
            thread_replies=c.get(t, "thread_replies", bool, w, False),
            unfurl=c.get(t, "unfurl", bool, w, False),
            max_alerts_per_hour=c.positive(t, "max_alerts_per_hour", int, w, 30),
            timezone=tz, headline_language=lang.lower() if lang else None,
        ))
    names = [d.name for d in out]
    for n in sorted({n for n in names if names.count(n) > 1}):
        c.err("destinations", f"duplicate destination name {n!r}")
    return out


def check_timezone(timezone: str) -> str | None:
    """Plain-words problem with a time zone name, or None when it is fine."""
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {timezone!r} (use a name such as UTC or Asia/Seoul)"
    return None


def check_schedule(schedule: str, timezone: str) -> str | None:
    """Plain-words problem with a cron schedule / time zone, or None when both are fine."""
    if check_timezone(timezone):
        return check_timezone(timezone)
    tz = ZoneInfo(timezone)
    try:
        CronTrigger.from_crontab(schedule, timezone=tz)
    except ValueError as exc:
        return f"not a valid cron schedule {schedule!r} ({exc})"
    return None


def _subscriptions(c: _Checker, doc: Mapping[str, Any], watches: set[str], dests: set[str]) -> list[Subscription]:
    out: list[Subscription] = []
    allowed = {"watch", "destination", "mode", "schedule", "timezone"}
    for i, t in enumerate(c.tables(doc, "subscriptions")):
        w = f"subscriptions[{i}]"
        c.keys(t, allowed, w)
        watch = c.require_str(t, "watch", w)
        dest = c.require_str(t, "destination", w)
        if watch and watches and watch not in watches:
            c.err(f"{w}.watch", f"no watch named {watch!r}")
        if dest and dest not in dests:
            c.err(f"{w}.destination", f"no destination named {dest!r}")
        mode = c.get(t, "mode", str, w, "instant")
        if mode not in ("instant", "digest"):
            c.err(f"{w}.mode", "must be instant or digest")
        schedule = c.get(t, "schedule", str, w, "0 8 * * *")
        tz = c.get(t, "timezone", str, w, "UTC")
        problem = check_schedule(schedule, tz)
        if problem:
            c.err(f"{w}.schedule", problem)
        out.append(Subscription(watch=watch, destination=dest, mode=mode,  # type: ignore[arg-type]
                                schedule=schedule, timezone=tz))
    return out


def _section(c: _Checker, doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        c.err(key, f"must be a table ([{key}])")
        return {}
    return value


def _storage(c: _Checker, doc: Mapping[str, Any]) -> StorageSettings:
    t = _section(c, doc, "storage")
    c.keys(t, {"path", "keep_days"}, "storage")
    keep = c.bounded(t, "keep_days", int, "storage", StorageSettings.keep_days, 36_500)
    path = c.get(t, "path", str, "storage", StorageSettings.path)
    if "path" in t and isinstance(t["path"], str) and not path.strip():
        # sqlite3 opens "" as a private temporary database: every alert would be forgotten
        c.err("storage.path", "must not be empty (the SQLite database file, e.g. data/deskwatch.db)")
        path = StorageSettings.path
    return StorageSettings(path=path, keep_days=keep)


def _http(c: _Checker, doc: Mapping[str, Any], env: Mapping[str, str]) -> HttpSettings:
    t = _section(c, doc, "http")
    c.keys(t, {"host", "port"}, "http")
    host = c.get(t, "host", str, "http", HttpSettings.host)
    port: int | None = c.bounded(t, "port", int, "http", 0, 65535) or None
    if env.get("DESKWATCH_HTTP_PORT", "").strip():
        raw = env["DESKWATCH_HTTP_PORT"].strip()
        if raw.isdigit() and 0 < int(raw) <= 65535:
            port = int(raw)
        else:
            c.err("DESKWATCH_HTTP_PORT", f"must be a port number 1-65535, not {raw!r}")
    return HttpSettings(host=host or HttpSettings.host, port=port)


# [polling] keys: (type, upper bound); every value must also be positive and finite
_POLLING: dict[str, tuple[type, float]] = {
    "interval": (int, MAX_INTERVAL), "min_interval": (int, MAX_INTERVAL), "max_interval": (int, MAX_INTERVAL),
    "tick": (int, MAX_TICK), "connect_timeout": (float, MAX_TIMEOUT), "total_timeout": (float, MAX_TIMEOUT),
    "max_bytes": (int, MAX_BYTES), "max_redirects": (int, MAX_REDIRECTS), "concurrency": (int, MAX_CONCURRENCY),
    "per_host": (int, MAX_CONCURRENCY), "max_age_days": (float, MAX_AGE_DAYS),
}


def _polling(c: _Checker, doc: Mapping[str, Any]) -> PollingSettings:
    t = _section(c, doc, "polling")
    d = PollingSettings()
    c.keys(t, {*_POLLING, "user_agent"}, "polling")
    values = {k: c.bounded(t, k, kind, "polling", getattr(d, k), high) for k, (kind, high) in _POLLING.items()}
    if values["min_interval"] > values["max_interval"]:
        c.err("polling.min_interval", "must not exceed polling.max_interval")
    return PollingSettings(**values, user_agent=c.get(t, "user_agent", str, "polling", d.user_agent))


def _access(c: _Checker, doc: Mapping[str, Any]) -> AccessSettings:
    t = _section(c, doc, "access")
    c.keys(t, {"slack_admins", "allow_private_hosts"}, "access")
    admins = c.get(t, "slack_admins", list, "access", [])
    hosts = c.get(t, "allow_private_hosts", list, "access", [])
    return AccessSettings(slack_admins=tuple(map(str, admins)), allow_private_hosts=tuple(map(str, hosts)))
