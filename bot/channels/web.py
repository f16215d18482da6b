"""`socialbot web`: the chat a bureau puts on its own site, on tornado, over the same dialogue core.

The page works with JavaScript off: a real form posts the question and the whole conversation page
comes back. bot/static/web.js only enhances that form (fetch, append, announce). The user's place is
the core's (keyed by a random id in a signed, HttpOnly, SameSite=Lax cookie); the transcript the page
shows is a bounded in-memory convenience, so a restart keeps the place and loses only old bubbles.
"""
from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path

import tornado.httpserver
import tornado.web

from bot import buttons as bt
from bot import privacy, render
from bot.channels import web_page
from bot.messages import LANGS, Message, hint_language

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent.parent / "static"
COOKIE = "socialbot_session"
MAX_BODY = 16 * 1024  # a question is a line of text; anything bigger is not one
MAX_TEXT = 1000
KEEP_TURNS = 40  # bubbles a page shows
KEEP_SESSIONS = 20_000  # transcripts kept in memory, least recently used dropped first


@dataclass(frozen=True)
class Settings:
    cookie_secret: str
    frame_ancestors: str = "'self'"  # who may put /embed in an iframe (CSP frame-ancestors)
    rate: int = 30  # messages a client may send per window
    window: float = 60.0
    cookie_days: int = 30

    @classmethod
    def from_env(cls, env=os.environ) -> "Settings":
        secret = env.get("SOCIALBOT_WEB_SECRET")
        if not secret:
            log.warning("SOCIALBOT_WEB_SECRET is unset: a random one for this run (cookies end with it)")
        return cls(cookie_secret=secret or secrets.token_hex(32),
                   frame_ancestors=env.get("SOCIALBOT_WEB_FRAME_ANCESTORS", "'self'"),
                   rate=int(env.get("SOCIALBOT_WEB_RATE", "30")))


class RateLimit:
    """A sliding window per client: at most `rate` messages in `window` seconds."""

    def __init__(self, rate: int, window: float, clock=time.monotonic):
        self.rate, self.window, self.clock = rate, window, clock
        self.seen: OrderedDict[str, deque] = OrderedDict()

    def allow(self, client: str) -> bool:
        now = self.clock()
        times = self.seen.pop(client, None) or deque()
        while times and now - times[0] > self.window:
            times.popleft()
        self.seen[client] = times
        if len(self.seen) > KEEP_SESSIONS:
            self.seen.popitem(last=False)
        if len(times) >= self.rate:
            return False
        times.append(now)
        return True


class Transcripts:
    """What each session's page shows, bounded in turns and in sessions."""

    def __init__(self):
        self.by_session: OrderedDict[str, deque] = OrderedDict()

    def get(self, sid: str) -> deque:
        turns = self.by_session.pop(sid, None) or deque(maxlen=KEEP_TURNS)
        self.by_session[sid] = turns
        if len(self.by_session) > KEEP_SESSIONS:
            self.by_session.popitem(last=False)
        return turns

    def drop(self, sid: str) -> None:
        self.by_session.pop(sid, None)


class Base(tornado.web.RequestHandler):
    @property
    def dialogue(self):
        return self.application.settings["dialogue"]

    @property
    def store(self):
        return self.application.settings["store"]

    @property
    def web(self) -> Settings:
        return self.application.settings["web"]

    def set_default_headers(self) -> None:
        ancestors = self.application.settings["web"].frame_ancestors if self.request.path == "/embed" else "'self'"
        self.set_header("Content-Security-Policy",
                        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                        "connect-src 'self'; form-action 'self'; base-uri 'none'; "
                        f"frame-ancestors {ancestors}")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    @property
    def embedded(self) -> bool:
        """Inside an iframe on another site: /embed (or /forget sent from it) while
        SOCIALBOT_WEB_FRAME_ANCESTORS lets another site frame it."""
        if self.web.frame_ancestors.strip() == "'self'":
            return False
        if self.request.path == "/embed":
            return True
        return self.request.path == "/forget" and self.get_body_argument("back", "") == "/embed"

    def set_cookie(self, name, value, *args, **kwargs) -> None:
        # In an iframe on another site a SameSite=Lax cookie is never sent back, so the XSRF token
        # never matches and the session never holds. There the embed's cookies are SameSite=None,
        # Secure (the bureau's page is https, and an https page frames only https) and Partitioned
        # (CHIPS: kept only under the site that embeds it, so it is no tracking cookie).
        if self.embedded:
            kwargs.update(samesite="None", secure=True)
        super().set_cookie(name, value, *args, **kwargs)

    def flush(self, *args, **kwargs):
        new = getattr(self, "_new_cookie", None)  # tornado's pending Set-Cookie morsels
        if self.embedded and new and not self._headers_written:
            for morsel in new.values():  # http.cookies knows no Partitioned before Python 3.14
                self.add_header("Set-Cookie", morsel.OutputString(None) + "; Partitioned")
            new.clear()
        return super().flush(*args, **kwargs)

    def check_xsrf_cookie(self) -> None:
        # A browser says where a request comes from; a cross-site POST is refused before anything else.
        site = self.request.headers.get("Sec-Fetch-Site")
        if site not in (None, "same-origin", "none"):
            raise tornado.web.HTTPError(403, "cross-site request")
        super().check_xsrf_cookie()

    def session(self, create: bool = True) -> str | None:
        raw = self.get_signed_cookie(COOKIE, max_age_days=self.web.cookie_days)
        sid = raw.decode() if raw else None
        if sid is None and create:
            sid = secrets.token_urlsafe(18)
        if sid:  # refreshed on every visit, so "the next day" stays within the cookie's life
            self.set_signed_cookie(COOKIE, sid, expires_days=self.web.cookie_days, httponly=True,
                                   samesite="Lax", secure=self.request.protocol == "https")
        return sid

    def page_lang(self, sid: str) -> str:
        user = self.store.user(user_id(sid))
        if user.lang in LANGS and (user.lang_chosen or self.transcripts.by_session.get(sid)):
            return user.lang
        return accept_language(self.request.headers.get("Accept-Language", "")) or user.lang or "en"

    @property
    def transcripts(self) -> Transcripts:
        return self.application.settings["transcripts"]

    def write_error(self, status_code: int, **kwargs) -> None:
        lang = accept_language(self.request.headers.get("Accept-Language", "")) or "en"
        key = {403: "web_forbidden", 429: "web_rate_limited"}.get(status_code, "error")
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(render.say(key, lang))


def user_id(sid: str) -> str:
    return f"web:{sid}"


def accept_language(header: str) -> str | None:
    """The first of our languages the browser asks for, by its q weights."""
    ranked = []
    for n, part in enumerate(header.split(",")):
        code, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, n, code.strip()))
    for _, _, code in sorted(ranked):
        lang = hint_language(code)
        if lang:
            return lang
    return None


class ChatHandler(Base):
    """GET: the conversation so far; POST: one question or pressed button, then the page (or, for the
    enhanced page, only the new turn)."""

    def initialize(self, compact: bool = False):
        self.compact = compact

    def get(self) -> None:
        sid = self.session()
        turns = self.transcripts.get(sid)
        if not turns:  # a first visit, or a return after a restart: the core says where the user is
            self.handle(sid, Message(user=user_id(sid), text="/start", lang_hint=self.page_lang(sid),
                                     channel="web"), said="")
        self.render_page(sid)

    def post(self) -> None:
        sid = self.session()
        if not self.application.settings["limiter"].allow(self.request.remote_ip or "?"):
            self.set_status(429)
            lang = self.page_lang(sid)
            return self.render_page(sid, notice=render.say("web_rate_limited", lang)) if not self.wants_fragment() \
                else self.finish(render.say("web_rate_limited", lang))
        text = self.get_body_argument("text", "")[:MAX_TEXT]
        button = self.get_body_argument("button", None)
        turns = self.transcripts.get(sid)
        said = ""
        if button:
            label = next((b.label for t in reversed(turns) for b in t.reply.buttons if b.id == button), None)
            pressed = bt.decode(button)
            if label is None and isinstance(pressed, bt.Language):  # the language switch above the chat
                label = web_page.LANGUAGE_NAMES.get(pressed.lang)
            said = label or ""
            message = Message(user=user_id(sid), button=button[:200], lang_hint=self.page_lang(sid), channel="web")
        else:
            said = privacy.mask(text)
            message = Message(user=user_id(sid), text=text, lang_hint=self.page_lang(sid), channel="web")
        new = self.handle(sid, message, said=said)
        if new.reply.kind == "forgotten":
            self.forget(sid)
        if self.wants_fragment():
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("X-Socialbot-Lang", new.reply.lang)
            return self.finish(web_page.fragment([new], new.reply.lang, xsrf=self.xsrf_token.decode(),
                                                 action=self.request.path))
        self.render_page(sid)

    def handle(self, sid: str, message: Message, said: str) -> web_page.Turn:
        reply = self.dialogue.handle(message)
        new = web_page.turn(said, reply.lang, reply)
        self.transcripts.get(sid).append(new)
        return new

    def forget(self, sid: str) -> None:
        self.transcripts.drop(sid)
        self.clear_cookie(COOKIE)

    def wants_fragment(self) -> bool:
        return self.get_query_argument("fragment", None) == "1"

    def render_page(self, sid: str, notice: str = "") -> None:
        turns = list(self.transcripts.by_session.get(sid) or ())
        lang = turns[-1].reply.lang if turns else self.page_lang(sid)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(web_page.page(turns, lang, xsrf=self.xsrf_token.decode(), action=self.request.path,
                                  compact=self.compact, notice=notice))


class ForgetHandler(ChatHandler):
    """POST /forget: every row about the user erased, the cookie cleared, a fresh page."""

    def post(self) -> None:
        sid = self.session(create=False)
        lang = self.page_lang(sid) if sid else "en"
        if sid:
            # The page's own "Erase" form is the confirmation the dialogue otherwise asks for.
            self.dialogue.handle(Message(user=user_id(sid), button=bt.encode(bt.Forget(True)), channel="web"))
            self.forget(sid)
        back = "/embed" if self.get_body_argument("back", "/") == "/embed" else "/"
        self.set_header("Content-Type", "text/html; charset=utf-8")
        reply = web_page.turn("", lang, self.dialogue_forgotten(lang))
        self.finish(web_page.page([reply], lang, xsrf=self.xsrf_token.decode(), action=back,
                                  compact=back == "/embed"))

    def dialogue_forgotten(self, lang: str):
        from bot.messages import Reply

        return Reply("", render.say("forgotten", lang), lang, "forgotten")


class HealthHandler(Base):
    def get(self) -> None:
        try:
            ok = bool(self.dialogue.kb.topics) and self.store.alive()
        except Exception:  # any failure of the database is "not healthy", never a crash
            log.exception("health check failed")
            ok = False
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("ok" if ok else "unhealthy")


def make_app(dialogue, store, settings: Settings) -> tornado.web.Application:
    """The site over `dialogue`; `store` is the same database, read for a page's language and health."""
    return tornado.web.Application(
        [(r"/", ChatHandler), (r"/embed", ChatHandler, {"compact": True}), (r"/forget", ForgetHandler),
         (r"/healthz", HealthHandler)],
        static_path=str(STATIC), static_url_prefix="/static/",
        cookie_secret=settings.cookie_secret, xsrf_cookies=True,
        xsrf_cookie_kwargs={"httponly": True, "samesite": "Lax"},
        dialogue=dialogue, store=store, web=settings, limiter=RateLimit(settings.rate, settings.window),
        transcripts=Transcripts(), compress_response=False)


def listen(app: tornado.web.Application, host: str, port: int) -> tornado.httpserver.HTTPServer:
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY, max_buffer_size=MAX_BODY * 4)
    server.listen(port, address=host)
    return server


async def serve(dialogue, store, settings: Settings, host: str, port: int) -> int:
    """Until SIGINT or SIGTERM; then a clean stop and status 0."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    server = listen(make_app(dialogue, store, settings), host, port)
    print(f"socialbot web: open http://{host}:{port}/", flush=True)
    await stop.wait()
    server.stop()
    await server.close_all_connections()
    return 0


def run(dialogue, store, host: str = "127.0.0.1", port: int = 8080) -> int:
    """`socialbot web`, over the dialogue and store the command built."""
    return asyncio.run(serve(dialogue, store, Settings.from_env(), host, port))
