"""The channel-neutral core: `Dialogue.handle(Message) -> Reply`, the same for every channel.

Order of business (../shared/DESIGN.md): commands and buttons, then the user's procedure
if they are in one, then the matcher. Handlers return data; templates in bot/templates/
turn it into words in the reply's language.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from bot import buttons as bt
from bot import answers, doubts, focus, intents, places, procedures, remind_view, render, reply_language
from bot.answers import Guide
from bot.pause import Switch
from bot.messages import LANGS, LANGUAGE_NAMES, Button, Message, Reply, hint_language
from bot.privacy import MaskPersonal, contains_personal, mask
from bot.store import Store, StoreUnavailable, UserRow, now
from bot.turn import Turn
from conversations import events as ev
from conversations import machine, words
from conversations.loader import load_flows
from knowledge.kb import KnowledgeBase, Topic, load
from knowledge.matcher import Matcher
from knowledge.review import content_date
from knowledge.text import Utterance, fold, label_key, read

log = logging.getLogger(__name__)
log.addFilter(MaskPersonal())  # a traceback may quote what the user typed: never a personal number

# A message of only sad or frustrated faces: after a certification step it means "it did not work".
DISTRESS = re.compile("[\\s\U0001F62D\U0001F622\U0001F61E\U0001F629\U0001F62B\U0001F61F\U0001F625"
                      "\U0001F630\U0001F623\U0001F616\U0001F620\U0001F621\U0001F624\U0001F615\U0001F641"
                      "\u2639\uFE0F\U0001F494\U0001F198]+")
TROUBLE_TOPIC = "certification-problems"
CERTIFYING_FLOWS = frozenset({"annual_review"})
CERTIFYING_TOPICS = frozenset({"annual-review-alipay", "annual-review-app", "online-certification",
                               "certification-problems", "review-months"})
NAV_WORD_MAX = 24  # longer than any "next" / "volver atrás" / "下一步": a question, not a step word


@lru_cache(maxsize=2048)  # the buttons of an answer or a step recur: their typed forms are worked out once
def _typed_labels(buttons: tuple[Button, ...]) -> Mapping[str, str]:
    """Typed label -> button id, what a user may type instead of pressing (read-only: it is shared)."""
    return MappingProxyType({label_key(b.label): b.id for b in buttons})






class Dialogue(places.Places, remind_view.Reminding, procedures.Procedures, answers.Answers):
    """The order of business (../shared/DESIGN.md), as `_route` reads: a voice note or a sticker, a
    button, a command, a button's label typed, an intent ("go back", "talk to a person", "remind me",
    "speak Spanish", 👍), 😭 after certifying, then a message inside a procedure (bot/procedures.py),
    else a question (bot/answers.py)."""
    def __init__(self, store: Store | None = None, kb: KnowledgeBase | None = None, flows: dict | None = None,
                 *, clock=now):
        self.store = store or Store(memory=True)
        self.kb = kb or load()
        self.flows = flows if flows is not None else load_flows()
        self.clock = clock
        self.switch = Switch()
        self.matcher = Matcher(self.kb, extra=[_flow_topic(f) for f in self.flows.values()],
                               fold={f"flow:{f.id}": f.topic for f in self.flows.values() if f.topic})
        self.focus = focus.Focus(self.kb)
        self.quoted = reply_language.quoted_terms(reply_language.content_texts(self.kb, self.flows))
        # What a new user is told first: an automated assistant, its documents, and how current they are.
        self.content_date = content_date([t.reviewed_on for t in self.kb.topics.values()]
                                         + [f.reviewed_on for f in self.flows.values()]) or "?"
        render.warm()
        fold("社會")  # loads the Traditional-to-Simplified table before the first Chinese question

    def say(self, user: str, text: str = "", lang: str | None = None, **kw) -> Reply:
        """Tests and scripts: `reply = dialogue.say("u1", "…")`."""
        return self.handle(Message(user=user, text=text, lang_hint=lang, **kw))

    def handle(self, msg: Message) -> Reply:
        try:
            if self.switch.paused(self.store):  # the operator stopped the assistant: only the bureau's contact
                return self.switch.reply(msg, self._language(msg))
            return self._handle(msg)
        except StoreUnavailable:  # the disk is full or read-only: the store logged it; the user is told
            return self._failed(msg, "cannot_save")
        except Exception:  # one broken message must never take the bot (or a user's place) down
            log.exception("dialogue failed for a message (user %s)", msg.user)
            return self._failed(msg)

    def _failed(self, msg: Message, key: str = "error") -> Reply:
        """The reply when answering failed: in the user's language, saying where they still are."""
        lang, flow, step = hint_language(msg.lang_hint) or "en", None, None
        try:  # what failed may be the language detection itself
            detected = read(msg.text).lang
        except Exception:
            detected = None
        try:
            user = self.store.user(msg.user)
            lang = detected or user.lang or lang
            if user.flow_state:
                flow, step = user.flow_state.get("flow"), user.flow_state.get("step")
        except Exception:  # the store itself failed: the message's or the hint's language, no place
            lang = detected or lang
        return Reply(msg.user, render.say(key, lang), lang, "error", flow=flow, step=step)

    def _language(self, msg: Message) -> str:
        """The language a message is answered in, without answering it."""
        return read(msg.text).lang or self.store.user(msg.user).lang \
            or hint_language(msg.lang_hint) or "en"

    def _handle(self, msg: Message) -> Reply:
        user = self.store.user(msg.user)
        said = read(msg.text)
        text, cut, detected = said.text, said.cut, said.lang
        kept = reply_language.choose(text, detected, user.lang if user.lang_chosen else None, self.quoted)
        lang = kept or detected or user.lang or hint_language(msg.lang_hint) or "en"
        turn = Turn(user, lang)
        turn.group = msg.chat if msg.chat and msg.chat != msg.user else None  # a group chat (not a private one)
        if kept and kept != user.lang:
            turn.switched_from = user.lang
        if msg.chat:
            user.chat = msg.chat
        if cut:
            turn.notes.append("too_long")
        if text and contains_personal(text):
            turn.notes.append("personal_number")
            said = said.retold(mask(text))
        first = user.seen is None  # read before routing: /forget makes the row new again
        before = doubts.answered(user.buttons), (user.recent[-1] if user.recent else None), user.buttons
        restarted = self._check_place(turn)
        reply = self._show_step(self.flows[restarted], turn.place, turn) if restarted else self._route(msg, said, turn)
        if turn.switched_from and reply.lang not in (turn.switched_from, None):  # say so, and offer the way back
            turn.notes.append("language_switched")
            reply.buttons.insert(0, Button(render.say("switch_back", turn.switched_from), bt.encode(bt.Language(turn.switched_from))))
        if turn.notes:
            reply.text = "\n\n".join([*(render.say(n, reply.lang) for n in turn.notes), reply.text])
        intro = self.intro(reply.lang) if first else ""
        if first and intro not in reply.text:  # a first message; the welcome already says it
            reply.text = f"{intro}\n\n{reply.text}"
        if reply.kind == "forgotten":  # nothing may be written back after an erasure
            reply.kind = "command"
            return reply
        if before[0]:  # the last reply was an answer: does this message say it was the wrong one?
            why = doubts.why(before[0], before[1], said, msg.button, before[2])
            if why:
                self.store.record_doubt(user.id, reply.lang, before[0], before[1], why, said.text)
        user.lang = reply.lang
        user.buttons = _typed_labels(tuple(reply.buttons))
        self.store.save_user(user, at=self.clock())
        return reply

    def _check_place(self, turn: Turn) -> str | None:
        """A stored place the content no longer has (a step or a procedure removed by a curator) is
        put right before anything else reads it: the procedure restarts, or the place is dropped, and
        the user is told why. Returns the id of a restarted procedure."""
        stored = turn.user.flow_state
        if not stored:
            return None
        flow = self.flows.get(stored.get("flow")) if isinstance(stored, dict) else None
        try:
            if flow is not None and machine.fits(flow, machine.State.from_dict(stored)):
                return None
        except ValueError:
            pass
        if flow is None:
            turn.user.flow_state = None
            turn.notes.append("place_gone")
            return None
        turn.user.flow_state = machine.start(flow).to_dict()
        turn.notes.append("place_restarted")
        return flow.id

    def _route(self, msg: Message, said: Utterance, turn: Turn) -> Reply:
        text = said.text
        if msg.media:
            return self._media(turn)
        if msg.button:
            return self._button(msg.button, turn)
        if not text:
            return self._reply(turn, render.say("empty", turn.lang), "error")
        if text.startswith("/"):
            return self._command(text, turn)
        typed = turn.user.buttons.get(said.key)  # emoji-only text must not press 👍/👎
        if typed:
            return self._button(typed, turn)
        if said.norm.isdigit() and 1 <= int(said.norm) <= len(turn.user.buttons):
            # "2" after a numbered "did you mean" list (or any buttons): the second one, as the console does
            return self._button(list(turn.user.buttons.values())[int(said.norm) - 1], turn)
        answered = self._yes_or_no(said, turn)  # "no" to "Erase it all?"
        if answered is not None:
            return answered
        if intents.intent("resume", said):  # "go back to where I was"
            return self._go_back(turn)
        if intents.intent("forget", said):
            return self._ask_forget(turn)
        if intents.intent("person", said):
            return self._escalate(turn)
        if intents.intent("remind_on", said):
            return self._remind(turn, on=True)
        asked = intents.language_asked(said)
        if asked:  # "can you speak spanish", "说中文": a request, not a question about another country
            return self._set_language(asked, turn)
        for name, vote in (("feedback_up", 1), ("feedback_down", -1)):
            if turn.user.recent_topic and intents.intent(name, said):
                return self._feedback(turn, turn.user.recent_topic, vote)
        if DISTRESS.fullmatch(text) and self._after_certifying(turn):  # 😭 after a failed face scan
            return self._troubleshoot(turn)
        if turn.place is not None:
            return self._in_flow(said, turn)
        navigation = words.parse(said) if len(text) <= NAV_WORD_MAX else None
        if navigation is not None and navigation[1]:  # "next", "atrás", "取消" with no procedure going on
            self._word_language(navigation[1], navigation[0], turn)
            key = "nothing_to_cancel" if isinstance(navigation[0], ev.Cancel) else "no_procedure"
            return self._reply(turn, render.say(key, turn.lang), "command", buttons=self._home_buttons(turn.lang))
        return self._asked(self._question(said, turn), turn)

    def _button(self, bid: str, turn: Turn) -> Reply:
        action = bt.decode(bid)
        topics = self.kb.topics
        match action:
            case bt.Topic(topic) | bt.Pick(topic) if topic in topics:
                if isinstance(action, bt.Pick):
                    self.store.record_choice(turn.user.id, topic)
                turn.user.misses = 0  # a topic chosen is an answer found: the next miss is a first one again
                return self._answer(topics[topic], turn)
            case bt.Language(lang) if lang in LANGS:
                return self._set_language(lang, turn)
            case bt.Vote(topic, up) if topic in topics:
                return self._feedback(turn, topic, 1 if up else -1)
            case bt.Walk(topic) if topic in topics and topics[topic].flow in self.flows:
                # "walk me through it" under an answer: from where that answer is
                return self._start_flow(self.flows[topics[topic].flow], turn, topics[topic].flow_choice)
            case bt.NotThat():
                return self._not_that(turn)
            case bt.NoneOfThese():
                return self._none_fit(turn)
            case bt.Person():
                return self._escalate(turn)
            case bt.Undo() | bt.Forget() | bt.Switch():
                placed = self._place_button(action, turn)
                if placed is not None:
                    return placed
            case bt.Remind("on"):
                return self._remind(turn, on=True)
            case bt.Remind(when):  # under "it is open now", or on a reminder
                return self._remind(turn, on=when == "next", next_year=True)
            case bt.Command(name):
                return self._command("/" + name, turn)
            case bt.Step(flow_id) if flow_id in self.flows:
                return self._flow_button(action, turn)
        return self._reply(turn, render.say("unknown_button", turn.lang), "error")

    def _asked(self, asked, turn: Turn) -> Reply:
        """A question out of any procedure: its answer, or the procedure it asks for."""
        if isinstance(asked, Guide):
            return self._start_flow(self.flows[asked.flow], turn, asked.option)
        return asked

    def _command(self, text: str, turn: Turn) -> Reply:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@")[0].lower()  # "/start@socialbot" in groups
        arg = arg.strip().lower()
        lang = turn.lang
        if name == "start":
            opened = self._open(arg, turn)  # t.me/<bot>?start=annual_review, from a poster
            if opened is not None:
                return opened
            if turn.place is not None:
                return self._resume_prompt(self.flows[turn.place.flow], turn.place, turn)
            return self._reply(turn, render.render("welcome", lang, automated=self.intro(lang)), "command",
                               buttons=self._home_buttons(lang))
        if name == "language":
            if arg[:2] in LANGS:
                return self._set_language(arg[:2], turn)
            buttons = [Button(name, bt.encode(bt.Language(code))) for code, name in LANGUAGE_NAMES.items()]
            return self._reply(turn, render.say("choose_language", lang), "command", buttons=buttons)
        if name == "cancel":
            if turn.place is not None:
                return self._apply(self.flows[turn.place.flow], turn.place, ev.Cancel(), turn)
            turn.user.flow_state = None
            return self._reply(turn, render.say("nothing_to_cancel", lang), "command")
        if name == "forget":
            return self._ask_forget(turn)
        if name == "remind":
            return self._remind(turn, on=arg not in ("off", "stop", "no", "cancel"))
        return self._reply(turn, render.say("help", lang), "command", buttons=self._home_buttons(lang))

    def intro(self, lang: str) -> str:
        """Says it is an automated assistant answering from curated documents, and their date."""
        return render.say("automated", lang, date=self.content_date)

    def _open(self, payload: str, turn: Turn) -> Reply | None:
        """A /start payload (bot/links.py): the procedure or the topic it names, in the user's language."""
        if payload in self.flows:
            return self._start_flow(self.flows[payload], turn)
        if payload in self.kb.topics and self.kb.topics[payload].kind == "answer":
            return self._answer(self.kb.topics[payload], turn)
        return None

    def _set_language(self, lang: str, turn: Turn) -> Reply:
        turn.lang = lang
        turn.switched_from = None  # chosen now, in so many words: nothing to point out
        turn.user.lang_chosen = True
        if turn.place is not None:
            return self._show_step(self.flows[turn.place.flow], turn.place, turn, prefix=render.say("language_set", lang))
        return self._reply(turn, render.say("language_set", lang), "command", buttons=self._home_buttons(lang))

    def _media(self, turn: Turn) -> Reply:
        """A voice note, a sticker or a photo: how to say it in text (dictation), with the way on."""
        state = self._place(turn)
        if state is not None:
            buttons = self._step_buttons(self.flows[state.flow], state, turn.lang)
        else:
            buttons = self._home_buttons(turn.lang)
        return self._reply(turn, render.say("media", turn.lang), "error", buttons=buttons)

    def _place(self, turn: Turn) -> machine.State | None:
        return turn.place

    def _after_certifying(self, turn: Turn) -> bool:
        state = self._place(turn)
        if state is not None:
            return state.flow in CERTIFYING_FLOWS
        return turn.user.recent_topic in CERTIFYING_TOPICS

    def _troubleshoot(self, turn: Turn) -> Reply:
        reply = self._answer(self.kb.topics[TROUBLE_TOPIC], turn)
        state = self._place(turn)
        return self._aside(reply, state, turn) if state is not None else reply

    def _home_buttons(self, lang: str) -> list[Button]:
        buttons = [Button(f.title[lang], bt.encode(bt.Step(f.id, ev.Start()))) for f in self.flows.values()]
        if "review-months" in self.kb.topics:
            buttons.insert(0, Button(self.kb.topics["review-months"].title[lang], bt.encode(bt.Topic("review-months"))))
        return buttons

    def _forget(self, turn: Turn) -> Reply:
        self.store.forget(turn.user.id)
        fresh = UserRow(turn.user.id)
        turn.user.__dict__.update(fresh.__dict__)
        return self._reply(turn, render.say("forgotten", turn.lang), "forgotten")

    def _reply(self, turn: Turn, text: str, kind: str, *, buttons=None, topic=None, flow=None, step=None,
               fallback=False, confidence=1.0) -> Reply:
        if flow is None and turn.user.flow_state and kind != "step":
            flow, step = turn.user.flow_state.get("flow"), turn.user.flow_state.get("step")
        return Reply(turn.user.id, text, turn.lang, kind, list(buttons or []), topic, flow, step, fallback, confidence)


def _flow_topic(flow) -> Topic:
    """A procedure's trigger phrases, indexed beside the topics so "guide me through X" finds it."""
    empty = {lang: () for lang in LANGS}
    return Topic(id=f"flow:{flow.id}", kind="flow", title=dict(flow.title), answer={l: "" for l in LANGS},
                 questions={lang: tuple(flow.triggers.get(lang, ())) for lang in LANGS}, keywords=empty)
