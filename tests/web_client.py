"""A real `socialbot web` server on a loopback port in a thread, and a browserless client for it.

The client is what a browser with JavaScript off does: GET the page, POST its forms (with the
XSRF token and the cookies the server set), read the conversation back out of the HTML.
"""
from __future__ import annotations

import asyncio
import copy
import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from html.parser import HTMLParser

from bot.store import Store


class WebServer:
    """The tornado app over a copy of the session's Dialogue with its own store, on 127.0.0.1."""

    def __init__(self, built_dialogue, **settings):
        from bot.channels import web

        self.dialogue = copy.copy(built_dialogue)
        self.settings = web.Settings(cookie_secret="test-secret", **settings)
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(30), "the web server did not start"

    def _run(self):
        import tornado.httpserver
        import tornado.netutil

        from bot.channels import web

        async def main():
            self.dialogue.store = Store(memory=True)  # sqlite connections belong to the thread using them
            self.app = web.make_app(self.dialogue, self.dialogue.store, self.settings)
            sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
            self.port = sockets[0].getsockname()[1]
            server = tornado.httpserver.HTTPServer(self.app, max_body_size=web.MAX_BODY)
            server.add_sockets(sockets)
            self.stop = asyncio.Event()
            self.loop = asyncio.get_running_loop()
            self.ready.set()
            await self.stop.wait()
            server.stop()
            self.dialogue.store.close()

        asyncio.run(main())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


@dataclass
class Bubble:
    who: str  # user | bot
    lang: str
    text: str
    attrs: dict = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (label, id)

    def to_json(self) -> dict:
        """The protocol's reply object, as far as the page shows it (for the dialogue scripts)."""
        return {"text": self.text, "buttons": [label for label, _ in self.buttons], "lang": self.lang,
                "kind": self.attrs.get("data-kind"), "flow": self.attrs.get("data-flow") or None,
                "step": self.attrs.get("data-step") or None, "topic": self.attrs.get("data-topic") or None}


class PageParser(HTMLParser):
    """The bubbles of a conversation page (or fragment), the page's language and its XSRF token."""

    BLOCKS = {"p", "li", "h3", "br"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.bubbles: list[Bubble] = []
        self.lang = None
        self.xsrf = None
        self._in = None  # the bubble being read
        self._depth = 0
        self._text: list[str] = []
        self._skip = 0  # inside a heading that is not reply text (h2.who)
        self._button: tuple[str, list] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "input" and a.get("name") == "_xsrf":
            self.xsrf = a.get("value")
        cls = a.get("class", "")
        if tag in ("article", "div") and "turn" in cls.split():
            self._in = Bubble("bot" if "turn-bot" in cls else "user", a.get("lang", ""), "", a)
            self._depth, self._text = 0, []
        if self._in is None:
            return
        if tag in ("article", "div"):
            self._depth += 1
        if tag == "h2":
            self._skip += 1
        if tag in self.BLOCKS and self._text:
            self._text.append("\n")
        if tag == "button":
            self._button = (a.get("value", ""), [])

    def handle_endtag(self, tag):
        if self._in is None:
            return
        if tag == "h2":
            self._skip -= 1
        if tag in ("p", "ol", "ul", "h3"):
            self._text.append("\n\n")
        if tag == "button" and self._button:
            self._in.buttons.append(("".join(self._button[1]).strip(), self._button[0]))
            self._button = None
        if tag in ("article", "div"):
            self._depth -= 1
            if self._depth == 0:
                self._in.text = "".join(self._text).strip()
                self.bubbles.append(self._in)
                self._in = None

    def handle_data(self, data):
        if self._in is None or self._skip:
            return
        if self._button:
            self._button[1].append(data)
        elif data.strip():
            self._text.append(data.strip("\n"))


def parse(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    return p


class LoopbackIsSecure(http.cookiejar.DefaultCookiePolicy):
    """As browsers do, a Secure cookie is kept and sent over plain http to 127.0.0.1 and localhost
    (origins that count as secure): the embed's cookies are Secure."""

    def _loopback(self, request) -> bool:
        return urllib.parse.urlsplit(request.get_full_url()).hostname in ("127.0.0.1", "localhost")

    def return_ok_secure(self, cookie, request):
        return self._loopback(request) or super().return_ok_secure(cookie, request)


class Client:
    """A browser without JavaScript: cookies kept, forms posted with their token."""

    def __init__(self, base: str, accept_language: str = "en", headers: dict | None = None):
        self.base = base
        self.jar = http.cookiejar.CookieJar(LoopbackIsSecure())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.headers = {"Accept-Language": accept_language, **(headers or {})}
        self.page: PageParser | None = None
        self.status = None

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers={**self.headers, **(headers or {})})
        try:
            with self.opener.open(req, timeout=30) as resp:
                self.status, text = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            self.status = err.code
            try:
                text = err.read().decode("utf-8")
            except (ConnectionResetError, BrokenPipeError):
                # A server refusing an oversized body answers, then closes before we finish sending.
                text = ""
        except (urllib.error.URLError, ConnectionResetError, BrokenPipeError):
            # The server cut the connection before any answer arrived: a refusal with no status.
            self.status, text = None, ""
        return self.status, text

    def open(self, path: str = "/") -> PageParser:
        status, text = self.request(path)
        assert status == 200, (status, text)
        self.page = parse(text)
        return self.page

    def post(self, path: str = "/", **fields) -> PageParser:
        if self.page is None:
            self.open(path)
        status, text = self.request(path, {"_xsrf": self.page.xsrf, **fields})
        page = parse(text)
        if page.xsrf:
            self.page = page
        return page

    def say(self, text: str, path: str = "/") -> Bubble:
        return self.post(path, text=text).bubbles[-1]

    def press(self, label: str, path: str = "/") -> Bubble:
        """Press a button of the last reply, by its label (the form sends the button's stable id)."""
        bubble = self.page.bubbles[-1]
        ids = [bid for lab, bid in bubble.buttons if lab == label]
        assert ids, f"no button {label!r} in {bubble.buttons}"
        return self.post(path, button=ids[0]).bubbles[-1]

    @property
    def last(self) -> Bubble:
        return self.page.bubbles[-1]
