"""Annual review reminders: when the window opens (bot/reminders.py under a fake clock), and that a
subscription is stored in the user's language, survives a restart, is due at the right time (not
before) and can be cancelled."""
from __future__ import annotations

import calendar
import copy
from datetime import datetime, timedelta, timezone

import pytest

from bot import render
from bot.dialogue import Dialogue, Turn
from bot.messages import Message
from bot.reminders import REMINDER_HOUR_UTC, due, next_window, opening
from bot.store import Store

UTC = timezone.utc
QUESTION = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
ASK = {"en": "remind me", "es": "avísame", "zh": "提醒我"}


def at(y, m, d, h=0, mi=0, s=0) -> datetime:
    return datetime(y, m, d, h, mi, s, tzinfo=UTC)


SEPT = {}  # the default: September 1


# -- next_window ------------------------------------------------------------------------------------
@pytest.mark.parametrize("now,expected", [
    (at(2025, 1, 1), at(2025, 9, 1, REMINDER_HOUR_UTC)),
    (at(2025, 8, 31, 23, 59, 59), at(2025, 9, 1, REMINDER_HOUR_UTC)),
    (at(2025, 9, 1, 0, 59, 59), at(2025, 9, 1, REMINDER_HOUR_UTC)),
    (at(2025, 9, 1, REMINDER_HOUR_UTC), at(2026, 9, 1, REMINDER_HOUR_UTC)),  # strictly after now
    (at(2025, 9, 1, 12), at(2026, 9, 1, REMINDER_HOUR_UTC)),
    (at(2025, 12, 31, 23, 59), at(2026, 9, 1, REMINDER_HOUR_UTC)),
    (at(2024, 2, 29, 12), at(2024, 9, 1, REMINDER_HOUR_UTC)),
])
def test_next_window_september_first(now, expected):
    assert next_window(now, SEPT) == expected


def test_next_window_in_another_time_zone():
    shanghai = timezone(timedelta(hours=8))
    # 08:59 in Shanghai on September 1 is 00:59 UTC: the reminder (09:00 Shanghai) is still ahead
    assert next_window(datetime(2025, 9, 1, 8, 59, tzinfo=shanghai), SEPT) == at(2025, 9, 1, REMINDER_HOUR_UTC)
    assert next_window(datetime(2025, 9, 1, 9, 0, tzinfo=shanghai), SEPT) == at(2026, 9, 1, REMINDER_HOUR_UTC)


@pytest.mark.parametrize("raw,expected", [
    ("09-01", (9, 1)), ("03-15", (3, 15)), ("12-31", (12, 31)), ("02-29", (2, 29)), (" 10-08 ", (10, 8)),
    ("", (9, 1)), ("13-01", (9, 1)), ("00-10", (9, 1)), ("02-30", (9, 1)), ("04-31", (9, 1)), ("abc", (9, 1)),
    ("9/1", (9, 1)), ("09-01-2025", (9, 1)), ("-1-5", (9, 1)), ("09", (9, 1)), ("０９-０１", (9, 1)),
])
def test_opening_from_the_environment(raw, expected):
    assert opening({"SOCIALBOT_REVIEW_OPENS": raw}) == expected


def test_opening_default():
    assert opening({}) == (9, 1)


@pytest.mark.parametrize("raw", ["13-01", "02-30", "abc", ""])
def test_a_bad_value_falls_back_to_september_first(raw):
    assert next_window(at(2025, 6, 1), {"SOCIALBOT_REVIEW_OPENS": raw}) == at(2025, 9, 1, REMINDER_HOUR_UTC)


def test_another_opening_date():
    env = {"SOCIALBOT_REVIEW_OPENS": "03-15"}
    assert next_window(at(2025, 3, 14), env) == at(2025, 3, 15, REMINDER_HOUR_UTC)
    assert next_window(at(2025, 9, 1), env) == at(2026, 3, 15, REMINDER_HOUR_UTC)


def test_february_29_in_a_leap_year():
    env = {"SOCIALBOT_REVIEW_OPENS": "02-29"}
    assert next_window(at(2024, 1, 15), env) == at(2024, 2, 29, REMINDER_HOUR_UTC)
    assert next_window(at(2024, 2, 29), env) == at(2024, 2, 29, REMINDER_HOUR_UTC)
    assert next_window(at(2027, 3, 1), env) == at(2028, 2, 29, REMINDER_HOUR_UTC)


@pytest.mark.parametrize("now", [
    at(2024, 3, 1), at(2025, 3, 1), at(2026, 3, 1), at(2027, 2, 28),
    at(2027, 3, 1), at(2028, 1, 1), at(2028, 2, 29),
])
def test_february_29_comes_every_year(now):
    """An annual review is annual: an opening on February 29 is at most a year away, on the last
    day of February."""
    got = next_window(now, {"SOCIALBOT_REVIEW_OPENS": "02-29"})
    assert now < got <= now + timedelta(days=366)
    assert (got.month, got.day) == (2, 29 if calendar.isleap(got.year) else 28)


# -- due ----------------------------------------------------------------------------------------------
def test_due_is_never_early():
    rows = [{"user": "a", "due": "2025-09-01T01:00:00+00:00"}, {"user": "b", "due": "2026-09-01T01:00:00+00:00"}]
    assert due(rows, at(2025, 9, 1, 0, 59, 59)) == []
    assert [r["user"] for r in due(rows, at(2025, 9, 1, 1))] == ["a"]
    assert [r["user"] for r in due(rows, at(2030, 1, 1))] == ["a", "b"]


# -- subscribing through the dialogue ---------------------------------------------------------------
NOW = at(2025, 6, 10, 8)  # a fake clock: June 10, 2025
WINDOW = at(2025, 9, 1, REMINDER_HOUR_UTC)


@pytest.fixture(scope="module")
def built():
    return Dialogue(Store(memory=True))


def make(built, store: Store, clock=lambda: NOW) -> Dialogue:
    d = copy.copy(built)
    d.store = store
    d.clock = clock
    return d


@pytest.fixture
def core(built):
    d = make(built, Store(memory=True))
    yield d
    d.store.close()


@pytest.mark.parametrize("lang", QUESTION)
def test_remind_button_under_annual_review_answers(core, lang):
    answer = core.say("u", QUESTION[lang])
    assert answer.kind == "answer"
    button = next(b for b in answer.buttons if b.id == "remind:on")
    assert button.label == render.say("remind_button", lang)
    reply = core.say("u", button="remind:on")
    assert (reply.kind, reply.lang) == ("command", lang)
    assert reply.text == render.say("remind_on", lang, date="2025-09-01")
    (row,) = core.store.reminders()
    assert (row["user"], row["lang"], row["due"], row["sent"]) == ("u", lang, WINDOW.isoformat(), None)


RETIREE = {"en": "How do I do the annual review certification with Alipay?", "es": "¿Cómo hago la revisión anual con Alipay?",
           "zh": "怎么用支付宝做社保年审认证？"}


@pytest.mark.parametrize("lang", QUESTION)
def test_the_reminder_is_offered_only_under_the_companies_review_whose_window_it_is(core, lang):
    offered = {tid for tid, topic in core.kb.topics.items()
               if "remind:on" in [b.id for b in core._answer(topic, Turn(core.store.user("u"), lang)).buttons]}
    assert offered == {"review-months", "review-checks", "review-materials-process"}
    for tid in ("annual-review-alipay", "annual-review-app", "online-certification"):  # a retiree's: no dated window
        assert tid not in offered and core.kb.topics[tid].kind == "answer"
    company = {"en": "nterprise", "es": "empresas", "zh": "企业"}[lang]  # and it says whose window it is
    assert all(company in render.say(key, lang, date="2025-09-01", until="") for key in
               ("remind_on", "remind_message", "window_open", "menu_remind"))


@pytest.mark.parametrize("lang", QUESTION)
def test_a_retiree_asking_to_be_reminded_is_told_what_it_reminds_of(core, lang):
    answer = core.say("u", RETIREE[lang])
    assert answer.topic == "annual-review-alipay" and "remind:on" not in [b.id for b in answer.buttons]
    reply = core.say("u", ASK[lang])
    assert reply.text == render.say("remind_personal", lang) + "\n\n" + render.say("remind_on", lang, date="2025-09-01")
    company = make(core, Store(memory=True))
    company.say("c", QUESTION[lang])
    assert company.say("c", ASK[lang]).text == render.say("remind_on", lang, date="2025-09-01")  # nothing to add
    company.store.close()


@pytest.mark.parametrize("lang", QUESTION)
@pytest.mark.parametrize("how", ["command", "words", "label"])
def test_subscribe_and_cancel_in_each_language(core, lang, how):
    core.say("u", QUESTION[lang])
    text = {"command": "/remind", "words": ASK[lang], "label": render.say("remind_button", lang)}[how]
    reply = core.say("u", text)
    assert (reply.kind, reply.lang) == ("command", lang) and "2025-09-01" in reply.text
    assert core.store.reminder("u")["lang"] == lang

    reply = core.say("u", "/remind off")
    assert (reply.kind, reply.lang, reply.text) == ("command", lang, render.say("remind_off", lang))
    assert core.store.reminder("u") is None
    reply = core.say("u", "/remind off")
    assert reply.text == render.say("remind_none", lang)


def test_the_chat_to_send_to_is_kept(core):
    core.handle(Message(user="u", text=QUESTION["zh"], chat="987654"))
    core.handle(Message(user="u", button="remind:on"))
    assert core.store.reminder("u")["chat"] == "987654"


def test_subscribing_again_moves_nothing_but_the_date(built):
    store = Store(memory=True)
    make(built, store).say("u", "/remind")
    later = make(built, store, clock=lambda: at(2025, 9, 2))
    asked = later.say("u", "/remind")  # the window is open: asked, not moved silently
    assert [b.id for b in asked.buttons][-1] == "remind:next"
    later.say("u", button="remind:next")
    assert [(r["user"], r["due"]) for r in store.reminders()] == [("u", at(2026, 9, 1, REMINDER_HOUR_UTC).isoformat())]


def test_the_opening_date_from_the_environment(core, monkeypatch):
    monkeypatch.setenv("SOCIALBOT_REVIEW_OPENS", "07-01")
    reply = core.say("u", "/remind")
    assert "2025-07-01" in reply.text
    assert core.store.reminder("u")["due"] == at(2025, 7, 1, REMINDER_HOUR_UTC).isoformat()


def test_reminders_survive_a_restart_and_are_due_on_time(built, tmp_path):
    path = tmp_path / "socialbot.db"
    store = Store(path)
    core = make(built, store)
    core.say("es-user", QUESTION["es"])
    core.say("es-user", button="remind:on")
    core.say("zh-user", QUESTION["zh"])
    core.say("zh-user", "提醒我")
    core.say("gone", "/remind")
    core.say("gone", "/remind off")
    store.close()

    store = Store(path)  # a new process, say
    assert {(r["user"], r["lang"]) for r in store.reminders()} == {("es-user", "es"), ("zh-user", "zh")}
    assert store.due_reminders(NOW) == []
    assert store.due_reminders(WINDOW - timedelta(seconds=1)) == []
    assert due(store.reminders(), WINDOW - timedelta(seconds=1)) == []
    assert {r["user"] for r in store.due_reminders(WINDOW)} == {"es-user", "zh-user"}
    assert {r["user"] for r in due(store.reminders(), WINDOW)} == {"es-user", "zh-user"}
    # what the channel sends, in each user's language
    texts = {r["user"]: render.say("remind_message", r["lang"]) for r in store.due_reminders(WINDOW)}
    assert texts["es-user"] != texts["zh-user"] and all(texts.values())

    store.mark_reminder_sent("es-user")  # sent, done
    store.mark_reminder_sent("zh-user", next_due=next_window(WINDOW))  # sent, and again next year
    assert [r["user"] for r in store.due_reminders(WINDOW)] == []
    assert [r["user"] for r in store.due_reminders(at(2026, 9, 1, REMINDER_HOUR_UTC))] == ["zh-user"]
    assert [r["user"] for r in store.reminders(pending_only=False)] == ["es-user", "zh-user"]
    store.close()


def test_a_due_time_in_another_zone_is_compared_in_utc(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    store.set_reminder("u", "en", None, WINDOW)
    shanghai = timezone(timedelta(hours=8))
    assert store.due_reminders(datetime(2025, 9, 1, 8, 59, 59, tzinfo=shanghai)) == []
    assert len(store.due_reminders(datetime(2025, 9, 1, 9, 0, tzinfo=shanghai))) == 1
    store.close()


def test_reminder_strings_exist_in_every_language():
    for key in ("remind_on", "remind_off", "remind_none", "remind_message", "remind_button"):
        texts = [render.say(key, lang, date="2025-09-01") for lang in QUESTION]
        assert all(texts) and len(set(texts)) == 3, key
