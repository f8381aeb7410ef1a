"""The day an article's link names in its path (/2025/01/28/, /2024-11-05-, /20241105/), for
entries whose feed gives no date: many sites file articles under their publication day.

Only a whole date counts (year, month and day, each valid); a year and month alone, a number
that might be a timestamp, or a date in the query string or host do not. Pure.
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import urlsplit

# Year 2000-2049, then month and day with one separator repeated (or none), bounded by non-digits.
_YMD = re.compile(r"(?<![0-9])(20[0-4][0-9])([/_.-]?)(0[1-9]|1[0-2])\2([0-3][0-9])(?![0-9])")


def url_date(url: str) -> date | None:
    """The first valid date written in the link's path, or None."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    for m in _YMD.finditer(path):
        try:
            return date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        except ValueError:  # 2024/02/30: a number shaped like a date, not one
            continue
    return None
