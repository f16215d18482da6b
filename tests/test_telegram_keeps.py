"""What Telegram keeps for a user: their place (Switch, Stay, Cancel and Undo) and their chosen
language (through a quoted Chinese label), through Telegram: the real Application against the fake Bot API
server over HTTP (tests/fake_bot_api.py), as tests/test_telegram.py does. What the user sees is
read from the messages as they show now, so a step edited in place and a new message both count."""
from __future__ import annotations

import pytest

from bot import render
from tests.test_telegram import api, app_over, bot, new_dialogue, settings_for  # noqa: F401 (fixtures)

USER = 4242


async def shows(api, uid: int, needle: str) -> dict:
    """Waits until the bot's latest message in the chat, as shown now, contains `needle`."""
    def latest():
        shown = api.shown(uid)
        return shown and needle in shown[-1]["text"] and shown[-1]
    return await api.wait_for(latest, what=f"{needle!r} shown to {uid}")


async def test_switching_asks_stay_keeps_and_undo_restores(api, bot):
    api.push_text(USER, "/start")
    await shows(api, USER, render.say("welcome", "en"))
    api.press(USER, "Declare with the client")
    await shows(api, USER, "Declare with the client")
    api.press(USER, "Next")  # to its checklist step
    step = await shows(api, USER, render.say("checklist", "en"))
    ticked = next(label for label, _ in api.buttons(step) if label.startswith("☐"))
    api.press(USER, ticked)
    await api.wait_for(lambda: any(t.startswith("☑") for t, _ in api.buttons(api.shown(USER)[-1])),
                       what="the tick shown")

    api.push_text(USER, "guide me through paying social insurance myself")
    asked = await shows(api, USER, "Pay social insurance yourself")
    assert [label for label, _ in api.buttons(asked)] == ["Switch", "Stay"]
    api.press(USER, "Stay")
    back = await shows(api, USER, render.say("checklist", "en"))
    assert any(t == "☑ " + ticked[2:] for t, _ in api.buttons(back))  # the same place, its tick kept

    api.push_text(USER, "/cancel")
    cancelled = await shows(api, USER, render.say("cancelled", "en", title="").split('"')[0])
    assert api.buttons(cancelled)[0][0] == "Undo"
    api.press(USER, "Undo")
    undone = await shows(api, USER, render.say("back_to_place", "en"))
    assert any(t == "☑ " + ticked[2:] for t, _ in api.buttons(undone))


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
async def test_stay_is_an_answer_to_switch_drawn_beside_it_and_shows_the_step_in_place(api, bot, lang):
    uid = {"en": 4251, "es": 4252, "zh": 4253}[lang]
    api.push_text(uid, "/language " + lang, lang=lang)
    await shows(api, uid, render.say("language_set", lang))
    api.push_text(uid, "/start enterprise_review", lang=lang)
    step = (await api.wait_sent(uid, 2))[-1]
    api.push_text(uid, "/start personal_payment", lang=lang)
    await api.wait_sent(uid, 3)
    language, step_message, asked = api.shown(uid)
    switch, stay = render.say("switch_button", lang), render.say("stay_button", lang)
    rows = [[b["text"] for b in row] for row in asked["reply_markup"]["inline_keyboard"]]
    assert rows == [[switch], [stay]]  # two answers to one question, no ◀ ▶ of a step's fixed row
    await api.wait_for(lambda: api.live_keyboards(uid) == [language["message_id"], asked["message_id"]],
                       what="the step before the question gone quiet")
    api.press(uid, stay, lang=lang)
    back = await shows(api, uid, step["plain"].split("\n")[0])
    assert back["message_id"] == asked["message_id"]  # the question became the step again, in place
    assert len(api.sent(uid)) == 3


async def test_the_chosen_language_sticks_through_a_quoted_chinese_label(api, bot):
    uid = 4343
    api.push_text(uid, "/language", lang="en")
    await shows(api, uid, render.say("choose_language", "en"))
    api.press(uid, "Español")
    await shows(api, uid, render.say("language_set", "es"))
    for text in ("dónde está 城市服务?", "支付宝"):
        before = len(api.sent(uid))
        api.push_text(uid, text, lang="en")
        sent = await api.wait_sent(uid, before + 1)
        assert render.say("source", "es") in sent[-1]["plain"], sent[-1]["plain"][:300]  # answered in Spanish
    before = len(api.sent(uid))
    api.push_text(uid, "社保年审是几月份？", lang="en")
    switched = (await api.wait_sent(uid, before + 1))[-1]
    assert switched["plain"].startswith(render.say("language_switched", "zh"))
    api.press(uid, render.say("switch_back", "es"))
    await shows(api, uid, render.say("language_set", "es"))


async def test_a_due_reminder_carries_start_now_and_stop_reminders(api, settings_for, new_dialogue):
    from datetime import timedelta

    from bot.channels.telegram import running
    from bot.store import now

    dialogue = new_dialogue()
    dialogue.say("4444", "/language es")  # a Spanish speaker who asked for a reminder last year
    dialogue.store.set_reminder("4444", "es", "4444", now() - timedelta(hours=1))
    settings = settings_for()
    async with running(app_over(settings, dialogue), settings):
        [sent] = await api.wait_sent(4444)
        assert sent["plain"] == render.say("remind_message", "es")
        labels = [label for label, _ in api.buttons(sent)]
        assert labels == [render.say("start_now", "es"), render.say("stop_reminders", "es")]
        await api.wait_for(lambda: dialogue.store.reminders()[0]["due"] > now().isoformat() or None,
                           what="the reminder set for next year")
        api.press(4444, render.say("stop_reminders", "es"))
        await shows(api, 4444, render.say("remind_off", "es"))
    assert dialogue.store.reminder("4444") is None


async def test_more_read_more_and_the_live_step_survive_a_restart(api, settings_for, new_dialogue, tmp_path):
    """What a message offers is in the database: a new process (a new Dialogue and Application over the
    same file) still shows the options "More…" hid, sends the rest behind "Read more" once, and retires
    the keyboard of the step shown before it."""
    from bot.channels.telegram import running

    uid, path, settings = 4545, tmp_path / "socialbot.db", settings_for()
    before = new_dialogue(path)
    async with running(app_over(settings, before), settings):
        api.push_text(uid, "/start", lang="es")
        await api.wait_sent(uid)
        api.push_text(uid, "¿Cómo pago yo mismo la seguridad social como trabajador flexible?", lang="es")
        await api.wait_sent(uid, 2)
        api.push_text(uid, "/start enterprise_review", lang="es")
        await api.wait_sent(uid, 3)
        await api.wait_for(lambda: len(api.live_keyboards(uid)) == 3, what="three keyboards")
    before.store.close()
    welcome, answer, step = api.shown(uid)

    after = new_dialogue(path)
    async with running(app_over(settings, after), settings):
        api.push_button(uid, "kb:more", message=welcome, lang="es")
        await api.wait_for(lambda: len(api.buttons(api.shown(uid)[0])) > len(api.buttons(welcome)),
                           what="the hidden options shown")
        labels = [label for label, _ in api.buttons(api.shown(uid)[0])]
        assert render.say("kb_more", "es") not in labels and len(labels) == 1 + len(after.flows)

        api.push_button(uid, "kb:rest", message=answer, lang="es")
        rest = (await api.wait_sent(uid, 4))[-1]
        assert "Orientación general" in rest["plain"] and "Fuente: " in rest["plain"]
        api.push_button(uid, "kb:rest", message=answer, lang="es")  # once only
        acks = await api.wait_method("answerCallbackQuery", 3)
        assert acks[-1].params["text"] == render.say("kb_gone", "es")

        api.push_text(uid, "siguiente", lang="es")
        await api.wait_sent(uid, 5)
        await api.wait_for(lambda: step["message_id"] not in api.live_keyboards(uid),
                           what="the step from before the restart gone quiet")
        assert api.live_keyboards(uid) == [welcome["message_id"], answer["message_id"],
                                           api.shown(uid)[-1]["message_id"]]  # one step: the newest
