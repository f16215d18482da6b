"""Telegram as a phone shows it, end to end over HTTP against the fake Bot API server: where the
controls sit, and "More…". The real Application, as in tests/test_telegram.py."""
from __future__ import annotations

import asyncio
import copy
import html
import re

import pytest

from bot import buttons as bt
from bot import render
from conversations.events import SIMPLE
from conversations import words
from bot.store import Store
from knowledge.language import LANGS
from tests.fake_bot_api import FakeBotApi, parse_html
# The real Application long polling the fake server, as in test_telegram.py.
from tests.test_telegram import api, bot, new_dialogue, settings_for  # noqa: F401  (fixtures)


def step_of(text: str, lang: str) -> tuple[int, int] | None:
    """(k, n) of the "Step k of n" a message shows, or None."""
    pattern = re.escape(render.say("step_of", lang, k=991, n=992)).replace("991", r"(\d+)").replace("992", r"(\d+)")
    found = re.search(pattern, text)
    return (int(found.group(1)), int(found.group(2))) if found else None


def rows(message: dict) -> list[list[tuple[str, str]]]:
    markup = message.get("reply_markup") or {}
    return [[(b["text"], b["callback_data"]) for b in row] for row in markup.get("inline_keyboard", [])]


async def changed(api: FakeBotApi, chat: int, before: int) -> dict:
    """Waits for the bot's next message or edit in `chat`; returns the last message as shown now."""
    await api.wait_for(lambda: len([c for c in api.calls if c.method in ("sendMessage", "editMessageText",
                                                                         "editMessageReplyMarkup")
                                    and c.params.get("chat_id") == chat]) > before, what=f"a change in {chat}")
    return api.shown(chat)[-1]


def changes(api: FakeBotApi, chat: int) -> int:
    return len([c for c in api.calls if c.method in ("sendMessage", "editMessageText", "editMessageReplyMarkup")
                and c.params.get("chat_id") == chat])


async def walk(api: FakeBotApi, chat: int, flow, lang: str) -> list[dict]:
    """Starts `flow` in `lang` and goes forward to its end: the right-hand button of the fixed row
    when it moves on, else the first option. Returns each step as shown."""
    api.push_text(chat, "/language " + lang, lang=lang)
    await changed(api, chat, 0)
    before = changes(api, chat)
    api.push_button(chat, bt.encode(bt.Step(flow.id, SIMPLE["start"])), message=api.shown(chat)[-1], lang=lang)
    shown = await changed(api, chat, before)
    steps = []
    for _ in range(30):
        keys = rows(shown)
        if not any(data.startswith(f"flow:{flow.id}:cancel") for row in keys for _, data in row):
            return steps  # the procedure is over
        steps.append(shown)
        forward = keys[-2][1][1]
        data = forward if not forward.startswith("kb:") else keys[0][0][1]
        before = changes(api, chat)
        api.push_button(chat, data, message=shown, lang=lang)
        shown = await changed(api, chat, before)
    raise AssertionError(f"{flow.id} did not end")


async def test_the_bottom_rows_are_back_next_then_cancel_on_every_step_of_every_flow(api, bot, built_dialogue):
    # All walks at once, one chat each: a private chat gets about one message a second.
    walks = [(flow, lang) for flow in built_dialogue.flows.values() for lang in LANGS]
    shown = await asyncio.gather(*(walk(api, 500 + n, flow, lang) for n, (flow, lang) in enumerate(walks)))
    for (flow, lang), steps in zip(walks, shown):
        back, cancel = "◀ " + words.label("back", lang), words.label("cancel", lang)
        assert len(steps) >= 3
        for step in steps:
            keys = rows(step)
            left, right = keys[-2]
            assert left[0] == back, (flow.id, keys)
            assert left[1].startswith(f"flow:{flow.id}:back") or left[1] == "kb:first"
            assert right[0].endswith(" ▶") and right[1].split("@")[0].split(":")[-1] in ("next", "done", "choose")
            assert keys[-1] == [(cancel, keys[-1][0][1])] and keys[-1][0][1].startswith(f"flow:{flow.id}:cancel")
            assert all(len(row) == 1 for row in keys[:-2])  # options one a row
            assert len(keys) - 2 <= 4  # at most three options and More…
        counted = [found for step in steps if (found := step_of(step["text"], lang))]
        assert counted[0][0] == 1 and len({n for _, n in counted}) == 1, (flow.id, lang, counted)
        assert [k for k, _ in counted] == sorted(k for k, _ in counted)  # never goes down


async def test_more_shows_the_hidden_options_on_the_same_message(api, bot, built_dialogue):
    api.push_text(40, "/start")
    [welcome] = await api.wait_sent(40)
    assert rows(welcome)[-1] == [(render.say("kb_more", "en"), "kb:more")]
    api.press(40, "More…")
    await api.wait_method("editMessageReplyMarkup")
    [shown] = api.shown(40)
    labels = [text for row in rows(shown) for text, _ in row]
    assert len(labels) == 1 + len(built_dialogue.flows) and "More…" not in labels
    assert api.calls_to("answerCallbackQuery")[-1].params.get("text") is None
    assert len(api.sent(40)) == 1  # nothing re-sent


async def test_the_stand_ins_of_the_fixed_row_answer_with_a_pop_up(api, bot):
    api.push_text(41, "guide me through the annual review on my phone")
    [step] = await api.wait_sent(41)
    assert rows(step)[-2] == [("◀ Back", "kb:first"), ("Next ▶", "kb:choose")]
    api.press(41, "Next")
    [ack] = await api.wait_method("answerCallbackQuery")
    assert ack.params["text"] == render.say("kb_choose", "en")
    api.press(41, "Back")
    acks = await api.wait_method("answerCallbackQuery", 2)
    assert acks[-1].params["text"] == render.say("kb_first", "en")
    assert len(api.sent(41)) == 1


async def test_more_on_a_message_older_than_what_is_kept_says_it_is_old(api, bot):
    from datetime import timedelta

    from bot.store import KEEP_OFFERS, now

    api.push_text(42, "/start")
    [welcome] = await api.wait_sent(42)
    channel = bot.bot_data["channel"]
    await api.wait_for(lambda: channel.store.offer(42, api.shown(42)[0]["message_id"], "menu"),
                       what="the menu to be kept")  # kept once the send returns
    channel.clock = lambda: now() + KEEP_OFFERS + timedelta(hours=1)  # the hourly clean-up, a month on
    await channel.forget_handled()
    api.press(42, "More…")
    [ack] = await api.wait_method("answerCallbackQuery")
    assert ack.params["text"] == render.say("kb_gone", "en")


async def test_more_on_a_step_reached_in_place_shows_its_options_and_a_tick_keeps_them_shown(api, bot):
    """The third step of paying yourself has four options: it is reached by edits of one message,
    and its "More…" still opens them; ticking the one it hid keeps them open, the tick in sight."""
    api.push_text(43, "/start personal_payment")
    [step] = await api.wait_sent(43)
    for n in (1, 2):
        api.press(43, "Next")
        await api.wait_for(lambda: len(edits(api, 43)) == n, what=f"step {n + 1}")
    assert rows(api.shown(43)[-1])[3] == [(render.say("kb_more", "en"), "kb:more")]
    api.press(43, "More…")
    await api.wait_method("editMessageReplyMarkup")
    hidden = rows(api.shown(43)[-1])[3][0]
    assert hidden[0].startswith("☐ ") and ":tick:" in hidden[1]
    api.press(43, hidden[0])
    await api.wait_for(lambda: len(edits(api, 43)) == 3, what="the tick shown")
    assert rows(api.shown(43)[-1])[3][0] == ("☑ " + hidden[0][2:], hidden[1])
    assert len(api.sent(43)) == 1


@pytest.mark.parametrize("lang", LANGS)
async def test_a_fallback_shows_talk_to_a_person_not_behind_more(api, bot, lang):
    from bot import buttons as bt

    uid = {"en": 44, "es": 45, "zh": 46}[lang]
    api.push_text(uid, {"en": "what is the weather like in Beijing tomorrow", "es": "¿qué tiempo hará mañana en Pekín?",
                        "zh": "明天北京天气怎么样"}[lang], lang=lang)
    [fallback] = await api.wait_sent(uid)
    keys = rows(fallback)
    assert keys[-1] == [(render.say("person_button", lang), bt.encode(bt.Person()))]
    assert len(keys) <= 4 and all(data != "kb:more" for row in keys for _, data in row)


# -- one procedure, one message ----------------------------------------------------------------------
def edits(api: FakeBotApi, chat: int) -> list:
    return [c for c in api.calls_to("editMessageText") if c.params.get("chat_id") == chat and c.status == 200]


async def test_a_procedure_walked_by_buttons_is_one_message_and_n_edits_with_one_live_keyboard(api, bot,
                                                                                             built_dialogue):
    flow = built_dialogue.flows["enterprise_review"]
    steps = await walk(api, 60, flow, "en")
    [language, step] = api.shown(60)  # "/language en", then the procedure's one message
    assert len(edits(api, 60)) == len(steps)  # every press after the first step, and the summary
    assert all(e.params["message_id"] == step_message(api, 60) for e in edits(api, 60))
    assert all(e.params["text"].startswith("<b>" + flow.title["en"] + " · ") for e in edits(api, 60)[:-1])
    assert api.shown(60)[-1]["text"].startswith("✅")
    assert api.live_keyboards(60) == [language["message_id"], step["message_id"]]  # no step but the last


def step_message(api: FakeBotApi, chat: int) -> int:
    return api.shown(chat)[-1]["message_id"]


async def test_a_typed_word_answers_with_a_new_step_and_the_step_before_goes_quiet(api, bot):
    api.push_text(61, "guide me through the company annual review")
    await api.wait_sent(61)
    [first] = api.shown(61)
    api.push_text(61, "next")
    await api.wait_sent(61, 2)
    await api.wait_for(lambda: api.calls_to("editMessageReplyMarkup"), what="the old keyboard removed")
    assert api.live_keyboards(61) == [step_message(api, 61)] and step_message(api, 61) != first["message_id"]
    api.press(61, "Next")  # a button again: the new message changes, no third one
    await api.wait_for(lambda: edits(api, 61), what="an edit")
    assert len(api.sent(61)) == 2 and api.live_keyboards(61) == [step_message(api, 61)]


async def test_a_tick_answers_with_a_pop_up_and_changes_the_step_in_place(api, bot):
    api.push_text(62, "guide me through the company annual review")
    await api.wait_sent(62)
    api.press(62, "Next")
    await api.wait_for(lambda: edits(api, 62), what="step 2")
    item = next(text for row in rows(api.shown(62)[-1]) for text, _ in row if text.startswith("☐ "))
    api.press(62, item)
    await api.wait_for(lambda: len(edits(api, 62)) == 2, what="the tick shown")
    assert api.calls_to("answerCallbackQuery")[-1].params["text"] == "☑ " + item[2:]
    assert ("☑ " + item[2:]) in [text for row in rows(api.shown(62)[-1]) for text, _ in row]
    assert len(api.sent(62)) == 1


async def test_a_vote_is_thanked_in_a_pop_up_and_its_buttons_go(api, bot):
    api.push_text(63, "When is the annual review?")
    [answer] = await api.wait_sent(63)
    api.press(63, "👍")
    await api.wait_method("editMessageReplyMarkup")
    assert api.calls_to("answerCallbackQuery")[-1].params["text"] == render.say("thanks_feedback", "en")
    labels = [text for row in rows(api.shown(63)[-1]) for text, _ in row]
    assert labels and "👍" not in labels and "👎" not in labels
    assert len(api.sent(63)) == 1


async def test_a_button_of_an_older_step_message_is_answered_below_and_goes_quiet(api, bot):
    api.push_text(64, "guide me through the company annual review")
    [first] = await api.wait_sent(64)
    old_next = next(data for row in rows(first) for text, data in row if text == "Next ▶")
    api.push_text(64, "next")
    await api.wait_sent(64, 2)
    api.push_button(64, old_next, message=api.shown(64)[0])  # a stale screen still showed it
    sent = await api.wait_sent(64, 3)
    assert sent[-1]["plain"].startswith(render.say("old_button", "en"))
    await api.wait_for(lambda: api.live_keyboards(64) == [step_message(api, 64)], what="only the newest live")


# -- short messages -----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_no_answers_first_message_is_over_one_screen_and_nothing_is_lost(built_dialogue, lang):
    from bot.channels.telegram_answer import SHORT, answer_view, plain_length, split_answer
    from bot.dialogue import Turn

    dialogue = copy.copy(built_dialogue)
    dialogue.store = Store(memory=True)
    for topic in dialogue.kb.topics.values():
        reply = dialogue._answer(topic, Turn(dialogue.store.user("u"), lang))
        first, rest = answer_view(reply.text, lang, topic.title[lang], topic.answer[lang])
        assert plain_length(first) <= SHORT, (topic.id, plain_length(first))
        assert f"<b>{html.escape(topic.title[lang], quote=False)}</b>\n" in first
        body, sources, _ = split_answer(reply.text, lang)
        shown = parse_html(first) + "\n\n" + (rest or "")
        words = [w for w in re.split(r"\W+", body) if len(w) > 3]
        assert all(w in shown for w in words), topic.id  # what the first message leaves out is in the rest
        assert all(s in (rest or "") for s in sources)
    dialogue.store.close()


async def test_a_long_answer_is_one_screen_with_read_more_below_it(api, bot):
    api.push_text(70, "¿Cómo pago yo mismo la seguridad social como trabajador flexible?", lang="es")
    [first] = await api.wait_sent(70)
    assert len(first["plain"]) <= 600 and "<b>Pagar el seguro social por su cuenta</b>" in first["text"]
    assert rows(first)[0] == [(render.say("kb_read_more", "es"), "kb:rest")]
    assert "📄 Fuente" in first["plain"].split("\n")[-1]  # the sources: one line
    api.press(70, render.say("kb_read_more", "es"))
    sent = await api.wait_sent(70, 2)
    assert "Orientación general" in sent[-1]["plain"] and "Fuente: " in sent[-1]["plain"]
    await api.wait_method("editMessageReplyMarkup")
    assert "kb:rest" not in [data for row in rows(api.shown(70)[0]) for _, data in row]
    api.push_button(70, "kb:rest", message=api.shown(70)[0])  # again, from a stale screen
    acks = await api.wait_method("answerCallbackQuery", 2)
    assert acks[-1].params["text"] == render.say("kb_gone", "es")


@pytest.mark.parametrize("lang", LANGS)
async def test_a_side_question_in_a_procedure_is_the_short_answer_with_the_place_said_first(api, bot, built_dialogue,
                                                                                          lang):
    uid, flow = {"en": 71, "es": 72, "zh": 73}[lang], built_dialogue.flows["personal_payment"]
    api.push_text(uid, "/language " + lang, lang=lang)
    api.push_text(uid, "/start personal_payment", lang=lang)
    api.push_text(uid, {"en": "How do I pay social insurance myself as a flexible worker?",
                        "es": "¿Cómo pago yo mismo la seguridad social como trabajador flexible?",
                        "zh": "灵活就业人员怎么自己交社保？"}[lang], lang=lang)
    aside = (await api.wait_sent(uid, 3))[-1]
    place = render.say("still_in_flow", lang, k=1, title=flow.title[lang])
    assert place in aside["plain"] and len(aside["plain"]) <= 600  # the short answer, its place in sight
    assert rows(aside)[0] == [(render.say("kb_read_more", lang), "kb:rest")]
    assert flow.steps[flow.start].text[lang] not in aside["plain"]  # not the procedure all over again
    answer_id = api.shown(uid)[-1]["message_id"]
    api.press(uid, words.label("continue", lang), lang=lang)
    back = (await api.wait_sent(uid, 4))[-1]
    assert step_of(back["plain"], lang) == (1, 4)  # the step below: the answer is not overwritten
    await api.wait_for(lambda: not any(d.startswith("flow:") for row in rows(api.shown(uid)[2]) for _, d in row),
                       what="the answer's Continue gone")
    answer = api.shown(uid)[2]
    assert answer["message_id"] == answer_id and place in answer["text"]
    assert rows(answer)[0] == [(render.say("kb_read_more", lang), "kb:rest")]  # the rest still to be read
    assert api.live_keyboards(uid)[-1] == api.shown(uid)[-1]["message_id"]


# -- entry from a poster ------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
async def test_a_start_payload_opens_its_procedure_in_the_users_language(api, bot, built_dialogue, lang):
    flow = built_dialogue.flows["enterprise_review"]
    api.push_text(80, "/start enterprise_review", lang=lang)
    [sent] = await api.wait_sent(80)
    assert flow.title[lang] in sent["plain"] and step_of(sent["plain"], lang) == (1, 5)
    heading = html.escape(flow.title[lang], quote=False) + " · " + render.say("step_of", lang, k=1, n=5)
    assert f"<b>{heading}</b>\n" in sent["text"]  # the step's heading bold, as an answer's title
    assert flow.steps[flow.start].text[lang] in sent["plain"]


async def test_a_start_payload_opens_its_topic_and_an_unknown_one_the_welcome(api, bot, built_dialogue):
    topic = built_dialogue.kb.topics["review-months"]
    api.push_text(81, "/start review-months", lang="es")
    [sent] = await api.wait_sent(81)
    assert topic.title["es"] in sent["plain"]
    api.push_text(82, "/start no_such_thing")
    [welcome] = await api.wait_sent(82)
    assert "kb:more" in [data for row in rows(welcome) for _, data in row]  # the main topics
