"""The pause switch: when it is on, every channel answers only with the bureau's contact.

A public service must be able to stop its assistant at once (a wrong answer spreading, a rule
that changed) without taking the page or the bot down: people are still told where to turn.
`SOCIALBOT_PAUSED=1` pauses one process from its start; `socialbot pause` / `socialbot resume`
set a row in the database, which every running channel reads again within CHECK_EVERY seconds.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot import render
from bot.messages import Message, Reply
from knowledge.language import LANGS

KEY = "paused"
CHECK_EVERY = 2.0  # seconds a channel trusts what it last read from the database
ON = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Contact:
    """Where people are sent while the assistant is paused (SOCIALBOT_CONTACT_*)."""

    name: str | None = None  # None: the national hotline's name, in the reader's language
    phone: str = "12333"  # the national human resources and social security service hotline
    address: str | None = None
    hours: str | None = None
    website: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Contact":
        def get(field: str) -> str | None:
            return (env.get(f"SOCIALBOT_CONTACT_{field.upper()}") or "").strip() or None
        return cls(name=get("name"), phone=get("phone") or cls.phone, address=get("address"),
                   hours=get("hours"), website=get("website"))

    def lines(self, lang: str) -> list[str]:
        lines = [self.name or render.say("contact_default_name", lang)]
        colon = "：" if lang == "zh" else ": "
        for field in ("phone", "address", "hours", "website"):
            value = getattr(self, field)
            if value:
                lines.append(render.say(f"contact_{field}", lang) + colon + value)
        return lines


class Switch:
    """Whether the assistant is paused, read cheaply enough to ask before every message."""

    def __init__(self, env: Mapping[str, str] | None = None, clock: Callable[[], float] = time.monotonic,
                 check_every: float = CHECK_EVERY):
        env = os.environ if env is None else env
        self.by_env = (env.get("SOCIALBOT_PAUSED") or "").strip().lower() in ON
        self.contact = Contact.from_env(env)
        self.clock, self.check_every = clock, check_every
        self._read: tuple[object, float, bool] | None = None  # (the store read, when, paused)

    def paused(self, store) -> bool:
        if self.by_env:
            return True
        moment = self.clock()
        read = self._read
        if read is None or read[0] is not store or moment - read[1] >= self.check_every:
            read = self._read = (store, moment, store.setting(KEY) in ON)
        return read[2]

    def reply(self, msg: Message, lang: str) -> Reply:
        lang = lang if lang in LANGS else "en"
        text = "\n".join([render.say("paused", lang), "", *self.contact.lines(lang)])
        return Reply(msg.user, text, lang, "paused")


def set_paused(store, paused: bool) -> None:
    """`socialbot pause` / `socialbot resume`."""
    store.set_setting(KEY, "1" if paused else None)
