"""The Telegram channel's pure parts: splitting, keyboards, who a group message is for,
per-user ordering, and the log filter that hides the token. No network here."""
from __future__ import annotations

import asyncio
import logging
import random

import pytest
from telegram import Bot, Message as TgMessage, Update

from bot.channels.telegram import addressed_text, media_kind
from bot.channels.telegram_format import KB_CHOOSE, KB_FIRST, KB_MORE, MAX_TEXT, keyboard, split_text, to_html, utf16_len
from bot.channels.telegram_runtime import PerUserOrder
from bot.logs import Redact
from bot.messages import Button
from tests.fake_bot_api import (BOT_ID, BOT_USERNAME, MEDIA_SAMPLES, TOKEN, ApiError, FakeBotApi, decode_body,
                                parse_html)

BOT = Bot(TOKEN)


# -- splitting -------------------------------------------------------------------------------------
def test_a_short_text_is_one_part():
    assert split_text("Hello\n\nworld") == ["Hello\n\nworld"]


def test_parts_break_at_paragraphs_and_lose_nothing():
    paragraphs = [f"P{n} " + "x" * random.Random(n).randint(100, 1500) for n in range(30)]
    text = "\n\n".join(paragraphs)
    parts = split_text(text)
    assert len(parts) > 1 and all(utf16_len(p) <= MAX_TEXT for p in parts)
    assert "\n\n".join(parts) == text  # every cut was at a paragraph boundary
    assert all(p.startswith("P") for p in parts)


def test_a_huge_paragraph_is_cut_at_lines_then_words_then_characters():
    lines = "\n".join(["word " * 100] * 30)  # one paragraph of 15,000 characters in lines
    assert all(utf16_len(p) <= MAX_TEXT for p in split_text(lines))
    chinese = "社保年审" * 3000  # no space to cut at
    parts = split_text(chinese)
    assert "".join(parts) == chinese and all(utf16_len(p) <= MAX_TEXT for p in parts)
    emoji = "👍" * 5000  # two UTF-16 units each: never split a pair, never exceed 4096 units
    parts = split_text(emoji)
    assert "".join(parts) == emoji and all(utf16_len(p) <= MAX_TEXT for p in parts)


def test_an_empty_reply_still_sends_something():
    assert split_text("  \n ") == ["…"]


def test_to_html_escapes_everything_a_user_can_type():
    nasty = '<b>bold</b> & <a href="x">link</a> &lt; </pre> <tg-spoiler>'
    assert parse_html(to_html(nasty)) == nasty  # Telegram would show exactly what was typed


# -- keyboards ------------------------------------------------------------------------------------
def rows_of(markup) -> list[list[str]]:
    return [[b.callback_data for b in row] for row in markup.inline_keyboard]


def test_options_one_a_row_then_feedback_then_back_next_then_cancel_last():
    buttons = [Button("Next", "flow:f:next@1"), Button("Back", "flow:f:back@1"), Button("Cancel", "flow:f:cancel@1"),
               Button("A much longer label for a topic", "topic:x"), Button("👍", "fb:up:x"), Button("👎", "fb:down:x")]
    markup = keyboard(buttons)
    assert rows_of(markup) == [["topic:x"], ["fb:up:x", "fb:down:x"], ["flow:f:back@1", "flow:f:next@1"],
                               ["flow:f:cancel@1"]]
    assert [b.text for b in markup.inline_keyboard[2]] == ["◀ Back", "Next ▶"]


def test_more_than_three_options_show_three_and_more_until_expanded():
    options = [Button(f"Topic {n}", f"topic:t{n}") for n in range(5)]
    assert rows_of(keyboard(options, "es")) == [["topic:t0"], ["topic:t1"], ["topic:t2"], [KB_MORE]]
    assert keyboard(options, "es").inline_keyboard[3][0].text == "Más…"
    assert rows_of(keyboard(options, expanded=True)) == [[f"topic:t{n}"] for n in range(5)]
    assert rows_of(keyboard(options[:3])) == [["topic:t0"], ["topic:t1"], ["topic:t2"]]


def test_a_step_keeps_the_fixed_row_even_without_back_or_next():
    first = keyboard([Button("Next", "flow:f:next@1"), Button("Cancel", "flow:f:cancel@1")], "zh")
    assert rows_of(first) == [[KB_FIRST, "flow:f:next@1"], ["flow:f:cancel@1"]]
    assert [b.text for b in first.inline_keyboard[0]] == ["◀ 上一步", "Next ▶"]
    choice = keyboard([Button("Alipay", "flow:f:choose:a@1"), Button("Cancel", "flow:f:cancel@1")], "es")
    assert rows_of(choice) == [["flow:f:choose:a@1"], [KB_FIRST, KB_CHOOSE], ["flow:f:cancel@1"]]
    assert [b.text for b in choice.inline_keyboard[1]] == ["◀ Atrás", "Siguiente ▶"]


def test_a_button_whose_id_telegram_would_refuse_is_left_out(caplog):
    rows = keyboard([Button("ok", "a" * 64), Button("too long", "é" * 33), Button("", "x"), Button("no id", "")])
    assert [b.callback_data for row in rows.inline_keyboard for b in row] == ["a" * 64]
    assert "left out" in caplog.text
    assert keyboard([]) is None


# -- who a group message is for ---------------------------------------------------------------------
def tg_message(text: str | None = None, reply_to_bot: bool = False, **fields) -> TgMessage:
    api = FakeBotApi()
    data = api.message(5, text, chat=-100, chat_type="supergroup", **fields)
    if reply_to_bot:
        data["reply_to_message"] = {"message_id": 1, "date": 1, "chat": data["chat"],
                                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "socialbot"}, "text": "hi"}
    return Update.de_json({"update_id": 1, "message": data}, BOT).message


@pytest.mark.parametrize("text, expected", [
    ("/start", "/start"),
    (f"/start@{BOT_USERNAME}", f"/start@{BOT_USERNAME}"),
    (f"/help@{BOT_USERNAME.upper()} please", f"/help@{BOT_USERNAME.upper()} please"),
    ("/start@another_bot", None),
    ("When is the annual review?", None),
    (f"@{BOT_USERNAME} when is the annual review?", "when is the annual review?"),
    (f"hey @{BOT_USERNAME}, 社保年审是几月份？", "hey 社保年审是几月份？"),
    ("@someone_else when is it?", None),
])
def test_in_a_group_only_what_is_meant_for_the_bot(text, expected):
    assert addressed_text(tg_message(text), BOT_USERNAME, BOT_ID) == expected


def test_a_reply_to_the_bot_is_meant_for_it():
    assert addressed_text(tg_message("and in Spanish?", reply_to_bot=True), BOT_USERNAME, BOT_ID) == "and in Spanish?"
    photo = tg_message(None, reply_to_bot=True, photo=[{"file_id": "p", "file_unique_id": "u", "width": 1, "height": 1}])
    assert addressed_text(photo, BOT_USERNAME, BOT_ID) == ""
    assert media_kind(photo) == "photo"


@pytest.mark.parametrize("kind", sorted(MEDIA_SAMPLES))
def test_media_is_named_as_ptb_names_it(kind):
    assert media_kind(tg_message(None, **{kind: MEDIA_SAMPLES[kind]})) == kind
    assert media_kind(tg_message(None, caption="a caption", **{kind: MEDIA_SAMPLES[kind]})) == kind


# -- ordering -----------------------------------------------------------------------------------
def fake_update(update_id: int, user: int) -> Update:
    return Update.de_json({"update_id": update_id, "message": FakeBotApi().message(user, "hi")}, BOT)


async def test_one_users_updates_run_in_order_and_users_run_together():
    processor = PerUserOrder(64)
    log: list[tuple[int, int, str]] = []
    running_at_once = 0
    peak = 0

    async def work(update_id: int, user: int):
        nonlocal running_at_once, peak
        running_at_once += 1
        peak = max(peak, running_at_once)
        log.append((user, update_id, "start"))
        await asyncio.sleep(random.Random(update_id).uniform(0, 0.02))
        log.append((user, update_id, "end"))
        running_at_once -= 1

    updates = [(n, n % 4) for n in range(40)]  # 4 users, 10 updates each, interleaved
    await asyncio.gather(*(processor.process_update(fake_update(n, u), work(n, u)) for n, u in updates))
    for user in range(4):
        mine = [(n, what) for u, n, what in log if u == user]
        ids = [n for n, what in mine if what == "start"]
        assert ids == sorted(ids)  # in arrival order
        assert all(mine[i][1] == "start" and mine[i + 1][1] == "end" for i in range(0, len(mine), 2))  # one at a time
    assert peak > 1  # different users did overlap
    assert processor.active_users == 0  # no lock left behind


# -- the token never reaches a log ---------------------------------------------------------------------
def test_the_filter_redacts_the_token_from_messages_arguments_and_tracebacks():
    flt = Redact(TOKEN, "webhook-secret-123")
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "POST %s %s", (
        f"https://api.telegram.org/bot{TOKEN}/getMe", "webhook-secret-123"), None)
    assert flt.filter(record)
    assert TOKEN not in record.getMessage() and "webhook-secret-123" not in record.getMessage()
    assert "[REDACTED]" in record.getMessage()
    try:
        raise RuntimeError(f"failed calling {TOKEN.split(':')[1]}")
    except RuntimeError:
        import sys

        record = logging.LogRecord("telegram", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    flt.filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN.split(":")[1] not in formatted and "RuntimeError" in formatted


# -- the fake server is only as good as its checks ----------------------------------------------------
def test_the_fake_server_reads_every_body_ptb_may_send():
    form = "chat_id=5&text=%3Cb%3Ehi%3C%2Fb%3E&reply_markup=%7B%22inline_keyboard%22%3A%5B%5D%7D".encode()
    assert decode_body("application/x-www-form-urlencoded", form) == {
        "chat_id": 5, "text": "<b>hi</b>", "reply_markup": {"inline_keyboard": []}}
    assert decode_body("application/json", b'{"chat_id": 5, "text": "hi"}') == {"chat_id": 5, "text": "hi"}
    multipart = (b'--XX\r\nContent-Disposition: form-data; name="chat_id"\r\n\r\n-100\r\n'
                 b'--XX\r\nContent-Disposition: form-data; name="text"\r\n\r\n\xe4\xbd\xa0\xe5\xa5\xbd\r\n--XX--\r\n')
    assert decode_body("multipart/form-data; boundary=XX", multipart) == {"chat_id": -100, "text": "你好"}


@pytest.mark.parametrize("broken", ["<b>unclosed", "a < b & c", "<script>x</script>", "</i>", "&nbsp;"])
def test_the_fake_server_refuses_markup_telegram_would_refuse(broken):
    with pytest.raises(ApiError, match="can't parse entities"):
        parse_html(broken)
    assert parse_html(to_html(broken)) == broken


@pytest.mark.parametrize("lang", ["en", "es", "zh"])
def test_every_step_of_every_flow_has_the_same_bottom_rows(built_dialogue, lang):
    from conversations import machine
    from conversations.graph import edges, reachable

    for flow in built_dialogue.flows.values():
        for step_id in reachable(flow.start, edges(flow)):
            for path in ((), (flow.start,)) if step_id != flow.start else ((),):
                state = machine.State(flow.id, step_id, path)
                markup = keyboard(built_dialogue._step_buttons(flow, state, lang), lang)
                *options, fixed, cancel = markup.inline_keyboard
                assert fixed[0].text.startswith("◀ ") and fixed[1].text.endswith(" ▶"), (flow.id, step_id)
                assert fixed[0].callback_data.startswith(f"flow:{flow.id}:back") == bool(path)
                assert [b.callback_data.split("@")[0] for b in cancel] == [f"flow:{flow.id}:cancel"]
                assert all(len(row) == 1 for row in options) and len(options) <= 4
