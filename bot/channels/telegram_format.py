"""How a Reply looks on Telegram: escaped HTML, split under 4096 characters, an inline keyboard.

Pure functions (no network, no Application), so they are tested directly.
"""
from __future__ import annotations

import html
import logging

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot import buttons as bt
from bot import render
from bot.messages import Button
from conversations.events import event_name
from conversations.words import LABELS, label

log = logging.getLogger(__name__)

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # a message's text, after entity parsing, in UTF-16 code units
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # a button's callback_data, in bytes
# The core keeps its ids within its own copy of the limit (it must not import telegram): they must agree.
assert bt.MAX_BYTES == MAX_CALLBACK_BYTES, "bot/buttons.py MAX_BYTES differs from Telegram's callback_data limit"
MAX_OPTIONS = 3  # options shown before "More…": a phone screen holds them above the fixed row
FORWARD = ("next", "done", "continue")  # what the right-hand button of the fixed row may do
# ...and what it may say: "Stay" under "Switch to X?" resumes the step as Continue does, but it answers
# a question, so it is one of its options, not "Stay ▶" in the fixed row.
_FORWARD_LABELS = frozenset(LABELS[word][lang] for word in FORWARD for lang in LABELS[word])
# Telegram-only buttons, answered by the channel itself (never sent to the dialogue).
KB_MORE = "kb:more"  # show the options "More…" hid
KB_FIRST = "kb:first"  # the Back place on a first step
KB_CHOOSE = "kb:choose"  # the Next place on a step that needs a choice
KB_REST = "kb:rest"  # "Read more": the rest of a long answer, below it
_SEPARATORS = ("\n\n", "\n", " ")  # paragraphs first, then lines, then words


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def to_html(text: str) -> str:
    """Plain text as Telegram HTML: nothing a user typed can open a tag or an entity."""
    return html.escape(text, quote=False)


def step_html(text: str, title: str) -> str:
    """A step as Telegram HTML: its heading ("Annual review on your phone · Step 3 of 7") bold, as an
    answer's title is, the rest escaped. Text without that heading is only escaped."""
    escaped = to_html(text)
    head = to_html(title) + " · "
    lines = escaped.split("\n")
    for n, line in enumerate(lines):
        if line.startswith(head):
            lines[n] = f"<b>{line}</b>"
            break
    return "\n".join(lines)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Parts of at most `limit` characters, cut at paragraph boundaries when possible."""
    text = text.strip() or "…"
    parts = [p.strip() for p in _split(text, limit, 0)]
    return [p for p in parts if p] or ["…"]


def _split(text: str, limit: int, level: int) -> list[str]:
    if utf16_len(text) <= limit:
        return [text]
    if level == len(_SEPARATORS):
        return _hard_cut(text, limit)
    sep = _SEPARATORS[level]
    parts: list[str] = []
    current = ""
    for piece in text.split(sep):
        for chunk in _split(piece, limit, level + 1):
            joined = f"{current}{sep}{chunk}" if current else chunk
            if utf16_len(joined) <= limit:
                current = joined
            else:
                if current:
                    parts.append(current)
                current = chunk
    if current:
        parts.append(current)
    return parts


def _hard_cut(text: str, limit: int) -> list[str]:
    """A run with no space to cut at (a long Chinese paragraph): cut by characters."""
    parts, current, size = [], [], 0
    for char in text:
        width = utf16_len(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts


def usable(button: Button) -> bool:
    """A button Telegram accepts: a label, and callback data of 1 to 64 bytes."""
    ok = bool(button.label.strip()) and 0 < len(button.id.encode()) <= MAX_CALLBACK_BYTES
    if not ok:
        log.warning("button %r left out: its id must be 1-%d bytes", button.label, MAX_CALLBACK_BYTES)
    return ok


def role(button: Button) -> str:
    """Where a button goes on the keyboard: read (more), back, forward, cancel, feedback, person or option."""
    if button.id == KB_REST:
        return "read"
    pressed = bt.decode(button.id)
    if isinstance(pressed, bt.Person):  # a fallback's way to a human: on a row of its own, never behind "More…"
        return "person"
    if isinstance(pressed, bt.Vote):
        return "feedback"
    if isinstance(pressed, bt.NoneOfThese):  # the way out of a "did you mean" list: last, where Cancel goes
        return "cancel"
    if isinstance(pressed, bt.Step):
        name = event_name(pressed.event)
        if name in FORWARD:
            return "forward" if button.label in _FORWARD_LABELS else "option"
        if name in ("back", "cancel"):
            return name
    return "option"


def _on_a_step(buttons: list[Button]) -> bool:
    """A step (or the question of resuming one) has a Cancel drawn for that step."""
    return any(_tagged(b.id) and role(b) == "cancel" for b in buttons)


def _tagged(bid: str) -> bool:
    """A procedure's button drawn on a step (it carries that step's tag)."""
    pressed = bt.decode(bid)
    return isinstance(pressed, bt.Step) and pressed.tag is not None


def keyboard(buttons: list[Button], lang: str = "en", *, expanded: bool = False) -> InlineKeyboardMarkup | None:
    """Rows where a thumb expects them, the same on every step and in every language:
    options one a row (three, then "More…" unless expanded), 👍 👎 side by side, "Talk to a person"
    (a fallback's way out must never hide behind "More…"), then the fixed row "◀ Back | Next ▶",
    then Cancel last.

    On a step the fixed row is always drawn: where the core offers no Back (the first step)
    or no Next (a step that needs a choice), a stand-in keeps the place and answers with a
    pop-up (KB_FIRST, KB_CHOOSE), so "the right-hand button goes on" holds everywhere."""
    valid = [b for b in buttons if usable(b)]
    by_role: dict[str, list[Button]] = {}
    for b in valid:
        by_role.setdefault(role(b), []).append(b)
    rows: list[list[InlineKeyboardButton]] = [[_button(b.label, b.id)] for b in by_role.get("read", [])]
    options = by_role.get("option", [])
    if len(options) > MAX_OPTIONS and not expanded:
        rows += [[_button(b.label, b.id)] for b in options[:MAX_OPTIONS]]
        rows.append([_button(render.say("kb_more", lang), KB_MORE)])
    else:
        rows += [[_button(b.label, b.id)] for b in options]
    if by_role.get("feedback"):
        rows.append([_button(b.label, b.id) for b in by_role["feedback"]])
    rows += [[_button(b.label, b.id)] for b in by_role.get("person", [])]
    back, forward = by_role.get("back", []), by_role.get("forward", [])
    step = _on_a_step(valid)
    if back or forward or step:
        fixed = [_button("◀ " + b.label, b.id) for b in back[:1]]
        if not back and step:
            fixed.append(_button("◀ " + label("back", lang), KB_FIRST))
        fixed += [_button(b.label + " ▶", b.id) for b in forward[:1]]
        if not forward and step:
            fixed.append(_button(label("next", lang) + " ▶", KB_CHOOSE))
        rows.append(fixed)
        rows += [[_button(b.label + " ▶", b.id)] for b in forward[1:]]
    rows += [[_button(b.label, b.id)] for b in by_role.get("cancel", [])]
    return InlineKeyboardMarkup(rows) if rows else None


def has_more(buttons: list[Button]) -> bool:
    """Whether the keyboard hides options behind "More…" (so the channel keeps them to show)."""
    return sum(role(b) == "option" for b in buttons) > MAX_OPTIONS


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)
