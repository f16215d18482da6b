"""How a Reply looks on Telegram: escaped HTML, split under 4096 characters, an inline keyboard.

Pure functions (no network, no Application), so they are tested directly.
"""
from __future__ import annotations

import html
import logging
import unicodedata

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import Button

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit on a message's text, after entity parsing, in UTF-16 code units
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data
SHORT_LABEL = 14  # display columns; two buttons this short share a row ("Next" "Back", 👍 👎)
_SEPARATORS = ("\n\n", "\n", " ")  # paragraphs first, then lines, then words


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def to_html(text: str) -> str:
    """Plain text as Telegram HTML: nothing a user typed can open a tag or an entity."""
    return html.escape(text, quote=False)


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


def _columns(label: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)


def usable(button: Button) -> bool:
    """A button Telegram accepts: a label, and callback data of 1 to 64 bytes."""
    ok = bool(button.label.strip()) and 0 < len(button.id.encode()) <= MAX_CALLBACK_BYTES
    if not ok:
        log.warning("button %r left out: its id must be 1-%d bytes", button.label, MAX_CALLBACK_BYTES)
    return ok


def keyboard(buttons: list[Button]) -> InlineKeyboardMarkup | None:
    """One button a row; two consecutive short ones share a row."""
    valid = [b for b in buttons if usable(b)]
    rows: list[list[InlineKeyboardButton]] = []
    i = 0
    while i < len(valid):
        pair = valid[i:i + 2]
        if len(pair) == 2 and all(_columns(b.label) <= SHORT_LABEL for b in pair):
            rows.append([InlineKeyboardButton(b.label, callback_data=b.id) for b in pair])
            i += 2
        else:
            rows.append([InlineKeyboardButton(valid[i].label, callback_data=valid[i].id)])
            i += 1
    return InlineKeyboardMarkup(rows) if rows else None
