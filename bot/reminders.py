"""When the annual review reminder is due: the next opening of the review window.

The window opens on September 1 by default (the documents: usually September to December);
SOCIALBOT_REVIEW_OPENS="MM-DD" moves it for a locality that opens at another date.
"""
from __future__ import annotations

import calendar
import os
from datetime import date, datetime, timezone

REMINDER_HOUR_UTC = 1  # 09:00 in China: a civil hour to receive a message


def _month_day(env: dict | None, name: str, default: tuple[int, int]) -> tuple[int, int]:
    raw = (env if env is not None else os.environ).get(name, "")
    try:
        month, day = (int(x) for x in raw.split("-"))
        datetime(2024, month, day)  # a leap year accepts every real date
        return month, day
    except ValueError:
        return default


def opening(env: dict | None = None) -> tuple[int, int]:
    return _month_day(env, "SOCIALBOT_REVIEW_OPENS", (9, 1))


def closing(env: dict | None = None) -> tuple[int, int]:
    """The window's last day (the documents: usually until December), SOCIALBOT_REVIEW_CLOSES="MM-DD"."""
    return _month_day(env, "SOCIALBOT_REVIEW_CLOSES", (12, 31))


def _day(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def open_until(now: datetime, env: dict | None = None) -> date | None:
    """The window's last day when `now` is inside it (from its opening reminder on), else None."""
    (om, od), (cm, cd) = opening(env), closing(env)
    for year in (now.year - 1, now.year):
        end_year = year if (cm, cd) >= (om, od) else year + 1  # a window may run over New Year
        start = datetime(year, om, _day(year, om, od).day, REMINDER_HOUR_UTC, tzinfo=timezone.utc)
        end = _day(end_year, cm, cd)
        if start <= now and now.date() <= end:
            return end
    return None


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
