"""The channel-neutral vocabulary: what a person said, and what we answer."""
from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.language import LANGS

LANGUAGE_NAMES = {"en": "English", "es": "Español", "zh": "中文"}  # each in its own language


def hint_language(code: str | None) -> str | None:
    """A client's language code (Telegram's 'es-MX', a browser's 'zh-hans') as one of ours."""
    if not code:
        return None
    code = code.lower()[:2]
    return code if code in LANGS else None


@dataclass(frozen=True)
class Message:
    """One thing a user did: typed text, pressed a button, or sent something else."""

    user: str
    text: str = ""
    lang_hint: str | None = None  # the client's language (Telegram's language_code)
    button: str | None = None  # a pressed button's stable id, e.g. "flow:annual_review:next"
    media: str | None = None  # a non-text update: "sticker", "photo", "voice", ...
    channel: str = "batch"
    chat: str | None = None  # where to reach the user later (a Telegram chat id), for reminders


@dataclass(frozen=True)
class Button:
    label: str  # what the user reads (and may type instead of pressing)
    id: str  # stable id a channel sends back when it is pressed (<= 64 bytes)


@dataclass
class Reply:
    """What the core answers; each channel draws it in its own way."""

    user: str
    text: str
    lang: str
    kind: str  # answer | suggest | fallback | step | command | error
    buttons: list[Button] = field(default_factory=list)
    topic: str | None = None
    flow: str | None = None
    step: str | None = None
    fallback: bool = False
    confidence: float = 0.0

    def to_json(self) -> dict:
        """The batch protocol's reply object (../shared/DESIGN.md)."""
        return {
            "user": self.user,
            "text": self.text,
            "buttons": [b.label for b in self.buttons],
            "lang": self.lang,
            "kind": self.kind,
            "topic": self.topic,
            "flow": self.flow,
            "step": self.step,
            "fallback": self.fallback,
            "confidence": round(self.confidence, 3),
        }
