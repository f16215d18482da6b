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
from datetime import datetime, timedelta

from bot import buttons as bt
from bot import doubts, focus, intents, places, remind_view, render, reply_language
from bot.pause import Switch
from bot.messages import LANGS, LANGUAGE_NAMES, Button, Message, Reply, hint_language
from bot.privacy import MaskPersonal, contains_personal, mask
from bot.store import NONE_OF_THESE, RECENT, Store, StoreUnavailable, UserRow, now
from conversations import events as ev
from conversations import machine, words
from conversations import progress as counting
from conversations.loader import load_flows
from knowledge.kb import KnowledgeBase, Topic, load
from knowledge.matcher import ANSWERABLE, Decision, Matcher, decide, in_context
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
STALE = timedelta(hours=12)
NAV_WORD_MAX = 24  # longer than any "next" / "volver atrás" / "下一步": a question, not a step word  # a procedure left this long ago: ask to continue or start over
RELATED_BUTTONS = 3
REMINDER_TOPICS = remind_view.TOPICS


@lru_cache(maxsize=2048)  # the buttons of an answer or a step recur: their typed forms are worked out once
def _typed_labels(buttons: tuple[Button, ...]) -> Mapping[str, str]:
    """Typed label -> button id, what a user may type instead of pressing (read-only: it is shared)."""
    return MappingProxyType({label_key(b.label): b.id for b in buttons})


class Turn:
    """What is known while answering one message."""

    def __init__(self, user: UserRow, lang: str):
        self.user = user
        self.lang = lang
        self.notes: list[str] = []  # UI string keys said before the reply (too long, personal number)
        self.group: str | None = None  # the group chat the message came from, if any
        self.switched_from: str | None = None  # a chosen language this message's own language replaced


class Dialogue(places.Places, remind_view.Reminding):
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

    # -- entry points ---------------------------------------------------------------------
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
        reply = self._show_step(self.flows[restarted], machine.State.from_dict(user.flow_state), turn) \
            if restarted else self._route(msg, said, turn)
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
        if turn.user.flow_state:
            return self._in_flow(said, turn)
        navigation = words.parse(said) if len(text) <= NAV_WORD_MAX else None
        if navigation is not None and navigation[1]:  # "next", "atrás", "取消" with no procedure going on
            self._word_language(navigation[1], navigation[0], turn)
            key = "nothing_to_cancel" if isinstance(navigation[0], ev.Cancel) else "no_procedure"
            return self._reply(turn, render.say(key, turn.lang), "command", buttons=self._home_buttons(turn.lang))
        return self._question(said, turn)

    # -- questions ----------------------------------------------------------------------------
    def _question(self, said: Utterance, turn: Turn, *, in_flow: machine.State | None = None) -> Reply:
        text = said.text
        if intents.intent("guide", said):
            just = self._just_answered_walk(said, turn) if in_flow is None else None
            if just is not None:  # "guide me step by step" alone, after an answer: through that answer
                return self._start_flow(self.flows[just.flow], turn, just.flow_choice)
            # A procedure's own trigger phrase names it; otherwise "guide me through X": X alone says which.
            flow = self._flow_for(self.matcher.score(said, turn.lang)[:1]) or self._flow_for(
                self.matcher.score(intents.without("guide", said), turn.lang))
            if flow:
                return self._start_flow(flow, turn, words.named_option(flow, said.norm))
        decision = self._decide(said, turn, in_flow)
        if not self._settled(decision):
            decision = self._read_again(said, turn, in_flow, decision)
        decision = self._trouble(said, decision)
        if in_flow is None and decision.out_of_scope and decision.candidates[0].kind == "uncovered":
            half = self._half_known(text, turn, decision)
            if half is not None:
                return half
        if decision.outcome == "answer":
            target = decision.topic
            if target.startswith("flow:"):  # a flow's own trigger phrase with no topic of its own
                return self._start_flow(self.flows[target[5:]], turn)
            turn.user.misses = 0
            self._remember(turn, text)
            reply = self._answer(self.kb.topics[target], turn, decision.confidence)
            if in_flow is not None:
                return self._aside(reply, in_flow, turn)
            return self._also(reply, text, turn)
        self._remember(turn, text)
        offered = [c.topic for c in decision.candidates if c.kind in ANSWERABLE]
        known = decision.candidates[0].topic if decision.out_of_scope and decision.candidates else None
        if in_flow is not None:  # neither a step word nor a question we answer: curators should see it
            self.store.record_unanswered(turn.user.id, turn.lang, text, decision.outcome, offered, known)
            if decision.out_of_scope:  # understood, and known to be beyond us: say so, keep their place
                return self._aside(self._fallback(turn, offered, decision), in_flow, turn)
            return self._miss_in_flow(in_flow, turn)
        if decision.outcome == "confirm":  # unsure between a guess and nothing: ask, do not answer the guess
            self.store.record_unanswered(turn.user.id, turn.lang, text, "suggest", [decision.topic])
            return self._confirm(turn, decision)
        if decision.outcome == "suggest":
            self.store.record_unanswered(turn.user.id, turn.lang, text, "suggest", offered)
            titles = [self._title(t, turn.lang) for t in offered]
            buttons = [Button(title, bt.encode(bt.Pick(t))) for t, title in zip(offered, titles)]
            buttons.append(Button(render.say("none_of_these", turn.lang), bt.encode(bt.NoneOfThese())))
            return self._reply(turn, render.render("suggest", turn.lang, titles=titles), "suggest",
                               buttons=buttons, fallback=True, confidence=decision.confidence)
        self.store.record_unanswered(turn.user.id, turn.lang, text, "fallback", offered, known)
        turn.user.misses += 1
        if turn.user.misses >= 2:
            return self._escalate(turn)
        return self._fallback(turn, offered, decision)

    def _just_answered_walk(self, said: Utterance, turn: Turn) -> Topic | None:
        """The last answer, when a guide request names nothing else ("step by step please") and that
        answer has a procedure: it is what they want to be walked through, not whatever "step by step"
        matches best."""
        if len(intents.without("guide", said)) > 4:  # more than "it", "eso", "这个"
            return None
        topic = self.kb.topics.get(turn.user.recent_topic or "")
        return topic if topic is not None and topic.flow in self.flows else None

    def _decide(self, said: Utterance, turn: Turn, in_flow: machine.State | None):
        """The matcher's decision, settled by where the user is and checked against what was asked."""
        candidates = self.matcher.score(said, turn.lang)
        decision = decide(candidates, words=self.matcher.words(said))
        if in_flow is not None and in_flow.flow in self.flows:
            decision = in_context(decision, candidates, self._flow_topics(in_flow.flow))
        elif turn.user.recent_topic in self.kb.topics:  # a follow-up: "and what papers do I bring?"
            decision = in_context(decision, candidates, {turn.user.recent_topic})
        if decision.outcome == "answer" and not candidates[0].exact:
            gap = self.focus.gap(said.norm, decision.topic, candidates)
            if gap:  # it asks about something the chosen topic never speaks of: say so, offer the topic
                decision = focus.about_gap(decision, gap, candidates)
        if decision.outcome == "answer" and decision.topic in focus.EMPLOYER_TOPICS:
            decision = focus.personal(decision, candidates, bool(intents.intent("personal", said)),
                                      bool(intents.intent("employer", said)))
        return decision

    def _settled(self, decision) -> bool:
        """A real answer (not small talk) or a known gap: nothing more to read out of the message."""
        if decision.outcome == "answer":
            return decision.topic.startswith("flow:") or self.kb.topics[decision.topic].kind == "answer"
        return decision.out_of_scope and bool(decision.candidates) and decision.candidates[0].kind == "uncovered"

    def _read_again(self, said: Utterance, turn: Turn, in_flow, decision):
        """What a first message means when the matcher alone missed it: the question inside a greeting
        or a thanks ("hi, can my son do it for me?"), or a report of trouble certifying."""
        if intents.intent("courtesy", said):
            rest = read(intents.without("courtesy", said))
            if rest.norm and rest.norm != said.norm and self.matcher.words(rest) >= focus.QUESTION_WORDS:
                again = self._decide(rest, turn, in_flow)
                if self._settled(again) or (again.outcome == "suggest" and decision.outcome != "answer"):
                    return again
        return decision

    def _trouble(self, said: Utterance, decision):
        """A report that certifying went wrong ("it says my face doesnt match, third time") is answered
        with what to do about it, not refused, nor answered with the steps that just failed."""
        trouble = self.kb.topics.get(focus.TROUBLE_TOPIC)
        if trouble is None or decision.topic == trouble.id:
            return decision
        if self._settled(decision) and decision.topic not in trouble.related:
            return decision  # a clear answer elsewhere: "the client software shows an error"
        if intents.intent("trouble", said) and intents.intent("trouble_about", said):
            return Decision("answer", trouble.id, decision.confidence, decision.candidates)
        return decision

    def _also(self, reply: Reply, text: str, turn: Turn) -> Reply:
        """A compound question ("what is the annual review, and how do I do it online?"): its other part
        answered below the first, or offered as a button when it is not clear which topic it means."""
        split = focus.parts(text) if self.kb.topics[reply.topic].kind == "answer" else []
        if not split:
            return reply
        scored = []
        for part in split:
            part = read(part)
            candidates = self.matcher.score(part, turn.lang)
            scored.append((self._decide(part, turn, None), candidates))
        second = focus.second_topic(reply.topic, scored, {t.id: t.kind for t in self.kb.topics.values()})
        if second is None:
            return reply
        topic, how = second
        title = self.kb.topics[topic].title[turn.lang]
        if how == "gap":  # the other part is beyond the documents: said, not dropped, and seen by curators
            self.store.record_unanswered(turn.user.id, turn.lang, text, "fallback", [reply.topic], topic)
            reply.text += "\n\n" + render.say("also_asked", turn.lang, title=title) + "\n" + \
                self.kb.topics[topic].answer[turn.lang].strip()
            return reply
        if how == "answer":
            more, _ = self._answer_view(topic, turn.lang)
            reply.text += "\n\n" + render.say("also_asked", turn.lang, title=title) + "\n" + more
        else:
            reply.text += "\n\n" + render.say("also_offer", turn.lang, title=title)
        bid = bt.encode(bt.Topic(topic))
        reply.buttons = [Button(title, bid), *(b for b in reply.buttons if b.id != bid)]
        return reply

    def _half_known(self, text: str, turn: Turn, decision) -> Reply | None:
        """A compound question one part of which we answer and the other falls into a gap ("how does
        someone without an employer pay, and how much is it?"): the part we know is answered, and the
        gap said plainly below it (and recorded for curators), rather than refusing both."""
        answered = []
        for i, part in enumerate(focus.parts(text)):
            got = self._decide(read(part), turn, None)
            if got.outcome == "answer" and self.kb.topics.get(got.topic, None) and \
                    self.kb.topics[got.topic].kind == "answer" and (i == 0 or focus.clear_part(got)):
                answered.append(got.topic)
        if len(answered) != 1:
            return None
        gap = self.kb.topics[decision.candidates[0].topic]
        self.store.record_unanswered(turn.user.id, turn.lang, text, "fallback", answered, gap.id)
        turn.user.misses = 0
        self._remember(turn, text)
        reply = self._answer(self.kb.topics[answered[0]], turn, decision.confidence)
        reply.text += "\n\n" + render.say("also_asked", turn.lang, title=gap.title[turn.lang]) + "\n" + \
            gap.answer[turn.lang].strip()
        return reply

    def _confirm(self, turn: Turn, decision) -> Reply:
        title = self._title(decision.topic, turn.lang)
        buttons = [Button(render.say("yes", turn.lang), bt.encode(bt.Pick(decision.topic))),
                   Button(render.say("no", turn.lang), bt.encode(bt.NotThat()))]
        return self._reply(turn, render.say("confirm", turn.lang, title=title), "suggest", buttons=buttons,
                           fallback=True, confidence=decision.confidence)

    def _fallback(self, turn: Turn, offered: list[str], decision) -> Reply:
        out_of_scope = ""
        if decision.out_of_scope and decision.candidates:
            known = self.kb.topics[decision.candidates[0].topic]
            out_of_scope = known.answer[turn.lang]
            if known.kind == "out_of_scope":  # nothing we have is close to the weather or a taxi
                offered = []
        closest = [t for t in offered if not t.startswith("flow:")][:3]
        titles = [self._title(t, turn.lang) for t in closest]
        text = _fallback_text(turn.lang, out_of_scope, tuple(titles))
        buttons = [Button(title, bt.encode(bt.Topic(t))) for t, title in zip(closest, titles)]
        if not buttons:  # nothing close: the main topics, so the next step is a tap, not more typing
            buttons = self._home_buttons(turn.lang)[:3]
        buttons.append(person_button(turn.lang))
        return self._reply(turn, text, "fallback", buttons=buttons, fallback=True, confidence=decision.confidence)

    def _answer(self, topic: Topic, turn: Turn, confidence: float = 1.0) -> Reply:
        text, buttons = self._answer_view(topic.id, turn.lang)
        if topic.kind == "answer":
            turn.user.recent_topic = topic.id
        return self._reply(turn, text, "answer", buttons=list(buttons), topic=topic.id, confidence=confidence)

    @lru_cache(maxsize=512)
    def _answer_view(self, topic_id: str, lang: str) -> tuple[str, tuple[Button, ...]]:
        """A topic's rendered answer and buttons: they depend on the content only, so they are drawn once."""
        topic = self.kb.topics[topic_id]
        cited = [self.kb.sources[s].title[lang] for s in topic.sources if s in self.kb.sources]
        text = render.render("answer", lang, answer=topic.answer[lang], sources=cited, note=topic.kind == "answer")
        buttons = []
        if topic.flow and topic.flow in self.flows:
            bid = bt.encode(bt.Walk(topic.id) if topic.flow_choice else bt.Step(topic.flow, ev.Start()))
            buttons.append(Button(render.say("walk_me", lang), bid))
        for rid in topic.related[:RELATED_BUTTONS]:
            if rid in self.kb.topics:
                buttons.append(Button(self.kb.topics[rid].title[lang], bt.encode(bt.Topic(rid))))
        if topic.id in REMINDER_TOPICS:
            buttons.append(Button(render.say("remind_button", lang), bt.encode(bt.Remind("on"))))
        if topic.kind == "answer":
            buttons += [Button("👍", bt.encode(bt.Vote(topic.id, True))), Button("👎", bt.encode(bt.Vote(topic.id, False)))]
        return text, tuple(buttons)

    @lru_cache(maxsize=64)
    def _flow_topics(self, flow_id: str) -> frozenset[str]:
        """The topics a procedure belongs to: its own, and every topic that walks through it."""
        own = self.flows[flow_id].topic
        return frozenset({t.id for t in self.kb.topics.values() if t.flow == flow_id} | ({own} if own else set()))

    def _title(self, tid: str, lang: str) -> str:
        if tid.startswith("flow:"):
            return self.flows[tid[5:]].title[lang]
        return self.kb.topics[tid].title[lang]

    def _remember(self, turn: Turn, text: str) -> None:
        turn.user.remember(mask(text)[:300], turn.group)

    def _flow_for(self, candidates) -> object | None:
        """The procedure the best-scoring candidates lead to, when the user asked to be guided."""
        top = candidates[0].score if candidates else 0.0
        for c in candidates[:4]:
            if c.score < top * 0.6:
                break
            if c.topic.startswith("flow:"):
                return self.flows[c.topic[5:]]
            topic = self.kb.topics.get(c.topic)
            if topic and topic.flow in self.flows:
                return self.flows[topic.flow]
        return None

    # -- procedures ------------------------------------------------------------------------------
    def _start_flow(self, flow, turn: Turn, choice: str | None = None, *, switch: bool = False) -> Reply:
        current = self._in(turn)
        if current is not None and current.flow != flow.id:
            if not switch:  # never leave a place silently: ask, and keep it either way
                return self._ask_switch(flow, choice, current, turn)
            turn.user.parked = places.park(turn.user.flow_state)
        state = machine.start(flow)
        if choice:  # the user already said which way: no need to ask it again
            try:
                state = machine.advance(flow, state, ev.Choose(choice))
            except machine.NotApplicable:  # the procedure changed since: start from its first step
                pass
        turn.user.misses = 0
        return self._show_step(flow, state, turn)

    def _in_flow(self, said: Utterance, turn: Turn) -> Reply:
        state = machine.State.from_dict(turn.user.flow_state)
        flow = self.flows.get(state.flow)
        if flow is None:  # the procedure was removed from the content since
            turn.user.flow_state = None
            return self._question(said, turn)
        if self._stale(turn) and not turn.user.flow_state.get("resume_asked"):
            return self._resume_prompt(flow, state, turn)
        parsed = words.parse(said, flow, state)
        if parsed is None and words.repeats_last_choice(flow, state, said):
            turn.user.misses = 0  # "Alipay" again, when Alipay was already taken: they are where they asked to be
            return self._show_step(flow, state, turn)
        if parsed is None:
            option = self._option_meant(flow, state, said, turn.lang)
            if option:  # "con la foto del documento", "Alipay please": an option in other words
                return self._apply(flow, state, ev.Choose(option), turn)
            return self._question(said, turn, in_flow=state)
        event, word_lang = parsed
        self._word_language(word_lang, event, turn)
        return self._apply(flow, state, event, turn)

    def _word_language(self, word_lang: str | None, event, turn: Turn) -> None:
        """The language a step word answers in. Unchosen, the word's own ("siguiente"), and a word every
        language uses ("ok", "app") keeps the user's. Chosen, a step word of another language is a whole
        message in it ("取消": switch, and say so), an option's label is a name ("支付宝": keep it)."""
        if not turn.user.lang_chosen:
            turn.lang = word_lang or turn.user.lang or turn.lang
        elif word_lang and word_lang != turn.lang and not isinstance(event, (ev.Choose, ev.Tick)):
            turn.switched_from, turn.lang = turn.user.lang, word_lang

    def _option_meant(self, flow, state: machine.State, said: Utterance, lang: str) -> str | None:
        """The option of the current step a message means without typing its label: it names one
        ("Alipay, please"), or it is about the topic of one way ("con foto del documento de
        identidad" is online certification, the 'online' way)."""
        step = flow.steps.get(state.step)
        if step is None or not step.choices:
            return None
        named = words.named_option(flow, said.norm, state.step)
        if named:
            return named
        candidates = self.matcher.score(said, lang)
        decision = in_context(decide(candidates, words=self.matcher.words(said)), candidates,
                              self._flow_topics(flow.id))
        topic = self.kb.topics.get(decision.topic or "")
        if decision.outcome == "answer" and topic and topic.flow == flow.id and step.choice(topic.flow_choice or ""):
            return topic.flow_choice
        return None

    def _apply(self, flow, state: machine.State, event, turn: Turn) -> Reply:
        if isinstance(event, ev.Start):
            return self._start_flow(flow, turn)
        if isinstance(event, ev.Continue) and turn.user.flow_state.get("paused"):
            turn.user.misses = 0  # back from a side question: show the step they were at
            return self._show_step(flow, state, turn)
        if isinstance(event, ev.Cancel):
            turn.user.parked = places.park(turn.user.flow_state)  # Undo puts it back exactly
            turn.user.flow_state = None
            turn.user.misses = 0
            undo = Button(render.say("undo_button", turn.lang), bt.encode(bt.Undo()))
            return self._reply(turn, render.say("cancelled", turn.lang, title=flow.title[turn.lang]), "command",
                               buttons=[undo, *self._home_buttons(turn.lang)])
        try:
            new = machine.advance(flow, state, event)
        except machine.NotApplicable:
            return self._miss_in_flow(state, turn)
        turn.user.misses = 0
        if new.status != "active":
            turn.user.flow_state = None
            return self._reply(turn, self._ending(flow, state, turn.lang), "step", flow=flow.id, step=None,
                               buttons=self._home_buttons(turn.lang))
        return self._show_step(flow, new, turn)

    def _show_step(self, flow, state: machine.State, turn: Turn, *, prefix: str = "") -> Reply:
        turn.user.flow_state = state.to_dict()
        lang = turn.lang
        step = flow.steps[state.step]
        at = counting.progress(flow, state)
        where = render.say("step_of", lang, k=at.k, n=at.n) if at.numbered else render.say("choose_way", lang)
        checklist = [{"label": item.label[lang], "ticked": item.id in state.ticked} for item in step.checklist]
        source = render.say("source_sep", lang).join(self.kb.sources[s].title[lang] for s in step.sources
                                                     if s in self.kb.sources)
        text = render.render("step", lang, title=flow.title[lang], progress=where,
                             text=step.text[lang], checklist=checklist, source=source)
        if prefix:
            text = f"{prefix}\n\n{text}"
        return self._reply(turn, text, "step", buttons=self._step_buttons(flow, state, lang), flow=flow.id,
                           step=state.step)

    def _step_buttons(self, flow, state: machine.State, lang: str) -> list[Button]:
        step = flow.steps[state.step]

        def on_step(event) -> str:
            return bt.encode(bt.Step.on(flow.id, event, state.step))

        buttons = [Button(c.label[lang], on_step(ev.Choose(c.id))) for c in step.choices]
        buttons += [Button(("☑ " if item.id in state.ticked else "☐ ") + item.label[lang], on_step(ev.Tick(item.id)))
                    for item in step.checklist]
        if step.next or not step.choices:
            buttons.append(Button(words.LABELS["next" if step.next else "done"][lang],
                                  on_step(ev.Next() if step.next else ev.Done())))
        if state.path:
            buttons.append(Button(words.LABELS["back"][lang], on_step(ev.Back())))
        buttons.append(Button(words.LABELS["cancel"][lang], on_step(ev.Cancel())))
        return buttons

    def _ending(self, flow, state: machine.State, lang: str) -> str:
        """The last message of a procedure: a ✅ summary at the end of its way, or, where a detour
        ended it (it did not work, another case), that it stops here, never "all done"."""
        at = counting.progress(flow, state)
        if at.detour:
            return render.say("flow_closed", lang, title=flow.title[lang])
        items = {item.id: item.label[lang] for step in flow.steps.values() for item in step.checklist}
        return render.render("done", lang, summary=render.say("flow_done", lang, title=flow.title[lang], n=at.n),
                             unticked=[items[i] for i in counting.unticked(flow, state)])

    def _aside(self, reply: Reply, state: machine.State, turn: Turn) -> Reply:
        """A real question inside a procedure: answered, and the place kept."""
        flow = self.flows[state.flow]
        k = max(counting.progress(flow, state).k, 1)
        reply.text += "\n\n" + render.say("still_in_flow", turn.lang, k=k, title=flow.title[turn.lang])
        turn.user.flow_state = {**state.to_dict(), "paused": True}
        reply.buttons.insert(0, continue_button(flow.id, state.step, turn.lang))
        return reply

    def _miss_in_flow(self, state: machine.State, turn: Turn) -> Reply:
        turn.user.misses += 1
        if turn.user.misses >= 2:
            return self._escalate(turn)
        flow = self.flows[state.flow]
        return self._show_step(flow, state, turn, prefix=render.say("reprompt", turn.lang))

    def _stale(self, turn: Turn) -> bool:
        if not turn.user.seen:
            return False
        try:
            seen = datetime.fromisoformat(turn.user.seen)
        except ValueError:
            return False
        return self.clock() - seen > STALE

    def _resume_prompt(self, flow, state: machine.State, turn: Turn) -> Reply:
        turn.user.flow_state = {**state.to_dict(), "resume_asked": True, "paused": True}
        k = max(counting.progress(flow, state).k, 1)
        lang = turn.lang
        buttons = [continue_button(flow.id, state.step, lang),
                   Button(render.say("start_over", lang), bt.encode(bt.Step(flow.id, ev.Start()))),
                   Button(words.LABELS["cancel"][lang], bt.encode(bt.Step.on(flow.id, ev.Cancel(), state.step)))]
        return self._reply(turn, render.say("resume", lang, k=k, title=flow.title[lang]), "step", buttons=buttons,
                           flow=flow.id, step=state.step)

    # -- buttons and commands ---------------------------------------------------------------------
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
            case bt.NotThat():  # "No" to "Do you mean ...?": the guess was wrong, and that is all we had
                return self._reply(turn, render.say("not_that", turn.lang), "fallback", fallback=True,
                                   buttons=[person_button(turn.lang)])
            case bt.NoneOfThese():  # under "did you mean": curators see that the question has no topic yet
                self.store.record_choice(turn.user.id, NONE_OF_THESE)
                text = render.render("none_fit", turn.lang, contact=self.switch.contact.lines(turn.lang))
                return self._reply(turn, text, "fallback", fallback=True, buttons=[person_button(turn.lang)])
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

    def _flow_button(self, pressed: bt.Step, turn: Turn) -> Reply:
        flow_id, event = pressed.flow, pressed.event
        flow = self.flows[flow_id]
        if isinstance(event, ev.Start):
            return self._start_flow(flow, turn)
        current = turn.user.flow_state
        if current and current.get("flow") in self.flows and self._stale(turn) and not current.get("resume_asked"):
            state = machine.State.from_dict(current)
            return self._resume_prompt(self.flows[state.flow], state, turn)
        if not current or current.get("flow") != flow_id or not pressed.drawn_on(current.get("step")):
            if current and current.get("flow") in self.flows:
                state = machine.State.from_dict(current)
                return self._show_step(self.flows[state.flow], state, turn, prefix=render.say("old_button", turn.lang))
            return self._reply(turn, render.say("unknown_button", turn.lang), "error", buttons=self._home_buttons(turn.lang))
        return self._apply(flow, machine.State.from_dict(current), event, turn)

    def _command(self, text: str, turn: Turn) -> Reply:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@")[0].lower()  # "/start@socialbot" in groups
        arg = arg.strip().lower()
        lang = turn.lang
        if name == "start":
            opened = self._open(arg, turn)  # t.me/<bot>?start=annual_review, from a poster
            if opened is not None:
                return opened
            if turn.user.flow_state and turn.user.flow_state.get("flow") in self.flows:
                state = machine.State.from_dict(turn.user.flow_state)
                return self._resume_prompt(self.flows[state.flow], state, turn)
            return self._reply(turn, render.render("welcome", lang, automated=self.intro(lang)), "command",
                               buttons=self._home_buttons(lang))
        if name == "language":
            if arg[:2] in LANGS:
                return self._set_language(arg[:2], turn)
            buttons = [Button(name, bt.encode(bt.Language(code))) for code, name in LANGUAGE_NAMES.items()]
            return self._reply(turn, render.say("choose_language", lang), "command", buttons=buttons)
        if name == "cancel":
            if turn.user.flow_state and turn.user.flow_state.get("flow") in self.flows:
                state = machine.State.from_dict(turn.user.flow_state)
                return self._apply(self.flows[state.flow], state, ev.Cancel(), turn)
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
        if turn.user.flow_state and turn.user.flow_state.get("flow") in self.flows:
            state = machine.State.from_dict(turn.user.flow_state)
            return self._show_step(self.flows[state.flow], state, turn, prefix=render.say("language_set", lang))
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
        try:
            state = machine.State.from_dict(turn.user.flow_state) if turn.user.flow_state else None
        except ValueError:
            return None
        return state if state is not None and state.flow in self.flows else None

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

    def _escalate(self, turn: Turn) -> Reply:
        turn.user.misses = 0
        text = render.render("escalate", turn.lang, recent=turn.user.asked_in(turn.group),
                             contact=self.switch.contact.lines(turn.lang))
        buttons = []
        state = turn.user.flow_state
        if state and state.get("flow") in self.flows:  # their place is kept: offer to go back to it
            turn.user.flow_state = {**state, "paused": True}
            buttons.append(continue_button(state["flow"], state.get("step"), turn.lang))
        return self._reply(turn, text, "fallback", buttons=buttons, fallback=True)

    def _feedback(self, turn: Turn, topic: str, vote: int) -> Reply:
        self.store.record_feedback(turn.user.id, topic, turn.lang, vote)
        if vote < 0:  # it did not help: a person might
            text = render.say("thanks_feedback", turn.lang) + " " + render.say("feedback_down", turn.lang)
            return self._reply(turn, text, "command",
                               buttons=[person_button(turn.lang)])
        return self._reply(turn, render.say("thanks_feedback", turn.lang), "command")

    # -- building replies ---------------------------------------------------------------------------
    def _reply(self, turn: Turn, text: str, kind: str, *, buttons=None, topic=None, flow=None, step=None,
               fallback=False, confidence=1.0) -> Reply:
        if flow is None and turn.user.flow_state and kind != "step":
            flow, step = turn.user.flow_state.get("flow"), turn.user.flow_state.get("step")
        return Reply(turn.user.id, text, turn.lang, kind, list(buttons or []), topic, flow, step, fallback, confidence)


def person_button(lang: str) -> Button:
    """"Talk to a person": the bureau's contact and the summary."""
    return Button(render.say("person_button", lang), bt.encode(bt.Person()))


def continue_button(flow_id: str, step: str | None, lang: str) -> Button:
    """"Continue" back to the step a user left for a question, a person or another procedure."""
    return Button(words.LABELS["continue"][lang], bt.encode(bt.Step.on(flow_id, ev.Continue(), step)))


@lru_cache(maxsize=1024)  # drawn from content only: the same few fallbacks recur
def _fallback_text(lang: str, out_of_scope: str, closest: tuple[str, ...]) -> str:
    return render.render("fallback", lang, out_of_scope=out_of_scope, closest=list(closest))


def _flow_topic(flow) -> Topic:
    """A procedure's trigger phrases, indexed beside the topics so "guide me through X" finds it."""
    empty = {lang: () for lang in LANGS}
    return Topic(id=f"flow:{flow.id}", kind="flow", title=dict(flow.title), answer={l: "" for l in LANGS},
                 questions={lang: tuple(flow.triggers.get(lang, ())) for lang in LANGS}, keywords=empty)
