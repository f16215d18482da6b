"""The Telegram bot's plumbing: settings from the environment, per-user ordering, rate limits.
(The filter that keeps the token out of every log line is bot/logs.py's, for every channel.)"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from aiolimiter import AsyncLimiter
from telegram import Update
from telegram.ext import AIORateLimiter, BaseUpdateProcessor

from bot.logs import redact

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_BASE_FILE_URL = "https://api.telegram.org/file/bot"
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(ValueError):
    """The environment does not describe a bot we can run (the message says what to fix)."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the Telegram channel reads from the environment."""

    token: str
    base_url: str = DEFAULT_BASE_URL
    base_file_url: str = DEFAULT_BASE_FILE_URL
    webhook_url: str | None = None  # set: webhook mode; unset: long polling
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    retention_days: int = 90
    reminder_every: float = 300.0  # seconds between two looks at the reminders table
    poll_timeout: float = 10.0  # long polling: how long one getUpdates may wait
    send_tries: int = 4  # a reply that surely did not arrive is sent again, up to this many times in all...
    send_backoff: float = 1.0  # ...after 1, 2, 4 seconds
    read_timeout: float = 10.0  # seconds an API call other than getUpdates may take to answer

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
        if not token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set (ask @BotFather for one)")
        webhook_url = env.get("TELEGRAM_WEBHOOK_URL", "").strip() or None
        secret = env.get("TELEGRAM_WEBHOOK_SECRET", "").strip() or None
        if webhook_url:
            if urlparse(webhook_url).scheme not in ("http", "https"):
                raise SettingsError("TELEGRAM_WEBHOOK_URL must be an http(s) URL")
            if secret is None:  # a webhook is never left unchecked: Telegram echoes whatever we set
                secret = secrets.token_urlsafe(32)
                log.warning("TELEGRAM_WEBHOOK_SECRET is not set: using a random secret for this run")
            elif not _SECRET_TOKEN.fullmatch(secret):
                raise SettingsError("TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return cls(
            token=token,
            base_url=env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            base_file_url=env.get("TELEGRAM_API_BASE_FILE_URL", "").strip() or DEFAULT_BASE_FILE_URL,
            webhook_url=webhook_url,
            webhook_secret=secret,
            webhook_listen=env.get("TELEGRAM_WEBHOOK_LISTEN", "").strip() or "127.0.0.1",
            webhook_port=_int(env, "TELEGRAM_WEBHOOK_PORT", 8443, minimum=1),
            retention_days=_int(env, "SOCIALBOT_RETENTION_DAYS", 90, minimum=1),
        )

    @property
    def url_path(self) -> str:
        """The local path the webhook listens on: the public URL's own path."""
        return urlparse(self.webhook_url or "").path.strip("/")

    def __repr__(self) -> str:  # never print the token or the secret
        return f"Settings(webhook={bool(self.webhook_url)}, base_url={redact(self.base_url, self.token)!r})"


# -- one user's updates in order, many users at once ----------------------------------------------
def sender_key(update: object) -> int | None:
    """Whose updates must not overtake each other: the user's (else the chat's) id."""
    if not isinstance(update, Update):
        return None
    if update.effective_user:
        return update.effective_user.id
    return update.effective_chat.id if update.effective_chat else None


class PerUserOrder(BaseUpdateProcessor):
    """Updates from different users run concurrently; one user's run one after another, in order.

    Each update task takes its sender's lock before its first await, and asyncio locks wake
    waiters first come first served, so a user's updates run in the order they arrived. A
    lock lives only while someone holds or waits for it.
    """

    def __init__(self, max_concurrent_updates: int = 64):
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, list] = {}  # key -> [lock, holders and waiters]

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = sender_key(update)
        if key is None:
            await coroutine
            return
        entry = self._locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                await coroutine
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._locks[key]

    @property
    def active_users(self) -> int:
        return len(self._locks)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


# -- Telegram's limits ------------------------------------------------------------------------------
class PerChatRateLimiter(AIORateLimiter):
    """PTB's AIORateLimiter (30 messages a second overall, 20 a minute per group, RetryAfter
    waited out and retried) plus about one message a second in each private chat (a burst of
    three is let through: a long reply in parts, or a quick exchange)."""

    def __init__(self, per_chat_burst: int = 3, per_chat_period: float = 3.0, max_retries: int = 3, **kwargs):
        super().__init__(max_retries=max_retries, **kwargs)
        self._per_chat = (per_chat_burst, per_chat_period)
        self._chat_limiters: dict[int, AsyncLimiter] = {}

    def _chat_limiter(self, chat_id: int) -> AsyncLimiter:
        if len(self._chat_limiters) > 512:  # drop the idle ones, as PTB does for groups
            for key, limiter in list(self._chat_limiters.items()):
                if key != chat_id and limiter.has_capacity(limiter.max_rate):
                    del self._chat_limiters[key]
        if chat_id not in self._chat_limiters:
            self._chat_limiters[chat_id] = AsyncLimiter(*self._per_chat)
        return self._chat_limiters[chat_id]

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)
        private = isinstance(chat_id, int) and chat_id > 0  # groups and channels have negative ids
        async with self._chat_limiter(chat_id) if private else contextlib.nullcontext():
            return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
