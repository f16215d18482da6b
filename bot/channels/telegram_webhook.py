"""The webhook server Telegram posts updates to: it checks a request before it reads its body.

python-telegram-bot's own webhook handler reads the whole body (up to tornado's 100 MB default)
before it looks at the secret token, and refuses `application/json; charset=utf-8`. Here the
handler streams the body (tornado's `stream_request_body`), so `prepare()` runs on the headers
alone: a request without the right secret, of another content type, or announcing more than
MAX_BODY is answered and its connection closed without a byte of its body read.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
from http import HTTPStatus

import tornado.httpserver
import tornado.web
from telegram import Update
from telegram.error import BadRequest, InvalidToken, NetworkError
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1 << 20  # an update is a few kilobytes; a megabyte is generous and bounds what a post can cost
SET_WEBHOOK_TRIES = 4


def is_json(content_type: str) -> bool:
    """application/json, with no charset or a UTF-8 one (what JSON is)."""
    kind, _, params = content_type.partition(";")
    if kind.strip().lower() != "application/json":
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True


@tornado.web.stream_request_body
class UpdateHandler(tornado.web.RequestHandler):
    """POST one update: checked on its headers, read only then, and queued for the Application."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot, queue: asyncio.Queue, secret: str) -> None:
        self.bot, self.queue, self.secret = bot, queue, secret
        self.body = bytearray()

    def prepare(self) -> None:
        sent = self.request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(sent.encode("utf-8", "replace"), self.secret.encode()):
            raise tornado.web.HTTPError(HTTPStatus.FORBIDDEN)
        if not is_json(self.request.headers.get("Content-Type", "")):
            raise tornado.web.HTTPError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        length = self.request.headers.get("Content-Length")
        if length is not None and (not length.strip().isdigit() or int(length) > MAX_BODY):
            raise tornado.web.HTTPError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        self.request.connection.set_max_body_size(MAX_BODY)  # a chunked body is cut off there

    def data_received(self, chunk: bytes) -> None:
        self.body += chunk

    async def post(self) -> None:
        try:
            update = Update.de_json(json.loads(self.body), self.bot)
        except Exception:  # not an update: Telegram never sends one, so nothing to retry
            log.warning("webhook: a request with the right secret held no readable update")
            raise tornado.web.HTTPError(HTTPStatus.BAD_REQUEST) from None
        if update is not None:
            if isinstance(self.bot, ExtBot):
                self.bot.insert_callback_data(update)
            await self.queue.put(update)

    def log_exception(self, typ, value, tb) -> None:
        """Refusals are routine (scanners, floods): not worth a warning each."""
        log.debug("webhook request refused: %s", value)


class WebhookServer:
    """Our handler on a tornado HTTPServer, registered with Telegram by setWebhook."""

    def __init__(self, app, settings):
        self.app, self.settings = app, settings
        path = "/" + settings.url_path if settings.url_path else ""
        web = tornado.web.Application([(rf"{path}/?", UpdateHandler, {
            "bot": app.bot, "queue": app.update_queue, "secret": settings.webhook_secret})])
        self.server = tornado.httpserver.HTTPServer(web, max_body_size=MAX_BODY, idle_connection_timeout=60,
                                                    body_timeout=30)

    async def start(self) -> "WebhookServer":
        self.server.listen(self.settings.webhook_port, address=self.settings.webhook_listen)
        for attempt in range(1, SET_WEBHOOK_TRIES + 1):
            try:
                await self.app.bot.set_webhook(url=self.settings.webhook_url, secret_token=self.settings.webhook_secret)
                break
            except (BadRequest, InvalidToken):
                raise
            except NetworkError:
                if attempt == SET_WEBHOOK_TRIES:
                    raise
                await asyncio.sleep(attempt)
        return self

    async def stop(self) -> None:
        self.server.stop()
        await self.server.close_all_connections()
