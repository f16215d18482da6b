"""What is known while answering one message: who asks, in which language, and where they are."""
from __future__ import annotations

from bot.store import UserRow
from conversations import machine


class Turn:
    """One message being answered. The dialogue checks the user's stored place against the content
    before anything reads it (bot/dialogue.py `_check_place`), so `place` is always one that fits."""

    def __init__(self, user: UserRow, lang: str):
        self.user = user
        self.lang = lang
        self.notes: list[str] = []  # UI string keys said before the reply (too long, personal number)
        self.group: str | None = None  # the group chat the message came from, if any
        self.switched_from: str | None = None  # a chosen language this message's own language replaced
        self._stored: dict | None = None
        self._place: machine.State | None = None

    @property
    def place(self) -> machine.State | None:
        """The user's place in a procedure: read from the stored row once, and again only when a
        reply has moved it."""
        stored = self.user.flow_state
        if stored is not self._stored:
            self._stored, self._place = stored, machine.State.from_dict(stored) if stored else None
        return self._place
