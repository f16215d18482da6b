"""Reminders that fit the calendar: /remind while the review window (September to December, per the
documents) is open says so and offers to start now or be reminded next year; the reminder itself
carries "Start now" and "Stop reminders". Under a fake clock, through the core."""
from __future__ import annotations

import copy
from datetime import date, datetime, timezone

import pytest

from bot import render
from bot.reminders import REMINDER_HOUR_UTC, open_until
from bot.remind_view import until_text

UTC = timezone.utc
ASK = {"en": "remind me", "es": "avísame", "zh": "提醒我"}
UNTIL = {"en": "until the end of December", "es": "hasta finales de diciembre", "zh": "截止到12月底"}


def at(y, m, d, h=12) -> datetime:
    return datetime(y, m, d, h, tzinfo=UTC)


@pytest.fixture
def core(dialogue):
    dialogue.clock = lambda: at(2025, 10, 15)  # the window is open
    return dialogue


@pytest.mark.parametrize("now,until", [
    (at(2025, 6, 10), None), (at(2025, 9, 1, 0), None), (at(2025, 9, 1, REMINDER_HOUR_UTC), date(2025, 12, 31)),
    (at(2025, 10, 15), date(2025, 12, 31)), (at(2025, 12, 31, 23), date(2025, 12, 31)), (at(2026, 1, 1, 0), None),
])
def test_open_until_the_default_window(now, until):
    assert open_until(now, {}) == until


def test_a_window_over_new_year_and_a_closing_from_the_environment():
    env = {"SOCIALBOT_REVIEW_OPENS": "11-01", "SOCIALBOT_REVIEW_CLOSES": "02-15"}
    assert open_until(at(2026, 1, 20), env) == date(2026, 2, 15)
    assert open_until(at(2025, 11, 2), env) == date(2026, 2, 15)
    assert open_until(at(2026, 3, 1), env) is None
    assert open_until(at(2025, 10, 1), {"SOCIALBOT_REVIEW_CLOSES": "10-31"}) == date(2025, 10, 31)


@pytest.mark.parametrize("end,lang,text", [
    (date(2025, 12, 31), "en", "the end of December"), (date(2025, 12, 31), "es", "finales de diciembre"),
    (date(2025, 12, 31), "zh", "12月底"), (date(2026, 2, 15), "en", "February 15"),
    (date(2026, 2, 15), "es", "el 15 de febrero"), (date(2026, 2, 15), "zh", "2月15日"),
    (date(2024, 2, 29), "en", "the end of February"),
])
def test_until_text(end, lang, text):
    assert until_text(end, lang) == text


@pytest.mark.parametrize("lang", ASK)
@pytest.mark.parametrize("how", ["command", "words"])
def test_asked_while_open_it_says_so_and_offers_start_now_or_next_year(core, lang, how):
    core.say("u", f"/language {lang}")
    reply = core.say("u", "/remind" if how == "command" else ASK[lang])
    assert (reply.kind, reply.lang) == ("command", lang) and UNTIL[lang] in reply.text
    assert [b.id for b in reply.buttons] == ["flow:enterprise_review:start", "remind:next"]
    assert [b.label for b in reply.buttons] == [render.say("start_now", lang), render.say("remind_next_year", lang)]
    assert core.store.reminders() == []  # nothing set until they say which

    later = core.say("u", render.say("remind_next_year", lang))  # typing the label is pressing it
    assert "2026-09-01" in later.text and core.store.reminder("u")["due"].startswith("2026-09-01")


def test_start_now_starts_the_procedure(core):
    core.say("u", "/remind")
    reply = core.say("u", "Start now")
    assert (reply.kind, reply.flow) == ("step", "enterprise_review")


def test_before_the_window_it_is_set_as_before(dialogue):
    dialogue.clock = lambda: at(2025, 6, 10)
    reply = dialogue.say("u", "/remind")
    assert reply.text.endswith(render.say("remind_on", "en", date="2025-09-01")) and dialogue.store.reminder("u")


@pytest.mark.parametrize("lang", ASK)
def test_the_reminder_carries_start_now_and_stop_reminders(core, lang):
    core.say("u", f"/language {lang}")
    core.say("u", button="remind:next")
    reminder = core.reminder("u", lang)
    assert reminder.text == render.say("remind_message", lang) and reminder.lang == lang
    assert [(b.label, b.id) for b in reminder.buttons] == [
        (render.say("start_now", lang), "flow:enterprise_review:start"), (render.say("stop_reminders", lang), "remind:off")]
    stopped = core.say("u", button="remind:off")
    assert stopped.text == render.say("remind_off", lang) and core.store.reminder("u") is None
