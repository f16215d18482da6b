"""One procedure, one message: a press on a step edits that step's message in place, and a new
message retires the keyboard of the step before, so only the current step has live buttons.

Which message shows a user's current step is kept in the store, so it survives a restart. Where it
is unknown (a database from before, or forgotten after KEEP_OFFERS), a press on a step's own button
(its id carries the step's tag) edits the message pressed; nothing else is lost (the dialogue
still answers an old button sensibly).
"""
from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot import buttons as bt
from bot.channels.telegram_format import keyboard, split_text, to_html
from bot.messages import Button, Reply
from bot.store import StoreUnavailable
from conversations.events import Tick

log = logging.getLogger(__name__)


def press_kind(data: str) -> str:
    """tick, feedback, step (a step's own button) or other: how a press is answered."""
    pressed = bt.decode(data)
    if isinstance(pressed, bt.Vote):
        return "feedback"
    if isinstance(pressed, bt.Step) and pressed.tag is not None:
        return "tick" if isinstance(pressed.event, Tick) else "step"
    return "other"


READ = "read"  # kept for a message to be read, not only pressed: the buttons it keeps when its step controls go


def to_read(reply: Reply) -> bool:
    """An answer (to a side question) or a fallback (a person's contact): never edited into a step."""
    return reply.kind in ("answer", "fallback") and carries_a_step(reply)


def carries_a_step(reply: Reply) -> bool:
    """The reply's buttons act on the user's place in a procedure (a step, Continue, resume)."""
    return any(press_kind(b.id) in ("step", "tick") for b in reply.buttons)


def pop_up(data: str, reply: Reply) -> str | None:
    """The short text a press answers with: the item as it is now (☑/☐), or the thanks for a vote."""
    if press_kind(data) == "feedback":
        return reply.text
    if press_kind(data) == "tick":
        pressed = bt.decode(data)  # the same item on the step as it is now (its tag may differ)
        return next((b.label for b in reply.buttons if _untagged(bt.decode(b.id)) == _untagged(pressed)), None)
    return None


def _untagged(action):
    return bt.Step(action.flow, action.event) if isinstance(action, bt.Step) else action


def without(markup: InlineKeyboardMarkup | None, *ids: str, votes: bool = False) -> InlineKeyboardMarkup | None:
    """The same keyboard without the buttons of these ids (and, with `votes`, without 👍 👎)."""
    if markup is None:
        return None
    rows = [[b for b in row if b.callback_data not in ids and not (votes and press_kind(b.callback_data or "") == "feedback")]
             for row in markup.inline_keyboard]
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def without_feedback(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The keyboard after a vote: the same buttons without 👍 👎 (a vote is given once)."""
    return without(markup, votes=True)


class StepMessages:
    """Where each user's current step is shown: (chat, user) -> message id, in the store."""

    def __init__(self, store, as_html=None) -> None:
        self.store = store
        self.as_html = as_html or (lambda reply, text: to_html(text))  # a part of a reply as Telegram HTML

    def may_edit(self, chat_id: int, user: str, message_id: int, data: str) -> bool:
        """A press on the message of the user's current step (or, not knowing it, on a step's button)."""
        if self.store.offer(chat_id, message_id, READ) is not None:  # "Continue" under an answer: it stays
            return False
        live = self.store.step_message(chat_id, user)
        if live is not None:
            return live == message_id
        return press_kind(data) in ("step", "tick")

    async def edit(self, bot, chat_id: int, message_id: int, reply: Reply, *, expanded: bool = False) -> bool:
        """The reply in place of the pressed message; False when it must be sent instead."""
        parts = split_text(reply.text)
        if len(parts) != 1:
            return False
        try:
            await bot.edit_message_text(self.as_html(reply, parts[0]), chat_id=chat_id, message_id=message_id,
                                        reply_markup=keyboard(reply.buttons, reply.lang, expanded=expanded))
        except BadRequest as err:
            if "not modified" not in str(err).lower():  # gone, too old: a new message will do
                log.info("step message %s in chat %s not edited: %s", message_id, chat_id, err)
                return False
        self._now_showing(chat_id, reply, message_id, self.store.step_message(chat_id, reply.user))
        return True

    async def sent(self, bot, chat_id: int, reply: Reply, message_id: int | None) -> None:
        """A new message went out: the step before it loses its keyboard."""
        before = self.store.step_message(chat_id, reply.user)
        if before is not None and before != message_id:
            await self.quiet(bot, chat_id, before)
        self._now_showing(chat_id, reply, message_id, before)

    async def quiet(self, bot, chat_id: int, message_id: int) -> None:
        """A message's step controls go: its whole keyboard, or, on a message to be read, only them."""
        kept = self.store.offer(chat_id, message_id, READ)
        buttons = [Button(b["label"], b["id"]) for b in kept[0] if isinstance(b, dict)] if kept else []
        await self.retire(bot, chat_id, message_id, keyboard(buttons, kept[1]) if buttons else None)

    async def retire(self, bot, chat_id: int, message_id: int, keeping: InlineKeyboardMarkup | None = None) -> None:
        """The message's keyboard removed (or cut down to `keeping`)."""
        try:
            await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=keeping)
        except TelegramError as err:  # already without one, or gone: nothing left to press
            log.debug("keyboard of message %s in chat %s not removed: %s", message_id, chat_id, err)

    def _now_showing(self, chat_id: int, reply: Reply, message_id: int | None, before: int | None) -> None:
        shows = message_id if message_id is not None and carries_a_step(reply) else None
        if shows == before:
            return
        try:
            self.store.set_step_message(chat_id, reply.user, shows)
        except StoreUnavailable:  # the disk is full: the store logged it; presses still work, unknown
            pass
