"""Telegram, end to end: the real python-telegram-bot Application against a local fake Bot API
server (tests/fake_bot_api.py) over HTTP on 127.0.0.1. No mocks of PTB, no real Telegram.

Every wait is bounded: tests poll the fake server's recorded calls with a timeout.
"""
from __future__ import annotations

import asyncio
import copy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from bot import render
from bot.channels.telegram import COMMANDS, build_application, running
from bot.channels.telegram_runtime import Settings
from bot.logs import install as install_redaction, remove as remove_redaction
from bot.cli import main as cli_main
from bot.messages import Button, Message, Reply
from bot.pause import Switch
from bot.reminders import next_window
from bot.checks import reviewed_date
from bot.store import Store, now
from bot.channels.telegram_answer import answer_view
from tests.fake_bot_api import BOT_ID, BOT_USERNAME, TOKEN, FakeBotApi, parse_html

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = {"en": "Source", "es": "Fuente", "zh": "来源"}
QUESTIONS = {"en": "When is the annual review?", "es": "¿Cuándo es la revisión anual?", "zh": "社保年审是几月份？"}
GUIDE_ME = "guide me through paying social insurance myself"
WELCOME = render.render("welcome", "en", automated=render.say("automated", "en", date=reviewed_date()))


def app_over(settings: Settings, dialogue, **kw):
    """The Application over a dialogue and the store it answers from, both handed in as the CLI does."""
    return build_application(settings, dialogue, dialogue.store, **kw)


# -- fixtures --------------------------------------------------------------------------------------
@pytest.fixture
async def api():
    server = await FakeBotApi().start()
    yield server
    await server.stop()


@pytest.fixture
def settings_for(api):
    def make(**env) -> Settings:
        return Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": api.base_url,
                                  "TELEGRAM_API_BASE_FILE_URL": api.base_file_url, **env})
    return make


@pytest.fixture
def new_dialogue(built_dialogue):
    """A Dialogue sharing the session's knowledge base, over its own store (memory or a file)."""
    stores = []

    def make(path=None):
        d = copy.copy(built_dialogue)
        d.store = Store(path) if path else Store(memory=True)
        stores.append(d.store)
        return d
    yield make
    for store in stores:
        store.close()


@pytest.fixture
def expected(new_dialogue):
    """What the core itself answers a sequence of messages from a fresh user (the reference)."""
    def replies(*messages: Message) -> list[Reply]:
        d = new_dialogue()
        return [d.handle(m) for m in messages]
    return replies


@pytest.fixture
def shown(built_dialogue):
    """What a phone shows of a reply's first message: an answer is its short view (telegram_answer)."""
    def first(reply: Reply) -> str:
        topic = built_dialogue.kb.topics.get(reply.topic or "")
        if reply.kind != "answer" or topic is None:
            return reply.text
        return parse_html(answer_view(reply.text, reply.lang, topic.title[reply.lang], topic.answer[reply.lang])[0])
    return first


@pytest.fixture
async def bot(api, settings_for, new_dialogue):
    """The real Application, long polling the fake server, over an in-memory store."""
    settings = settings_for()
    app = app_over(settings, new_dialogue())
    async with running(app, settings):
        yield app


def text_msg(uid: int, text: str, lang: str | None = "en") -> Message:
    return Message(str(uid), text, lang_hint=lang, channel="telegram", chat=str(uid))


def step_of(sent: dict) -> int:
    """The step number a sent message shows ("Step 2 of 4")."""
    found = re.search(render.say("step_of", "en", k=r"(\d+)", n=r"\d+"), sent["plain"])
    assert found, sent["plain"][:200]
    return int(found.group(1))


async def settle(api: FakeBotApi, app, update_id: int) -> None:
    """Waits until the update was fetched and every fetched update was handled."""
    await api.wait_for(lambda: api.confirmed_below > update_id or any(
        c.method == "getUpdates" and c.params.get("offset", 0) > update_id for c in api.calls),
        what=f"update {update_id} to be fetched")
    await asyncio.wait_for(app.update_queue.join(), 10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- conversations ---------------------------------------------------------------------------------
async def test_start_gets_the_welcome_with_topic_buttons(api, bot, expected):
    api.push_text(1, "/start")
    [sent] = await api.wait_sent(1)
    [reference] = expected(text_msg(1, "/start"))
    assert sent["plain"] == reference.text
    assert sent["parse_mode"] == "HTML"
    ids = [data for _, data in api.buttons(sent)]
    assert ids == [b.id for b in reference.buttons[:3]] + ["kb:more"]  # three options, the rest behind More…
    rows = sent["reply_markup"]["inline_keyboard"]
    assert all(len(row) == 1 for row in rows)


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
async def test_a_new_users_first_reply_says_automated_curated_and_dated_and_the_next_does_not(api, bot, lang):
    intro = render.say("automated", lang, date=reviewed_date())
    api.push_text(40, QUESTIONS[lang], lang=lang)
    [first] = await api.wait_sent(40)
    assert first["plain"].startswith(intro)
    api.push_text(40, QUESTIONS[lang], lang=lang)
    sent = await api.wait_sent(40, 2)
    assert intro not in sent[-1]["plain"] and SOURCE[lang] in sent[-1]["plain"]


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
async def test_a_question_is_answered_in_its_language_with_its_source(api, bot, expected, shown, lang):
    api.push_text(7, QUESTIONS[lang], lang="en")  # the client says English; the message says otherwise
    [sent] = await api.wait_sent(7)
    [reference] = expected(text_msg(7, QUESTIONS[lang]))
    assert reference.lang == lang and reference.kind == "answer"
    assert sent["plain"] == shown(reference)
    assert SOURCE[lang] in sent["plain"]


async def test_a_pressed_button_is_acknowledged_then_answered_in_a_new_message(api, bot):
    api.push_text(2, "How do I pay social insurance myself as a flexible worker?")
    [answer] = await api.wait_sent(2)
    assert "Walk me through it" in dict(api.buttons(answer))
    update_id = api.press(2, "Walk me through it")
    sent = await api.wait_sent(2, 2)
    acks = api.calls_to("answerCallbackQuery")
    assert [c.params["callback_query_id"] for c in acks] == [f"q{update_id}"]
    methods = [c.method for c in api.calls if c.method in ("answerCallbackQuery", "sendMessage")]
    assert methods == ["sendMessage", "answerCallbackQuery", "sendMessage"]  # acknowledged before answering
    assert step_of(sent[1]) == 1
    assert "message_id" not in api.calls_to("sendMessage")[-1].params  # a new message, not an edit


async def test_a_procedure_walked_with_buttons_next_back_cancel_is_one_message_edited(api, bot):
    api.push_text(3, GUIDE_ME)
    [sent] = await api.wait_sent(3)
    assert step_of(sent) == 1
    for n, (label, step) in enumerate((("Next", 2), ("Back", 1), ("Next", 2)), 1):
        api.press(3, label)
        edits = await api.wait_method("editMessageText", n)
        assert step_of(edits[-1].params) == step
        assert edits[-1].params["message_id"] == api.shown(3)[0]["message_id"]
    api.press(3, "Cancel")
    edits = await api.wait_method("editMessageText", 4)
    assert edits[-1].params["plain"].startswith(render.say("cancelled", "en", title="").split('"')[0])
    assert len(api.sent(3)) == 1  # one message, changed four times
    assert len(api.calls_to("answerCallbackQuery")) == 4


async def test_twenty_users_at_once_each_get_their_own_answer(api, bot, expected, shown):
    users = {100 + n: (QUESTIONS[lang], lang) for n, lang in enumerate(["en", "es", "zh"] * 7) if n < 20}
    for uid, (question, lang) in users.items():
        api.push_text(uid, question, lang=lang)
    await api.wait_for(lambda: len(api.sent()) >= 20, what="20 replies")
    for uid, (question, lang) in users.items():
        [sent] = api.sent(uid)
        [reference] = expected(text_msg(uid, question, lang))
        assert sent["plain"] == shown(reference) and SOURCE[lang] in sent["plain"]
    assert len(api.sent()) == 20


async def test_one_users_messages_are_handled_in_order_while_others_run_concurrently(api, bot, expected):
    script = [GUIDE_ME, "next", "next", "back"]
    for text in script:  # queued together, fetched in one getUpdates, handled concurrently
        for uid in (201, 202, 203, 204, 205):
            api.push_text(uid, text)
    for uid in (201, 202, 203, 204, 205):
        sent = await api.wait_sent(uid, len(script), timeout=15)
        reference = expected(*(text_msg(uid, t) for t in script))
        assert [s["plain"] for s in sent] == [r.text for r in reference]
        assert [step_of(s) for s in sent] == [1, 2, 3, 2]
    await asyncio.wait_for(bot.update_queue.join(), 5)
    assert bot.update_processor.active_users == 0  # the per-user locks are cleaned up


async def test_one_slow_message_does_not_stall_other_users(api, settings_for):
    entered, release = threading.Event(), threading.Event()

    class Slow:
        store = Store(memory=True)

        def handle(self, msg):
            if msg.text != "slow":
                return Reply(msg.user, "quick", "en", "answer")
            entered.set()
            release.wait(10)  # held until the test has seen the other user answered (or 10 s)
            return Reply(msg.user, "slow, after the other" if release.is_set() else "slow, alone", "en", "answer")

    settings = settings_for()
    async with running(app_over(settings, Slow()), settings) as app:
        api.push_text(60, "slow")
        await api.wait_for(entered.is_set, what="the slow message being answered")
        api.push_text(61, "quick")
        [quick] = await api.wait_sent(61, timeout=5)
        release.set()
        [slow] = await api.wait_sent(60)
        await asyncio.wait_for(app.update_queue.join(), 5)
    Slow.store.close()
    assert (quick["plain"], slow["plain"]) == ("quick", "slow, after the other")


async def test_an_edited_message_is_answered_like_a_new_one(api, bot):
    api.push_edited(4, QUESTIONS["es"], lang="es")
    [sent] = await api.wait_sent(4)
    assert SOURCE["es"] in sent["plain"]


@pytest.mark.parametrize("lang", ["en", "es"])
async def test_stickers_photos_voice_and_the_rest_get_the_i_read_text_reply(api, bot, lang):
    kinds = ["sticker", "photo", "voice", "video", "audio", "document", "location", "contact"]
    for n, kind in enumerate(kinds):
        api.push_media(300 + n, kind, lang=lang)
    api.push_media(399, "photo", lang=lang, caption="a caption")
    for uid in [*range(300, 300 + len(kinds)), 399]:
        [sent] = await api.wait_sent(uid)
        assert sent["plain"].endswith(render.say("media", lang))  # after the first-message introduction
        assert "🎤" in sent["plain"] and sent["reply_markup"]["inline_keyboard"]  # dictate, or tap a way on


async def test_a_5000_character_message_gets_an_answer(api, bot):
    api.push_text(5, "When is the annual review? " + "a " * 2500)
    [sent] = await api.wait_sent(5)
    assert render.say("too_long", "en") in sent["plain"]
    assert SOURCE["en"] in sent["plain"]


async def test_whatever_the_core_says_cannot_break_the_markup(api, settings_for):
    nasty = '<b>bold</b> & <a href="javascript:x">link</a> &lt; </pre> <tg-spoiler>'

    class Echo:
        store = Store(memory=True)

        def handle(self, msg):
            return Reply(msg.user, f"You said: {msg.text}", "en", "answer", buttons=[Button(msg.text[:20], "x:1")])

    settings = settings_for()
    async with running(app_over(settings, Echo()), settings):
        api.push_text(19, nasty)
        [sent] = await api.wait_sent(19)
    Echo.store.close()
    assert sent["plain"] == f"You said: {nasty}"  # the fake server parsed it as Telegram would
    assert "<b>" not in sent["text"] and "&lt;b&gt;" in sent["text"]
    assert api.buttons(sent) == [(nasty[:20], "x:1")]  # labels are plain text: never escaped twice


async def test_html_a_user_types_is_escaped(api, bot):
    api.push_text(6, "<b>bold</b> & <i>zzqx</i>")
    api.push_text(6, "<script>alert(1)</script> &amp; </pre>")
    sent = await api.wait_sent(6, 2)
    summary = sent[-1]  # two misses: the bot hands over to a person, with a summary of what was asked
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;i&gt;zzqx&lt;/i&gt;" in summary["text"]
    assert "&lt;script&gt;" in summary["text"] and "&amp;amp;" in summary["text"]
    assert "<b>bold</b> & <i>zzqx</i>" in summary["plain"]  # what the user reads is what they typed
    assert "<script>alert(1)</script> &amp; </pre>" in summary["plain"]


# -- groups, channels, everything else ----------------------------------------------------------------
async def test_in_groups_only_commands_mentions_and_replies_to_the_bot_are_answered(api, bot, expected, shown):
    group = -1001
    ignored = [api.push_text(8, "When is the annual review?", chat=group, chat_type="supergroup"),
               api.push_text(8, "/start@some_other_bot", chat=group, chat_type="supergroup"),
               api.push_channel_post(-1002, "When is the annual review?")]
    await settle(api, bot, max(ignored))
    assert api.sent() == []

    api.push_text(8, f"@{BOT_USERNAME} When is the annual review?", chat=group, chat_type="supergroup")
    [answer] = await api.wait_sent(group)
    assert answer["plain"] == shown(expected(text_msg(8, "When is the annual review?"))[0])
    assert answer["reply_parameters"]["message_id"]  # it says whom it answers
    api.push_text(8, "/help", chat=group, chat_type="supergroup")
    bot_message = {"message_id": 999, "date": 1, "chat": api.chat(group, "supergroup"),
                   "from": {"id": BOT_ID, "is_bot": True, "first_name": "socialbot"}, "text": "…"}
    api.push_text(8, "¿Cuándo es la revisión anual?", chat=group, chat_type="supergroup",
                  reply_to_message=bot_message)
    sent = await api.wait_sent(group, 3)
    assert sent[1]["plain"] == render.say("help", "en")
    assert SOURCE["es"] in sent[2]["plain"]
    assert api.sent(-1002) == []


async def test_an_error_is_logged_without_the_token_and_the_user_told(api, bot, caplog):
    flt = install_redaction(TOKEN)
    try:
        api.fail_next("sendMessage", 400, "Bad Request: something broke")
        api.push_text(9, "/start", lang="zh")
        sent = await api.wait_sent(9)
        assert sent[-1]["plain"] == render.say("error", "zh")
        assert "error while handling update" in caplog.text
        assert TOKEN not in caplog.text
    finally:
        remove_redaction(flt)


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # raised inside PTB's RetryAfter
async def test_retry_after_is_waited_out_and_the_message_still_sent(api, bot):
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    api.push_text(10, "/start")
    [sent] = await api.wait_sent(10)
    tries = api.calls_to("sendMessage")
    assert len(tries) == 2 and tries[1].at - tries[0].at >= 1.0
    assert sent["plain"] == WELCOME


async def test_a_reply_over_4096_characters_is_split_at_paragraphs(api, settings_for):
    paragraphs = [f"Paragraph {n}: " + " ".join(["word"] * 180) for n in range(12)]  # ~11,000 characters

    class Long:
        store = Store(memory=True)

        def handle(self, msg):
            return Reply(msg.user, "\n\n".join(paragraphs), "en", "answer",
                         buttons=[Button("Next", "x:next"), Button("Back", "x:back")])

    settings = settings_for()
    async with running(app_over(settings, Long()), settings) as app:
        api.push_text(11, "hello")
        sent = await api.wait_for(lambda: len(api.sent(11)) >= 3 and api.sent(11), what="the parts")
        await asyncio.wait_for(app.update_queue.join(), 5)  # everything handled: nothing more comes
    Long.store.close()
    assert len(api.sent(11)) == 3
    assert all(len(s["plain"]) <= 4096 for s in sent)
    assert all(s["plain"].startswith("Paragraph") and s["plain"].endswith("word") for s in sent)
    assert "\n\n".join(s["plain"] for s in sent) == "\n\n".join(paragraphs)
    assert [bool(s.get("reply_markup")) for s in sent] == [False, False, True]


async def test_commands_are_registered_in_each_language(api, bot):
    calls = api.calls_to("setMyCommands")
    assert sorted(str(c.params.get("language_code")) for c in calls) == ["None", "en", "es", "zh"]
    for call in calls:
        lang = call.params.get("language_code") or "en"
        assert {c["command"]: c["description"] for c in call.params["commands"]} == \
            {name: text[lang] for name, text in COMMANDS.items()}
    assert set(COMMANDS) == {"start", "help", "language", "cancel", "forget", "remind"}


# -- restarts, reminders, retention -----------------------------------------------------------------
async def test_a_restart_keeps_the_users_place_and_answers_no_update_twice(api, settings_for, new_dialogue, tmp_path):
    db = tmp_path / "bot.db"
    settings = settings_for()
    async with running(app_over(settings, new_dialogue(db)), settings) as app:
        api.push_text(12, GUIDE_ME)
        await api.wait_sent(12)
        last_id = api.press(12, "Next")
        [edit] = await api.wait_method("editMessageText")
        assert step_of(edit.params) == 2
        await asyncio.wait_for(app.update_queue.join(), 5)
    # Stopping confirmed what was fetched: the last getUpdates asked for what comes after it.
    assert api.calls_to("getUpdates")[-1].params["offset"] == last_id + 1
    assert api.pending == []

    polls_before = len(api.calls_to("getUpdates"))
    async with running(app_over(settings, new_dialogue(db)), settings) as app:
        await api.wait_for(lambda: len(api.calls_to("getUpdates")) > polls_before, what="polling again")
        api.press(12, "Next")  # the step message from before the restart is still the one that changes
        edits = await api.wait_method("editMessageText", 2)
        assert step_of(edits[-1].params) == 3
        await asyncio.wait_for(app.update_queue.join(), 5)  # everything handled: nothing more comes
    assert len(api.sent(12)) == 1 and len(api.calls_to("editMessageText")) == 2  # nothing answered twice
    assert len(api.calls_to("answerCallbackQuery")) == 2


async def test_an_update_sent_again_after_a_failed_confirm_is_not_applied_twice(api, settings_for, new_dialogue,
                                                                               tmp_path):
    db = tmp_path / "bot.db"
    settings = settings_for()
    async with running(app_over(settings, new_dialogue(db)), settings) as app:
        for n, text in enumerate((GUIDE_ME, "next"), 1):
            last = api.push_text(22, text)
            await api.wait_sent(22, n)
        # Only the third update's confirm may fail: on a slow machine the poll that confirms the second
        # can start after the switch below, and then nothing new is ever fetched.
        await api.wait_for(lambda: api.confirmed_below > last, what="the second update confirmed")
        api.fail_confirms = True  # from here on, Telegram never hears that the next update was fetched
        again = api.push_text(22, "next")
        sent = await api.wait_sent(22, 3)
        assert step_of(sent[-1]) == 3
        await asyncio.wait_for(app.update_queue.join(), 5)
        await api.wait_for(lambda: any(c.method == "getUpdates" and c.status == 500 for c in api.calls),
                           what="a failed confirm")
    assert [u["update_id"] for u in api.pending] == [again]  # unconfirmed: Telegram sends it again
    api.fail_confirms = False
    async with running(app_over(settings, new_dialogue(db)), settings) as app:
        await api.wait_for(lambda: api.confirmed_below > again, what="the update fetched again and confirmed")
        api.push_text(22, "back")
        sent = await api.wait_sent(22, 4)
        await asyncio.wait_for(app.update_queue.join(), 5)
    assert step_of(sent[-1]) == 2  # back from step 3: the "next" sent again did not move the user to step 4
    assert len(api.sent(22)) == 4


async def test_handled_update_ids_are_kept_two_days_then_dropped(api, settings_for, new_dialogue):
    dialogue = new_dialogue()
    store = dialogue.store
    store.db["telegram_updates"].insert_all([{"bot": BOT_ID, "id": 1, "ts": (now() - timedelta(days=3)).isoformat()},
                                             {"bot": BOT_ID, "id": 2, "ts": (now() - timedelta(days=1)).isoformat()}])
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings) as app:
        update_id = api.push_text(25, "/start")
        await api.wait_sent(25)
        assert app.job_queue.get_jobs_by_name("forget-handled")
    assert [r["id"] for r in store.db["telegram_updates"].rows_where(order_by="id")] == [2, update_id]


async def test_a_reply_that_fails_is_sent_again_instead_of_an_apology(api, settings_for, new_dialogue):
    settings = replace(settings_for(), send_backoff=0.05)
    api.drop_next("sendMessage")  # the connection closes before any answer...
    api.fail_next("sendMessage", 500, "Internal Server Error")  # ...then Telegram fails
    async with running(app_over(settings, new_dialogue()), settings) as app:
        api.push_text(23, "/start")
        await api.wait_sent(23)
        await asyncio.wait_for(app.update_queue.join(), 5)
    assert [c.status for c in api.calls_to("sendMessage")] == [0, 500, 200]
    assert [s["plain"] for s in api.sent(23)] == [WELCOME]


async def test_a_slow_send_is_not_followed_by_an_apology(api, settings_for, new_dialogue):
    settings = replace(settings_for(), read_timeout=0.3)
    api.slow_next("sendMessage", 1.5)  # delivered, but answered after the bot stopped waiting
    async with running(app_over(settings, new_dialogue()), settings) as app:
        api.push_text(24, "/start")
        await api.wait_sent(24)
        await asyncio.wait_for(app.update_queue.join(), 5)
        await api.wait_for(lambda: api.finished("sendMessage"), what="every send answered")
    assert [s["plain"] for s in api.sent(24)] == [WELCOME]
    assert len(api.calls_to("sendMessage")) == 1  # and it was not sent twice either


async def test_a_due_reminder_is_sent_at_start_and_set_for_next_year(api, settings_for, new_dialogue, tmp_path):
    dialogue = new_dialogue(tmp_path / "bot.db")
    store = dialogue.store
    moment = now()
    store.set_reminder("13", "es", "13", moment - timedelta(hours=1))
    store.set_reminder("14", "en", "14", moment + timedelta(days=30))  # not yet
    store.set_reminder("console", "en", None, moment - timedelta(days=1))  # not a Telegram chat
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings) as app:
        [sent] = await api.wait_sent(13)
        assert sent["plain"] == render.say("remind_message", "es")
        await api.wait_for(lambda: store.reminders()[0]["user"] != "13" or None, what="the reschedule")
        assert app.job_queue.get_jobs_by_name("reminders")
    rows = {r["user"]: r for r in store.reminders(pending_only=False)}
    assert rows["13"]["due"] == next_window(moment).isoformat(timespec="seconds")
    assert rows["13"]["sent"] is None and rows["14"]["sent"] is None
    assert api.sent(14) == []
    assert len(api.sent()) == 1


async def test_an_undeliverable_reminder_waits_a_year_and_a_failed_one_is_retried(api, settings_for, new_dialogue):
    dialogue = new_dialogue()
    store = dialogue.store
    moment = now()
    store.set_reminder("20", "en", "20", moment - timedelta(hours=2))  # sent first: the user blocked the bot
    store.set_reminder("21", "en", "21", moment - timedelta(hours=1))  # then the network fails
    api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    api.fail_next("sendMessage", 502, "Bad Gateway")
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings) as app:
        await api.wait_method("sendMessage", 2)
        await api.wait_for(lambda: store.reminders()[0]["user"] == "21", what="the blocked one rescheduled")
        assert app.job_queue.get_jobs_by_name("reminders")
    rows = {r["user"]: r for r in store.reminders()}
    assert rows["20"]["due"] == next_window(moment).isoformat(timespec="seconds")
    assert datetime.fromisoformat(rows["21"]["due"]) < moment  # still due: the next run tries again
    assert api.sent() == []


async def test_a_reminder_asked_for_on_telegram_goes_to_that_chat(api, settings_for, new_dialogue):
    dialogue = new_dialogue()
    dialogue.clock = lambda: datetime(2025, 6, 10, tzinfo=timezone.utc)  # before the window opens
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings):
        api.push_text(15, "/remind", lang="zh")
        await api.wait_sent(15)
    [row] = dialogue.store.reminders()
    assert (row["user"], row["chat"]) == ("15", "15")


async def test_old_questions_are_purged_at_start(api, settings_for, new_dialogue):
    dialogue = new_dialogue()
    store = dialogue.store
    store.db["unanswered"].insert({"user": "u", "lang": "en", "text": "old", "kind": "fallback",
                                   "candidates": "[]", "ts": (now() - timedelta(days=40)).isoformat()})
    store.record_unanswered("u", "en", "recent", "fallback", [])
    settings = settings_for(SOCIALBOT_RETENTION_DAYS="30")
    async with running(app_over(settings, dialogue), settings):
        await api.wait_method("getUpdates")
    assert [r["text"] for r in store.unanswered()] == ["recent"]


# -- the pause switch ---------------------------------------------------------------------------------
async def test_socialbot_pause_makes_the_bot_answer_only_with_the_contact(api, settings_for, new_dialogue, tmp_path):
    db = str(tmp_path / "bot.db")
    dialogue = new_dialogue(db)
    dialogue.switch = Switch(env={}, check_every=0)  # reads the database before every message
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings):
        api.push_text(40, QUESTIONS["zh"])
        [answer] = await api.wait_sent(40)
        assert SOURCE["zh"] in answer["plain"]
        assert cli_main(["pause", "--db", db]) == 0  # another process, the same file
        for lang, uid in (("zh", 40), ("es", 41)):
            api.push_text(uid, QUESTIONS[lang], lang="en")
        api.push_text(42, "/start", lang="es")
        for lang, uid, count in (("zh", 40, 2), ("es", 41, 1), ("es", 42, 1)):
            sent = (await api.wait_sent(uid, count))[-1]
            assert sent["plain"].startswith(render.say("paused", lang)) and "12333" in sent["plain"]
            assert not sent.get("reply_markup")
        assert cli_main(["resume", "--db", db]) == 0
        api.push_text(41, QUESTIONS["es"], lang="es")
        sent = await api.wait_sent(41, 2)
        assert SOURCE["es"] in sent[-1]["plain"]


# -- webhook ---------------------------------------------------------------------------------------
async def test_webhook_mode_checks_the_secret_on_every_request(api, settings_for, new_dialogue):
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = settings_for(TELEGRAM_WEBHOOK_URL=url, TELEGRAM_WEBHOOK_SECRET="s3cret-Token_1",
                            TELEGRAM_WEBHOOK_PORT=str(port))
    async with running(app_over(settings, new_dialogue()), settings) as app:
        [hook] = api.calls_to("setWebhook")
        assert hook.params["url"] == url and hook.params["secret_token"] == "s3cret-Token_1"
        assert api.calls_to("getUpdates") == []
        assert await api.post_to_webhook({"message": api.message(16, "/start")}) == 200
        [sent] = await api.wait_sent(16)
        assert sent["plain"] == WELCOME
        assert await api.post_to_webhook({"message": api.message(17, "/start")}, secret="wrong") == 403
        assert await api.post_to_webhook({"message": api.message(17, "/start")}, secret=None) == 403
        await asyncio.wait_for(app.update_queue.join(), 5)  # everything handled: nothing more comes
    assert api.sent(17) == []


def test_settings_read_from_the_environment():
    s = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://example.org/tg/x1"})
    assert s.url_path == "tg/x1" and s.webhook_secret and len(s.webhook_secret) >= 32  # never unchecked
    assert TOKEN not in repr(s)
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        Settings.from_env({})
    with pytest.raises(ValueError, match="SECRET"):
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_URL": "https://example.org/",
                           "TELEGRAM_WEBHOOK_SECRET": "has spaces"})


# -- the real command --------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, sig", [(["telegram"], signal.SIGTERM), ([], signal.SIGINT)],
                         ids=["socialbot-telegram-SIGTERM", "socialbot-SIGINT"])
async def test_the_socialbot_command_answers_and_stops_cleanly_on_a_signal(api, tmp_path, argv, sig):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    env.update(TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, SOCIALBOT_LOG="DEBUG",
               TELEGRAM_API_BASE_FILE_URL=api.base_file_url, SOCIALBOT_DB=str(tmp_path / "bot.db"))
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", *argv, cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await api.wait_method("getUpdates", timeout=30)
        api.push_text(18, "/start")
        [sent] = await api.wait_sent(18, timeout=15)
        assert sent["plain"] == WELCOME
        proc.send_signal(sig)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    log = err.decode()
    assert proc.returncode == 0, log[-2000:]
    assert "getUpdates" in log  # DEBUG logging was on...
    assert TOKEN not in log and TOKEN.split(":")[1] not in log  # ...and never showed the token
    assert (tmp_path / "bot.db").exists()
    assert api.calls_to("getUpdates")[-1].params["offset"] > 0  # the answered update was confirmed


def test_without_a_token_the_command_says_so(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    done = subprocess.run([sys.executable, "-m", "bot.cli", "telegram", "--db", str(tmp_path / "x.db")], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "TELEGRAM_BOT_TOKEN" in done.stderr


async def test_a_refused_token_ends_the_command_with_status_1(api, tmp_path):
    wrong = "987654321:AAHwrongTOKENwrongTOKENwrong_0123456"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "SOCIALBOT_"))}
    env.update(TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_BASE_URL=api.base_url, SOCIALBOT_LOG="DEBUG")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot.cli", "telegram", "--db",
                                                str(tmp_path / "x.db"), cwd=ROOT, env=env,
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    assert "refused the token" in err.decode() and wrong.split(":")[1] not in err.decode()
