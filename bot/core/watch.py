"""PLACEHOLDER (owned by the brain work): a watch definition loaded from TOML data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Watch:
    name: str
    title: str
    threshold: float = 1.0
    story_window_hours: float = 72.0


def load_watch(name: str, data: Mapping[str, Any], where: str) -> tuple[Watch | None, list[str]]:
    return Watch(name=name, title=str(data.get("title", name))), []
