"""`reviewed_on`: the day a curator last checked a topic or procedure against its sources.

A public service must say how old its content is, and curators need to know what is due
for another look: the oldest date is "the content's date", and a date older than
SOCIALBOT_REVIEW_MAX_DAYS is worth a warning (not a failure: old but checked content is
still right until a source changes).
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from datetime import date

FIELD = "reviewed_on"
MAX_DAYS_ENV = "SOCIALBOT_REVIEW_MAX_DAYS"
DEFAULT_MAX_DAYS = 365
_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def review_date(value) -> date | None:
    """The date a reviewed_on value names, or None when it is not a real YYYY-MM-DD day.

    YAML reads an unquoted 2026-12-06 as a date and a quoted one as text: both are fine.
    """
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not _SHAPE.match(value.strip()):
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        return None


def review_problem(value, today: date | None = None) -> str | None:
    """What is wrong with a reviewed_on value, in a curator's words; None when it is right."""
    if value is None:
        return "missing: the date (YYYY-MM-DD) a curator last checked this against its sources"
    day = review_date(value)
    if day is None:
        return f"{value!r} is not a date written YYYY-MM-DD"
    if day > (today or date.today()):
        return f"{day.isoformat()} is in the future: write the day it was checked"
    return None


def max_days(env: Mapping[str, str] | None = None) -> int:
    """How many days a review stays fresh (SOCIALBOT_REVIEW_MAX_DAYS, 365 unless set to a whole number)."""
    raw = (os.environ if env is None else env).get(MAX_DAYS_ENV, "").strip()
    return int(raw) if raw.isdigit() else DEFAULT_MAX_DAYS


def stale(dated: Iterable[tuple[str, object]], today: date, days: int) -> list[str]:
    """A warning for each (name, reviewed_on) checked more than `days` days before today."""
    warnings = []
    for name, value in dated:
        day = review_date(value)
        if day is not None and (today - day).days > days:
            warnings.append(f"{name}: {FIELD}: last checked {day.isoformat()}, "
                            f"{(today - day).days} days ago (more than {days}): check it against its sources again")
    return warnings


def content_date(values: Iterable[object]) -> str | None:
    """The content's date: the oldest reviewed_on, since the content is only as current as that."""
    days = [d for d in (review_date(v) for v in values) if d is not None]
    return min(days).isoformat() if days else None
