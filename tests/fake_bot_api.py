"""A local fake of the Telegram Bot API, over real HTTP on 127.0.0.1, for end-to-end tests.

It speaks the subset socialbot uses (getMe, getUpdates with long polling and offset
confirmation, sendMessage, editMessageText, answerCallbackQuery, setMyCommands, the webhook
methods, close/logOut), decodes what python-telegram-bot posts (url-encoded or multipart
forms, or JSON; objects such as reply_markup arrive as JSON strings), records every call,
and checks what Telegram checks (the token, HTML that parses, 4096 characters, 64-byte
callback data). Tests queue updates with the `push_*` helpers and wait, with a bound, for
the calls they expect; they stage faults with `fail_next` (an error answer), `drop_next` (the
connection closed unanswered), `slow_next` (done, answered late) and `fail_confirms`. Standard library only (httpx, a python-telegram-bot dependency,
posts to a bot's webhook).
"""
from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, Callable
from urllib.parse import parse_qsl, urlsplit

TOKEN = "123456789:AAHfakeTOKENforTESTS-only_0123456789ab"
BOT_ID = 123456789
BOT_USERNAME = "socialbot_test_bot"
JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "link_preview_options",
               "reply_parameters", "entities", "results"}
INT_FIELDS = {"chat_id", "offset", "limit", "timeout", "message_id", "message_thread_id", "max_connections",
              "cache_time", "user_id"}
TELEGRAM_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                 "pre", "blockquote", "tg-emoji", "br"}
_BAD_ENTITY = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int | None = None  # the HTTP status answered (None while a call is held; 0: connection dropped)


class _TelegramHtml(HTMLParser):
    """Parses a text the way Telegram's HTML mode does, closely enough to catch broken markup."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []
        self.error: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag not in TELEGRAM_TAGS:
            self.error = self.error or f"unsupported start tag \"{tag}\""
        elif tag != "br":
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.error = self.error or f"unexpected end tag \"{tag}\""
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> str:
    """The text a user would read, or ApiError(400) as Telegram answers broken markup."""
    if _BAD_ENTITY.search(text):
        raise ApiError(400, "Bad Request: can't parse entities: unsupported entity")
    parser = _TelegramHtml()
    parser.feed(text)
    parser.close()
    if parser.error or parser.stack:
        raise ApiError(400, f"Bad Request: can't parse entities: {parser.error or 'unclosed tag'}")
    return "".join(parser.text)


class FakeBotApi:
    def __init__(self, token: str = TOKEN):
        self.token = token
        self.bot = {"id": BOT_ID, "is_bot": True, "first_name": "socialbot", "username": BOT_USERNAME,
                    "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.pending: list[dict] = []  # updates not yet confirmed by a getUpdates offset
        self.confirmed_below = 0
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}
        self.chats: dict[int, dict] = {}
        self.messages: dict[tuple[int, int], dict] = {}
        self.failures: dict[str, list[ApiError]] = {}
        self.drops: dict[str, int] = {}  # method -> how many of its next calls lose their connection
        self.delays: dict[str, list[float]] = {}  # method -> seconds each of its next calls takes to answer
        self.fail_confirms = False  # getUpdates with an offset (the call that confirms) answers 500
        self._update_ids = itertools.count(1000)
        self._message_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task] = set()
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> "FakeBotApi":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server:
            self._server.close()
        for task in list(self._connections):
            task.cancel()
        for task in list(self._connections):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._server:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- what tests read ----------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat: int | None = None) -> list[dict]:
        """Messages delivered (sendMessage calls answered 200): their params, plus "plain", the text
        as the user reads it; oldest first. Refused calls are in calls_to("sendMessage")."""
        return [c.params for c in self.calls_to("sendMessage")
                if c.status == 200 and (chat is None or c.params.get("chat_id") == chat)]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0, what: str = "a call") -> Any:
        """Polls `predicate` until it returns something truthy; fails after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                recent = [(c.method, {k: v for k, v in c.params.items() if k != "reply_markup"}) for c in self.calls[-8:]]
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; last calls: {recent}")
            await asyncio.sleep(0.01)

    async def wait_sent(self, chat: int, count: int = 1, timeout: float = 10.0) -> list[dict]:
        """Waits until `chat` has received at least `count` messages; returns all of them."""
        return await self.wait_for(lambda: len(self.sent(chat)) >= count and self.sent(chat), timeout,
                                   f"{count} message(s) to chat {chat}")

    async def wait_method(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        return await self.wait_for(lambda: len(self.calls_to(method)) >= count and self.calls_to(method),
                                   timeout, f"{count} {method} call(s)")

    def buttons(self, sent: dict) -> list[tuple[str, str]]:
        """(label, callback_data) of a sent message's inline keyboard, row by row."""
        markup = sent.get("reply_markup") or {}
        return [(b["text"], b["callback_data"]) for row in markup.get("inline_keyboard", []) for b in row]

    def fail_next(self, method: str, code: int, description: str, retry_after: int | None = None) -> None:
        """The next call to `method` fails as Telegram would (429 with retry_after, 400, 403...)."""
        params = {"retry_after": retry_after} if retry_after is not None else None
        self.failures.setdefault(method, []).append(ApiError(code, description, params))

    def drop_next(self, method: str, times: int = 1) -> None:
        """The next call(s) to `method` are read, then the connection is closed with no answer
        (nothing is done: a message is not delivered)."""
        self.drops[method] = self.drops.get(method, 0) + times

    def slow_next(self, method: str, seconds: float) -> None:
        """The next call to `method` is done (a message delivered) but answered only after `seconds`."""
        self.delays.setdefault(method, []).append(seconds)

    def finished(self, method: str) -> bool:
        """Every call to `method` so far has been answered (a slow one included)."""
        return all(c.status is not None for c in self.calls_to(method))

    # -- updates tests push --------------------------------------------------------------------------
    def user(self, uid: int, lang: str | None = "en") -> dict:
        user = {"id": uid, "is_bot": False, "first_name": f"User{uid}"}
        if lang:
            user["language_code"] = lang
        return user

    def chat(self, chat_id: int, kind: str = "private") -> dict:
        chat = {"id": chat_id, "type": kind}
        if kind == "private":
            chat["first_name"] = f"User{chat_id}"
        else:
            chat["title"] = f"Chat {chat_id}"
        self.chats[chat_id] = chat
        return chat

    def push(self, update: dict) -> int:
        """Queues an update for getUpdates; returns its update_id."""
        update = {"update_id": next(self._update_ids), **update}
        self.pending.append(update)
        self._new_update.set()
        return update["update_id"]

    def message(self, uid: int, text: str | None = None, *, lang: str | None = "en", chat: int | None = None,
                chat_type: str = "private", **fields) -> dict:
        """A Message object from user `uid` (in their private chat unless `chat` says otherwise)."""
        msg = {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.user(uid, lang),
               "chat": self.chat(chat if chat is not None else uid, chat_type), **fields}
        if text is not None:
            msg["text"] = text
            entities = list(fields.pop("entities", []) or [])
            if text.startswith("/"):
                entities.append({"type": "bot_command", "offset": 0, "length": _utf16(text.split()[0])})
            for m in re.finditer(r"@\w+", text):
                entities.append({"type": "mention", "offset": _utf16(text[:m.start()]), "length": _utf16(m.group())})
            if entities:
                msg["entities"] = entities
        return msg

    def push_text(self, uid: int, text: str, **kw) -> int:
        return self.push({"message": self.message(uid, text, **kw)})

    def push_edited(self, uid: int, text: str, **kw) -> int:
        msg = self.message(uid, text, **kw)
        msg["edit_date"] = msg["date"]
        return self.push({"edited_message": msg})

    def push_media(self, uid: int, kind: str, **kw) -> int:
        """A sticker, photo, voice, video, document, location, contact... from user `uid`."""
        return self.push({"message": self.message(uid, None, **{kind: MEDIA_SAMPLES[kind]}, **kw)})

    def push_channel_post(self, chat_id: int, text: str) -> int:
        post = {"message_id": next(self._message_ids), "date": int(time.time()),
                "chat": self.chat(chat_id, "channel"), "text": text}
        return self.push({"channel_post": post})

    def push_button(self, uid: int, data: str, *, message: dict | None = None, lang: str | None = "en") -> int:
        """A press on an inline button: by default on the last message the bot sent to `uid`.
        The query's id is "q" + the update_id returned."""
        if message is None:
            message = self.messages[max(k for k in self.messages if k[0] == uid)]
        update_id = next(self._update_ids)
        query = {"id": f"q{update_id}", "from": self.user(uid, lang), "chat_instance": f"ci{uid}",
                 "data": data, "message": message}
        return self.push({"update_id": update_id, "callback_query": query})

    def press(self, uid: int, label: str, **kw) -> int:
        """Presses the button labelled `label` on the last message the bot sent to `uid`, as it shows
        now (after any edits); a label matches with or without the keyboard's ◀ ▶ marks."""
        last = self.shown(uid)[-1]
        found = {text.strip("◀▶ "): data for text, data in self.buttons(last)} | dict(self.buttons(last))
        data = found.get(label)
        assert data, f"no button {label!r} in {self.buttons(last)}"
        return self.push_button(uid, data, message=last, **kw)

    async def post_to_webhook(self, update: dict, secret: str | None | type = ..., url: str | None = None) -> int:
        """POSTs an update to the bot's webhook as Telegram does; returns the HTTP status.
        `secret`: the registered one by default; None sends no secret header."""
        import httpx

        update = {"update_id": next(self._update_ids), **update}
        secret = self.webhook.get("secret_token") if secret is ... else secret
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with httpx.AsyncClient() as client:
            response = await client.post(url or self.webhook["url"], json=update, headers=headers, timeout=10)
        return response.status_code

    # -- HTTP ----------------------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections.add(task)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                method, target, headers, body = request
                name = urlsplit(target).path.rpartition("/")[2]
                if self.drops.get(name):  # a dropped connection: read, never answered
                    self.drops[name] -= 1
                    self.calls.append(Call(name, {}, status=0))
                    break
                status, payload = await self._dispatch(method, target, headers, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self._connections.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _dispatch(self, verb: str, target: str, headers: dict, body: bytes) -> tuple[int, dict]:
        path = urlsplit(target).path
        prefix = f"/bot{self.token}/"
        if not path.startswith(prefix):
            code = 404 if path.startswith("/file/") else 401
            return code, {"ok": False, "error_code": code, "description": "Unauthorized" if code == 401 else "Not Found"}
        name = path[len(prefix):]
        try:
            params = decode_body(headers.get("content-type", ""), body)
            params.update(_decode(dict(parse_qsl(urlsplit(target).query))))
        except ValueError as err:
            return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {err}"}
        call = Call(name, params)
        self.calls.append(call)
        call.status, answer = await self._answer(call)
        return call.status, answer

    async def _answer(self, call: Call) -> tuple[int, dict]:
        name, params = call.method, call.params
        try:
            failure = self.failures.get(name)
            if failure:
                raise failure.pop(0)
            handler = getattr(self, f"api_{name.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
            if self.delays.get(name):  # done, but answered late (the client may have given up by then)
                await asyncio.sleep(self.delays[name].pop(0))
            return 200, {"ok": True, "result": result}
        except ApiError as err:
            answer = {"ok": False, "error_code": err.code, "description": err.description}
            if err.parameters:
                answer["parameters"] = err.parameters
            return err.code, answer

    # -- the methods ---------------------------------------------------------------------------------
    def api_getme(self, params):
        return self.bot

    async def api_getupdates(self, params):
        if self.webhook["url"]:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        if offset > 0 and self.fail_confirms:
            raise ApiError(500, "Internal Server Error")
        if offset > 0:  # confirms every update before it, as Telegram does
            self.confirmed_below = max(self.confirmed_below, offset)
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        if not self.pending and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        return self.pending[:limit]

    def api_sendmessage(self, params):
        chat_id = params["chat_id"]
        plain = self._plain(params)
        self._check_markup(params.get("reply_markup"))
        params["plain"] = plain
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": self.bot,
                   "chat": self.chats.get(chat_id) or {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                   "text": plain}
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def api_editmessagetext(self, params):
        key = (params.get("chat_id"), params.get("message_id"))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        plain = self._plain(params)
        self._check_markup(params.get("reply_markup"))
        params["plain"] = plain
        before = self.messages[key]
        if plain == before["text"] and params.get("reply_markup") == before.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup of the message")
        # Like Telegram: an edit without reply_markup leaves the message with no keyboard.
        self.messages[key] = {**self._without_markup(before), "text": plain, "edit_date": int(time.time()),
                              **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {})}
        return self.messages[key]

    def api_editmessagereplymarkup(self, params):
        key = (params.get("chat_id"), params.get("message_id"))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        self._check_markup(params.get("reply_markup"))
        before = self.messages[key]
        if params.get("reply_markup") == before.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        self.messages[key] = {**self._without_markup(before), "edit_date": int(time.time()),
                              **({"reply_markup": params["reply_markup"]} if params.get("reply_markup") else {})}
        return self.messages[key]

    @staticmethod
    def _plain(params) -> str:
        """The text of a send or an edit as the user reads it; refused as Telegram refuses it."""
        text = params.get("text") or ""
        plain = parse_html(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(plain.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    @staticmethod
    def _without_markup(message: dict) -> dict:
        return {k: v for k, v in message.items() if k != "reply_markup"}

    def live_keyboards(self, chat: int) -> list[int]:
        """Ids of the messages in `chat` that still show buttons someone can press."""
        return sorted(mid for (cid, mid), m in self.messages.items()
                      if cid == chat and m.get("from") == self.bot and (m.get("reply_markup") or {}).get("inline_keyboard"))

    def shown(self, chat: int) -> list[dict]:
        """The bot's messages in `chat` as the user sees them now (after edits), oldest first."""
        return [m for (cid, _), m in sorted(self.messages.items()) if cid == chat and m.get("from") == self.bot]

    def api_answercallbackquery(self, params):
        return True

    def api_setmycommands(self, params):
        for command in params.get("commands") or []:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def api_deletemycommands(self, params):
        return True

    def api_setwebhook(self, params):
        self.webhook = {"url": params.get("url") or "", "secret_token": params.get("secret_token")}
        return True

    def api_deletewebhook(self, params):
        self.webhook = {"url": "", "secret_token": None}
        if str(params.get("drop_pending_updates")).lower() == "true":
            self.pending.clear()
        return True

    def api_getwebhookinfo(self, params):
        return {"url": self.webhook["url"], "has_custom_certificate": False, "pending_update_count": len(self.pending)}

    def api_close(self, params):
        return True

    def api_logout(self, params):
        return True

    @staticmethod
    def _check_markup(markup) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")


MEDIA_SAMPLES: dict[str, Any] = {
    "sticker": {"file_id": "stk", "file_unique_id": "stku", "type": "regular", "width": 512, "height": 512,
                "is_animated": False, "is_video": False},
    "photo": [{"file_id": "ph", "file_unique_id": "phu", "width": 90, "height": 90}],
    "voice": {"file_id": "vc", "file_unique_id": "vcu", "duration": 3},
    "video": {"file_id": "vd", "file_unique_id": "vdu", "width": 640, "height": 480, "duration": 5},
    "document": {"file_id": "dc", "file_unique_id": "dcu", "file_name": "form.pdf"},
    "location": {"latitude": 39.9, "longitude": 116.4},
    "contact": {"phone_number": "+100000000", "first_name": "Ana"},
    "audio": {"file_id": "au", "file_unique_id": "auu", "duration": 60},
}


# -- HTTP/1.1 on a stream ------------------------------------------------------------------------
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error"}


async def _read_request(reader: asyncio.StreamReader) -> tuple[str, str, dict, bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    verb, target, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readline()).split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length") or 0))
    return verb, target, headers, body


def decode_body(content_type: str, body: bytes) -> dict[str, Any]:
    """The parameters of a Bot API call, whichever way they were posted."""
    if not body:
        return {}
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        return json.loads(body)
    if kind == "application/x-www-form-urlencoded":
        return _decode(dict(parse_qsl(body.decode(), keep_blank_values=True)))
    if kind == "multipart/form-data":
        raw = f"Content-Type: {content_type}\r\n\r\n".encode() + body
        parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
        fields = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                fields[name] = part.get_payload(decode=True)
            else:
                fields[name] = part.get_payload(decode=True).decode()
        return _decode(fields)
    raise ValueError(f"unsupported content type {content_type!r}")


def _decode(fields: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in fields.items():
        if isinstance(value, str) and name in JSON_FIELDS:
            value = json.loads(value)
        elif isinstance(value, str) and name in INT_FIELDS and re.fullmatch(r"-?\d+", value):
            value = int(value)
        out[name] = value
    return out


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
