"""When the annual review reminder is due: the next opening of the review window.

The window opens on September 1 by default (the documents: usually September to December);
SOCIALBOT_REVIEW_OPENS="MM-DD" moves it for a locality that opens at another date.
"""
from __future__ import annotations

import calendar
import os
from datetime import datetime, timezone

REMINDER_HOUR_UTC = 1  # 09:00 in China: a civil hour to receive a message


def opening(env: dict | None = None) -> tuple[int, int]:
    raw = (env if env is not None else os.environ).get("SOCIALBOT_REVIEW_OPENS", "09-01")
    try:
        month, day = (int(x) for x in raw.split("-"))
        datetime(2024, month, day)  # a leap year accepts every real date
        return month, day
    except ValueError:
        return 9, 1


def next_window(now: datetime, env: dict | None = None) -> datetime:
    """The first opening strictly after `now` (February 29 opens on February 28 in a common year)."""
    month, day = opening(env)
    for year in (now.year, now.year + 1):
        last = calendar.monthrange(year, month)[1]
        due = datetime(year, month, min(day, last), REMINDER_HOUR_UTC, tzinfo=timezone.utc)
        if due > now:
            return due
    raise AssertionError("unreachable: a date recurs within a year")


def due(reminders: list[dict], now: datetime) -> list[dict]:
    """The stored reminders whose time has come."""
    return [r for r in reminders if datetime.fromisoformat(r["due"]) <= now]
