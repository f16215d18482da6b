"""Telegram: a thin adapter over the dialogue core, on python-telegram-bot v22.

Telegram updates become `Message`s; the core's `Reply`s become HTML messages with inline
keyboards. Long polling by default; a webhook with a secret token when TELEGRAM_WEBHOOK_URL
is set. Reminders live in the database (the job queue only looks at them every few minutes),
so they survive a restart.

Reading order: `run` (what the `socialbot telegram` command calls with the dialogue and the store
it built) -> `build_application` (the table of contents) -> `TelegramChannel` (one short callback
per kind of update).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
from telegram import (BotCommand, BotCommandScopeDefault, LinkPreviewOptions, Message as TgMessage,
                      ReplyParameters, Update)
from telegram.constants import ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.helpers import effective_message_type
from telegram.ext import (Application, ApplicationBuilder, ApplicationHandlerStop, CallbackQueryHandler,
                          ContextTypes, Defaults, MessageHandler, TypeHandler, filters)

from bot import buttons as bt
from bot import render
from bot.channels.telegram_answer import answer_view
from bot.channels.telegram_format import (KB_FIRST, KB_MORE, KB_REST, has_more, keyboard, split_text, step_html,
                                          to_html)
from bot.channels.telegram_runtime import PerChatRateLimiter, PerUserOrder, Settings
from bot.channels.telegram_steps import READ, StepMessages, pop_up, press_kind, to_read, without, without_feedback
from bot.channels.telegram_webhook import WebhookServer
from bot.logs import redact
from bot.messages import LANGS, Button, Message, Reply, hint_language
from bot.reminders import due, next_window
from bot.store import KEEP_OFFERS, StoreUnavailable, now
from conversations.events import Continue
from knowledge.language import LANGS

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# The commands Telegram's menu shows, described in each language (bot/strings.yaml, menu_*).
COMMANDS: dict[str, dict[str, str]] = {
    name: {lang: render.say(f"menu_{name}", lang) for lang in LANGS}
    for name in ("start", "help", "language", "cancel", "remind", "forget")
}
GROUPS = (ChatType.GROUP, ChatType.SUPERGROUP)
# Telegram redelivers an update it was not told we have (a failed confirming getUpdates, a webhook
# answer that never reached it) for about a day; handled ids are kept a little longer.
KEEP_HANDLED = timedelta(days=2)
DIALOGUE_THREADS = 4


class TelegramChannel:
    """Turns updates into Messages for the dialogue, and its Replies into Telegram messages."""

    def __init__(self, dialogue, store, settings: Settings, clock: Callable[[], datetime] = now):
        self.dialogue = dialogue
        self.store = store  # update ids, reminders, kept menus and steps, the purge: the channel's own rows
        self.settings = settings
        self.clock = clock
        # The dialogue runs here, off the event loop: a message that is slow to answer holds one thread,
        # not every other user's updates (PerUserOrder still keeps each user's in order).
        self.workers = ThreadPoolExecutor(max_workers=DIALOGUE_THREADS, thread_name_prefix="dialogue")
        # What a message offers besides its keyboard (the options "More…" hides, the rest behind "Read
        # more") and which message shows each user's step are in the store: a restart keeps them.
        self.steps = StepMessages(self.store, self.as_html)

    # -- updates ------------------------------------------------------------------------------
    async def claim(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Before any handler: an update handled before (Telegram sent it again) is not applied twice."""
        if not self.store.claim_update(context.bot.id, update.update_id):
            log.info("update %s was handled before: not applied again", update.update_id)
            raise ApplicationHandlerStop

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A message (or an edited one, answered like a new one): text, a command, or media."""
        msg = update.effective_message
        if msg.chat.type == ChatType.CHANNEL or is_service(update):
            return
        text = msg.text if msg.text is not None else msg.caption
        if msg.chat.type in GROUPS:
            text = addressed_text(msg, context.bot.username, context.bot.id)
            if text is None:  # in a group, only what is meant for the bot
                return
        media = None if msg.text is not None else media_kind(msg)
        reply = await self.answer(self.message(update, text=text or "", media=media))
        await self.send(context, msg.chat_id, reply, answering=msg)

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A pressed inline button: answered (a pop-up for a tick or a vote), then shown in place of
        the step pressed, or as a new message."""
        query = update.callback_query
        if not query.data:  # a game's button: nothing of ours
            await self.acknowledge(query)
            return
        if query.data.startswith("kb:"):  # the keyboard's own buttons: nothing for the dialogue
            await self.on_keyboard_button(update, context)
            return
        chat_id = query.message.chat.id if query.message else query.from_user.id
        reply = await self.answer(self.message(update, button=query.data, chat=chat_id))
        await self.acknowledge(query, pop_up(query.data, reply))
        pressed = query.message.message_id if isinstance(query.message, TgMessage) else None
        kind = press_kind(query.data)
        if kind == "feedback" and pressed is not None:  # thanked in the pop-up: only 👍 👎 go
            await self.steps.retire(context.bot, chat_id, pressed, without_feedback(query.message.reply_markup))
            return
        if pressed is not None and kind in ("step", "tick"):
            if self.steps.may_edit(chat_id, reply.user, pressed, query.data):
                # a tick on options "More…" showed keeps them showing: the item ticked stays in sight
                expanded = kind == "tick" and not shows_more(query.message.reply_markup)
                if await self.steps.edit(context.bot, chat_id, pressed, reply, expanded=expanded):
                    self.keep_menu(chat_id, pressed, reply, reply.buttons, replacing=True)
                    return
            else:  # a step's button on an older message or an answer: its step controls go, the step comes below
                await self.steps.quiet(context.bot, chat_id, pressed)
        await self.send(context, chat_id, reply)

    async def acknowledge(self, query, text: str | None = None) -> None:
        try:
            await query.answer(text)
        except TelegramError as err:  # too old to acknowledge, or the network: the press still deserves its answer
            log.info("callback query not acknowledged: %s", err)

    async def on_keyboard_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """"More…" shows the options it hid; a stand-in of the fixed row says why it does nothing."""
        query, lang = update.callback_query, self.lang_of(update)
        if query.data == KB_REST:
            await self.on_read_more(update, context)
            return
        if query.data != KB_MORE:
            await query.answer(render.say("kb_first" if query.data == KB_FIRST else "kb_choose", lang))
            return
        message = query.message
        menu = self.store.offer(message.chat.id, message.message_id, "menu") if message else None
        if menu is None:  # long ago (KEEP_OFFERS), or a keyboard since replaced
            await query.answer(render.say("kb_gone", lang))
            return
        await query.answer()
        buttons = [Button(b["label"], b["id"]) for b in menu[0] if isinstance(b, dict)]
        await message.edit_reply_markup(keyboard(buttons, menu[1], expanded=True))

    async def on_read_more(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """The rest of a long answer, below it; the button goes."""
        query, message = update.callback_query, update.callback_query.message
        kept = self.store.offer(message.chat.id, message.message_id, "rest", take=True) if message else None
        if kept is None or not isinstance(kept[0], str):  # sent long ago (KEEP_OFFERS), or read already
            await query.answer(render.say("kb_gone", self.lang_of(update)))
            return
        await query.answer()
        markup = without(message.reply_markup, KB_REST) if isinstance(message, TgMessage) else None
        await self.steps.retire(context.bot, message.chat.id, message.message_id, markup)
        for part in split_text(kept[0]):
            await self.deliver(context.bot, message.chat.id, to_html(part))

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Channel posts, membership changes and the like: nobody asked anything, so no answer."""
        log.debug("update %s ignored (nothing to answer)", update.update_id)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error and, when a user is waiting, tell them something went wrong."""
        log.error("error while handling update %s", getattr(update, "update_id", None), exc_info=context.error)
        if not isinstance(update, Update) or not update.effective_chat:
            return
        if update.effective_chat.type == ChatType.CHANNEL:
            return
        with contextlib.suppress(TelegramError):
            if update.callback_query:
                await update.callback_query.answer()
        try:
            await context.bot.send_message(update.effective_chat.id, to_html(render.say("error", self.lang_of(update))))
        except TelegramError as err:
            log.warning("could not tell chat %s about the error: %s", update.effective_chat.id, err)

    async def answer(self, message: Message) -> Reply:
        return await asyncio.get_running_loop().run_in_executor(self.workers, self.dialogue.handle, message)

    async def post_shutdown(self, app: Application) -> None:
        self.workers.shutdown(wait=True)

    # -- between Telegram and the core --------------------------------------------------------
    def message(self, update: Update, *, text: str = "", button: str | None = None, media: str | None = None,
                chat: int | None = None) -> Message:
        user, tg_chat = update.effective_user, update.effective_chat
        chat_id = chat if chat is not None else tg_chat.id
        return Message(user=str(user.id) if user else f"chat{chat_id}", text=text, button=button, media=media,
                       lang_hint=user.language_code if user else None, channel=CHANNEL, chat=str(chat_id))

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, reply: Reply,
                   answering: TgMessage | None = None) -> None:
        """The reply as one or more HTML messages; the keyboard goes with the last part. An answer is
        one short message, the rest behind "Read more"."""
        parts, buttons, rest = [self.as_html(reply, p) for p in split_text(reply.text)], reply.buttons, None
        topic = self.answer_topic(reply)
        if topic is not None:
            first, rest = answer_view(reply.text, reply.lang, topic.title[reply.lang], topic.answer[reply.lang],
                                      place=keeps_a_place(reply))
            parts = [first]
            if rest:
                buttons = [Button(render.say("kb_read_more", reply.lang), KB_REST), *reply.buttons]
        extra = {}
        if answering is not None and answering.chat.type in GROUPS:  # whom we answer, in a busy group
            extra["reply_parameters"] = ReplyParameters(answering.message_id, allow_sending_without_reply=True)
            if answering.is_topic_message:
                extra["message_thread_id"] = answering.message_thread_id
        for n, part in enumerate(parts, 1):
            markup = keyboard(buttons, reply.lang) if n == len(parts) else None
            sent = await self.deliver(context.bot, chat_id, part, reply_markup=markup, **extra)
            extra.pop("reply_parameters", None)
        if sent is not None:
            self.keep_menu(sent.chat_id, sent.message_id, reply, buttons)
            if rest:
                self.keep(sent.chat_id, sent.message_id, "rest", reply, rest)
            if to_read(reply):  # what its keyboard keeps once "Continue" has been used
                self.keep(sent.chat_id, sent.message_id, READ, reply, [{"label": b.label, "id": b.id} for b in buttons
                                                                       if not isinstance(bt.decode(b.id), bt.Step)])
        await self.steps.sent(context.bot, chat_id, reply, sent.message_id if sent is not None else None)

    def keep_menu(self, chat_id: int, message_id: int, reply: Reply, buttons: list[Button], *,
                  replacing: bool = False) -> None:
        """The whole keyboard of a message whose "More…" hides options, for when it is pressed; a message
        edited to show another keyboard (`replacing`) no longer offers what the one before hid."""
        if has_more(reply.buttons):
            self.keep(chat_id, message_id, "menu", reply, [{"label": b.label, "id": b.id} for b in buttons])
        elif replacing:
            with contextlib.suppress(StoreUnavailable):
                self.store.drop_offer(chat_id, message_id, "menu")

    def keep(self, chat_id: int, message_id: int, kind: str, reply: Reply, value) -> None:
        with contextlib.suppress(StoreUnavailable):  # a full disk (the store logged it): the press says it is old
            self.store.keep_offer(chat_id, message_id, kind, reply.user, reply.lang, value)

    def as_html(self, reply: Reply, text: str) -> str:
        """A part of a reply as Telegram HTML: a step's heading bold, everything escaped."""
        flows = getattr(self.dialogue, "flows", None) or {}  # a stand-in core in tests may have none
        flow = flows.get(reply.flow) if reply.kind == "step" else None
        return step_html(text, flow.title[reply.lang]) if flow is not None and reply.lang in flow.title \
            else to_html(text)

    def answer_topic(self, reply: Reply):
        """The topic an answer is, for its title; None for anything that is not one topic's answer."""
        kb = getattr(self.dialogue, "kb", None)  # a stand-in core in tests may have none
        topic = kb.topics.get(reply.topic or "") if kb is not None and reply.kind == "answer" else None
        return topic if topic is not None and reply.lang in topic.title else None

    async def deliver(self, bot, chat_id: int, html: str, **kw) -> TgMessage | None:
        """One message, tried again with growing pauses while it surely did not arrive (a 5xx, a dropped
        or refused connection). A read or write timeout may mean it did arrive: not sent twice (None)."""
        pause = self.settings.send_backoff
        for attempt in range(1, self.settings.send_tries + 1):
            try:
                return await bot.send_message(chat_id, html, **kw)
            except BadRequest:  # the message itself is wrong: sending it again changes nothing
                raise
            except TimedOut as err:
                if not never_sent(err):
                    log.warning("a message to chat %s timed out; it may have arrived, so it is not sent again",
                                chat_id)
                    return None
                if attempt == self.settings.send_tries:
                    raise
            except NetworkError:
                if attempt == self.settings.send_tries:
                    raise
            log.info("a message to chat %s failed (try %d); trying again in %.1f s", chat_id, attempt, pause)
            await asyncio.sleep(pause)
            pause *= 2

    def lang_of(self, update: Update) -> str:
        user = update.effective_user
        with contextlib.suppress(Exception):  # the store may be what failed
            stored = self.store.user(str(user.id)).lang if user else None
            if stored in LANGS:
                return stored
        return hint_language(user.language_code if user else None) or "en"

    # -- start, reminders, stop ---------------------------------------------------------------
    async def post_init(self, app: Application) -> None:
        """At start: the command menus, the retention purge, and the reminder job (first run now)."""
        await register_commands(app.bot)
        await self.forget_handled()
        app.job_queue.run_repeating(self.forget_handled, interval=3600, first=3600, name="forget-handled")
        gone = self.store.purge(self.settings.retention_days)
        if gone:
            log.info("purged %d stored question(s) older than %d days", gone, self.settings.retention_days)
        # Jobs added before the scheduler starts: a "now" that has passed by then must still run.
        app.job_queue.run_once(self.send_reminders, when=0, name="reminders-at-start",
                               job_kwargs={"misfire_grace_time": None})
        app.job_queue.run_repeating(self.send_reminders, interval=self.settings.reminder_every,
                                    first=self.settings.reminder_every, name="reminders")

    async def forget_handled(self, context: ContextTypes.DEFAULT_TYPE | None = None) -> int:
        """Drop the ids of updates handled long enough ago that Telegram no longer sends them again,
        and what messages older than KEEP_OFFERS offered."""
        self.store.forget_offers(self.clock() - KEEP_OFFERS)
        return self.store.forget_updates(self.clock() - KEEP_HANDLED)

    async def send_reminders(self, context: ContextTypes.DEFAULT_TYPE) -> int:
        """Send the reminders that are due, and set each for next year's window. The rows are the truth."""
        moment = self.clock()
        sent = 0
        for row in due(self.store.reminders(), moment):
            try:
                chat_id = int(row["chat"])
            except (TypeError, ValueError):  # set from another channel: not ours to deliver
                continue
            try:
                reminder = self.dialogue.reminder(row["user"], row["lang"])  # with Start now / Stop reminders
                await context.bot.send_message(chat_id, to_html(reminder.text),
                                               reply_markup=keyboard(reminder.buttons, reminder.lang))
                sent += 1
            except (Forbidden, BadRequest) as err:  # blocked, or the chat is gone: try again next year
                log.warning("reminder for chat %s not delivered: %s", chat_id, err)
            except TelegramError as err:  # a network hiccup: the next run tries again
                log.warning("reminder for chat %s will be retried: %s", chat_id, err)
                continue
            self.store.mark_reminder_sent(row["user"], next_due=next_window(moment))
        return sent


async def register_commands(bot) -> None:
    """setMyCommands for each language, and a default (English) for every other."""
    for lang in (None, *LANGS):
        commands = [BotCommand(name, text[lang or "en"]) for name, text in COMMANDS.items()]
        try:
            await bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=lang)
        except TelegramError as err:  # the bot works without its menu
            log.warning("could not register the commands for %s: %s", lang or "default", err)


def never_sent(err: TimedOut) -> bool:
    """A timeout before the request left (no connection, or none free in the pool): safe to send again."""
    return isinstance(err.__cause__, (httpx.ConnectTimeout, httpx.PoolTimeout))


# -- reading a message ----------------------------------------------------------------------------
def keeps_a_place(reply: Reply) -> bool:
    """An answer to a side question inside a procedure: the core put its "Continue" first."""
    first = bt.decode(reply.buttons[0].id) if reply.buttons else None
    return isinstance(first, bt.Step) and isinstance(first.event, Continue)


def shows_more(markup) -> bool:
    """A keyboard with its "More…" button (the options it hides are not shown)."""
    return markup is not None and any(b.callback_data == KB_MORE for row in markup.inline_keyboard for b in row)


def is_service(update: Update) -> bool:
    """A member joined, a title changed, a message was pinned...: nothing was said to us."""
    return bool(filters.StatusUpdate.ALL.check_update(update))


def media_kind(msg: TgMessage) -> str:
    """What a message that is not text holds ("sticker", "photo", "voice"...), as PTB names it."""
    kind = effective_message_type(msg)
    return str(kind) if kind else "other"


def addressed_text(msg: TgMessage, username: str, bot_id: int) -> str | None:
    """In a group: the text (without our @mention) if the message is for us, else None.

    For us: a command with no @bot or with ours, a message that mentions us, a reply to one of ours.
    """
    text = msg.text if msg.text is not None else (msg.caption or "")
    entities = msg.parse_entities() if msg.text is not None else msg.parse_caption_entities()
    mine = f"@{username}".lower()
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        target = command.partition("@")[2].lower()
        return text if not target or f"@{target}" == mine else None
    mentioned = any(
        (e.type == MessageEntityType.MENTION and value.lower() == mine)
        or (e.type == MessageEntityType.TEXT_MENTION and e.user and e.user.id == bot_id)
        for e, value in entities.items()
    )
    replied = msg.reply_to_message is not None and msg.reply_to_message.from_user is not None \
        and msg.reply_to_message.from_user.id == bot_id
    if not (mentioned or replied):
        return None
    text = re.sub(rf"{re.escape(mine)}[,:;，：]?", " ", text, flags=re.IGNORECASE)  # "@bot, question"
    return " ".join(text.split())


# -- the application ------------------------------------------------------------------------------
def build_application(settings: Settings, dialogue, store, *, clock: Callable[[], datetime] = now) -> Application:
    """The whole bot, in the order things happen."""
    channel = TelegramChannel(dialogue, store, settings, clock)
    app = (
        ApplicationBuilder()
        .token(settings.token)
        .base_url(settings.base_url)
        .base_file_url(settings.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .read_timeout(settings.read_timeout)
        .rate_limiter(PerChatRateLimiter())
        .concurrent_updates(PerUserOrder(64))
        .post_init(channel.post_init)
        .post_shutdown(channel.post_shutdown)
        .build()
    )
    app.add_handler(TypeHandler(Update, channel.claim), group=-1)
    app.add_handler(CallbackQueryHandler(channel.on_button))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGES, channel.on_message))
    app.add_handler(TypeHandler(Update, channel.on_other))
    app.add_error_handler(channel.on_error)
    app.bot_data["channel"] = channel
    return app


def polling_options(settings: Settings) -> dict:
    return {"timeout": settings.poll_timeout, "bootstrap_retries": 3, "allowed_updates": None}


@contextlib.asynccontextmanager
async def running(app: Application, settings: Settings) -> AsyncIterator[Application]:
    """The bot running inside an event loop that is already running (tests, embedding, webhook mode):
    the same steps, in the same order, as `Application.run_polling`; in webhook mode our own
    server (bot/channels/telegram_webhook.py) in place of PTB's."""
    await app.initialize()
    hook = None
    try:
        if app.post_init:
            await app.post_init(app)
        if settings.webhook_url:
            hook = WebhookServer(app, settings)
            await hook.start()
        else:
            await app.updater.start_polling(**polling_options(settings))
        await app.start()
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if hook is not None:
                await hook.stop()
            if app.running:
                await app.stop()
    finally:
        if hook is not None:
            await hook.stop()
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


async def until_signal(app: Application, settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, as `Application.run_polling` does."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with running(app, settings):
        await stop.wait()


def run(settings: Settings, dialogue, store) -> int:
    """`socialbot telegram`: run until SIGINT or SIGTERM, then exit 0."""
    app = build_application(settings, dialogue, store)
    try:
        if settings.webhook_url:
            log.info("Telegram bot starting (webhook on %s:%s)", settings.webhook_listen, settings.webhook_port)
            asyncio.run(until_signal(app, settings))
        else:
            log.info("Telegram bot starting (long polling)")
            app.run_polling(**polling_options(settings))
    except InvalidToken:
        print("socialbot telegram: Telegram refused the token (TELEGRAM_BOT_TOKEN)", file=sys.stderr)
        return 1
    except (TelegramError, OSError) as err:
        print(f"socialbot telegram: {redact(str(err), settings.token, settings.webhook_secret)}", file=sys.stderr)
        return 1
    return 0
