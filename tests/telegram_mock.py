"""A Telegram chat as a phone shows it, drawn in HTML from what the fake Bot API server recorded.

The bot's messages are taken as they end up (the HTML of the last send or edit, the keyboard they
show now), the user's typed messages where they came; Telegram's own HTML subset is drawn as it is
(the fake server has already refused anything else), so the picture is what the bot really sent.
"""
from __future__ import annotations

import html

from tests.fake_bot_api import FakeBotApi

CSS = """
* { box-sizing: border-box; }
body { margin: 0; width: 390px; font: 15px/1.35 -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC",
       "DejaVu Sans", "Noto Color Emoji", sans-serif; background: #cfe3c2; color: #000; }
header { position: sticky; top: 0; height: 56px; display: flex; align-items: center; gap: 10px; padding: 0 14px;
         background: #517da2; color: #fff; }
header .avatar { width: 38px; height: 38px; border-radius: 50%; background: #8fb8d9; display: flex;
                 align-items: center; justify-content: center; font-weight: 600; }
header .name { font-weight: 600; } header .status { font-size: 13px; opacity: .8; }
main { padding: 10px 8px 16px; display: flex; flex-direction: column; gap: 8px; }
.msg { max-width: 86%; display: flex; flex-direction: column; gap: 3px; }
.msg.user { align-self: flex-end; } .msg.bot { align-self: flex-start; }
.bubble { padding: 7px 10px 6px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere;
          box-shadow: 0 1px 1px rgba(0,0,0,.15); }
.user .bubble { background: #effdde; border-bottom-right-radius: 4px; }
.bot .bubble { background: #fff; border-bottom-left-radius: 4px; }
.bubble a { color: #168acd; text-decoration: none; }
.keyboard { display: flex; flex-direction: column; gap: 3px; }
.row { display: flex; gap: 3px; }
.key { flex: 1; padding: 8px 6px; border-radius: 8px; text-align: center; color: #fff; font-weight: 500;
       background: rgba(70, 110, 80, .45); overflow-wrap: anywhere; }
"""


def as_html(params: dict) -> str:
    """A send's or an edit's text as HTML: itself in HTML mode, escaped when sent as plain text."""
    text = params.get("text") or ""
    return text if str(params.get("parse_mode", "")).upper() == "HTML" else html.escape(text)


def chat_as_shown(api: FakeBotApi, chat: int, typed: list[tuple[int, str]]) -> list[dict]:
    """The chat's messages in order: {"from": "user", "html"} for `typed` ((messages the bot had sent
    before it, text)), {"from": "bot", "html", "rows"} for the bot's, as they show now."""
    sends = [c.params for c in api.calls_to("sendMessage") if c.status == 200 and c.params.get("chat_id") == chat]
    shown = api.shown(chat)
    assert len(sends) == len(shown), "a message of the bot's is missing or was deleted"
    latest = {m["message_id"]: as_html(s) for m, s in zip(shown, sends)}
    for edit in api.calls_to("editMessageText"):
        if edit.status == 200 and edit.params.get("chat_id") == chat:
            latest[edit.params["message_id"]] = as_html(edit.params)
    items: list[dict] = []
    for n, message in enumerate(shown):
        items += [{"from": "user", "html": html.escape(text)} for before, text in typed if before == n]
        keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        items.append({"from": "bot", "html": latest[message["message_id"]],
                      "rows": [[button["text"] for button in row] for row in keyboard]})
    items += [{"from": "user", "html": html.escape(text)} for before, text in typed if before >= len(shown)]
    return items


def page(items: list[dict], lang: str = "en", title: str = "socialbot") -> str:
    """A whole HTML page: the chat header, then each message; a bot's keyboard under its bubble."""
    out = []
    for item in items:
        keys = "".join("<div class=row>" + "".join(f"<div class=key>{html.escape(label)}</div>" for label in row)
                       + "</div>" for row in item.get("rows", []))
        out.append(f"<div class='msg {item['from']}'><div class=bubble>{item['html']}</div>"
                   + (f"<div class=keyboard>{keys}</div>" if keys else "") + "</div>")
    return (f"<!doctype html><html lang={lang}><meta charset=utf-8><style>{CSS}</style>"
            f"<header><div class=avatar>S</div><div><div class=name>{html.escape(title)}</div>"
            f"<div class=status>bot</div></div></header><main>{''.join(out)}</main></html>")
