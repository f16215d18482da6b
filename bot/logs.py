"""How socialbot logs: one format, one level, and one filter on every handler, whichever channel
runs and whichever library writes the line, that keeps personal numbers (bot/privacy.py) and the
bot's secrets (the Telegram token, the webhook and cookie secrets) out of the log.

`setup()` is called once, by the `socialbot` command; a channel that makes a secret of its own
(a random webhook secret) adds it with `install(secret)`, which never adds a second filter.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from bot.privacy import MaskPersonal

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SECRETS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "SOCIALBOT_WEB_SECRET")
REDACTED = "[REDACTED]"
MIN_SECRET = 8  # shorter is no secret worth hiding, and would blank ordinary words out of the log
_installed: "Redact | None" = None


def redact(text: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class Redact(MaskPersonal):
    """Masks personal numbers and replaces the secrets in a record's message, traceback and stack.

    PTB logs its API URLs at DEBUG, and the URL holds the token; an exception's text may too.
    """

    def __init__(self, *secrets: str | None):
        super().__init__()
        self.secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        parts = set(self.secrets)
        for secret in secrets:
            if secret:
                parts.add(secret)
                if ":" in secret:  # a token is "123456:ABC...": its second half is the secret part
                    parts.add(secret.split(":", 1)[1])
        self.secrets = sorted((p for p in parts if len(p) >= MIN_SECRET), key=len, reverse=True)

    def clean(self, text: str) -> str:
        return super().clean(redact(text, *self.secrets))  # first: a token's digits are no phone number


def _handlers() -> list[logging.Handler]:
    return [h for h in (*logging.getLogger().handlers, logging.lastResort) if h is not None]


def install(*secrets: str | None) -> Redact:
    """The one filter, on every handler of the root logger and on Python's last resort."""
    global _installed
    if _installed is None:
        _installed = Redact()
    _installed.add(*secrets)
    for handler in _handlers():
        handler.addFilter(_installed)  # a no-op where it is already
    for name in ("httpx", "httpcore"):  # they log every request URL (with the token) at INFO
        logging.getLogger(name).setLevel(logging.WARNING)
    return _installed


def remove(flt: Redact) -> None:
    global _installed
    for handler in _handlers():
        handler.removeFilter(flt)
    if flt is _installed:
        _installed = None


def setup(env: Mapping[str, str] = os.environ) -> Redact:
    """Logging for a `socialbot` command: SOCIALBOT_LOG's level (WARNING by default) on stderr."""
    logging.basicConfig(level=env.get("SOCIALBOT_LOG", "WARNING").upper(), format=FORMAT)
    return install(*(env.get(name, "").strip() for name in SECRETS))
