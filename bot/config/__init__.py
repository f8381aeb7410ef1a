"""Configuration: deskwatch.toml and watch files → validated, frozen `Settings`.

files.py reads them, schema.py and watch.py are the one validator (pydantic models), load.py
joins them, check.py adds `check-config`'s warnings, reference.py writes the README's reference.
"""

from bot.config.errors import ConfigError
from bot.config.fields import check_schedule, check_timezone
from bot.config.load import config_path, load_settings, settings_from_dict

__all__ = ["ConfigError", "check_schedule", "check_timezone", "config_path", "load_settings", "settings_from_dict"]
