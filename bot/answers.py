"""A question: score it, decide, and answer it, offer "did you mean", or fall back (and, on a second
miss, a person). A mixin of the Dialogue that returns its decision and never moves a user through a
procedure: inside one it says the message was answered aside (Aside) or missed (Missed), and a
procedure it asks for is named (Guide); bot/procedures.py and the dialogue act on them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from bot import buttons as bt
from bot import focus, intents, places, remind_view, render
from bot.messages import Button, Reply
from bot.privacy import mask
from bot.store import NONE_OF_THESE
from bot.turn import Turn
from conversations import events as ev
from conversations import machine, words
from knowledge.kb import Topic
from knowledge.matcher import ANSWERABLE, Decision, decide, in_context
from knowledge.text import Utterance, read

RELATED_BUTTONS = 3
REMINDER_TOPICS = remind_view.TOPICS


@dataclass(frozen=True)
class Guide:
    """A procedure asked for: "guide me through X", or a procedure's own trigger phrase."""
    flow: str
    option: str | None = None


@dataclass
class Aside:
    """Inside a procedure: a real question answered (or known to be beyond us); the place is kept."""
    reply: Reply


@dataclass(frozen=True)
class Missed:
    """Inside a procedure: neither a step word nor a question we answer."""


Asked = Reply | Guide | Aside | Missed


class Answers:
    """The Dialogue's answers to questions."""

    def _question(self, said: Utterance, turn: Turn, *, in_flow: machine.State | None = None) -> Asked:
        """What a question gets: an answer, a "did you mean", a fallback or, on a second miss, a person;
        a procedure it asks for (Guide); inside a procedure, answered aside or missed."""
        text = said.text
        if intents.intent("guide", said):
            just = self._just_answered_walk(said, turn) if in_flow is None else None
            if just is not None:  # "guide me step by step" alone, after an answer: through that answer
                return Guide(just.flow, just.flow_choice)
            # A procedure's own trigger phrase names it; otherwise "guide me through X": X alone says which.
            flow = self._flow_for(self.matcher.score(said, turn.lang)[:1]) or self._flow_for(
                self.matcher.score(intents.without("guide", said), turn.lang))
            if flow:
                return Guide(flow.id, words.named_option(flow, said.norm))
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
                return Guide(target[5:])
            turn.user.misses = 0
            self._remember(turn, text)
            reply = self._answer(self.kb.topics[target], turn, decision.confidence)
            if in_flow is not None:
                return Aside(reply)
            return self._also(reply, text, turn)
        self._remember(turn, text)
        offered = [c.topic for c in decision.candidates if c.kind in ANSWERABLE]
        known = decision.candidates[0].topic if decision.out_of_scope and decision.candidates else None
        if in_flow is not None:  # neither a step word nor a question we answer: curators should see it
            self.store.record_unanswered(turn.user.id, turn.lang, text, decision.outcome, offered, known)
            if decision.out_of_scope:  # understood, and known to be beyond us: say so, keep their place
                return Aside(self._fallback(turn, offered, decision))
            return Missed()
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

    def _escalate(self, turn: Turn) -> Reply:
        turn.user.misses = 0
        text = render.render("escalate", turn.lang, recent=turn.user.asked_in(turn.group),
                             contact=self.switch.contact.lines(turn.lang))
        buttons = []
        place = turn.place
        if place is not None:  # their place is kept: offer to go back to it
            turn.user.flow_state = {**turn.user.flow_state, "paused": True}
            buttons.append(places.continue_button(place.flow, place.step, turn.lang))
        return self._reply(turn, text, "fallback", buttons=buttons, fallback=True)

    def _feedback(self, turn: Turn, topic: str, vote: int) -> Reply:
        self.store.record_feedback(turn.user.id, topic, turn.lang, vote)
        if vote < 0:  # it did not help: a person might
            text = render.say("thanks_feedback", turn.lang) + " " + render.say("feedback_down", turn.lang)
            return self._reply(turn, text, "command",
                               buttons=[person_button(turn.lang)])
        return self._reply(turn, render.say("thanks_feedback", turn.lang), "command")

    def _just_answered_walk(self, said: Utterance, turn: Turn) -> Topic | None:
        """The last answer, when a guide request names nothing else ("step by step please") and that
        answer has a procedure: it is what they want to be walked through, not whatever "step by step"
        matches best."""
        if len(intents.without("guide", said)) > 4:  # more than "it", "eso", "这个"
            return None
        topic = self.kb.topics.get(turn.user.recent_topic or "")
        return topic if topic is not None and topic.flow in self.flows else None

    def _not_that(self, turn: Turn) -> Reply:
        """"No" to "Do you mean ...?": the guess was wrong, and that is all we had."""
        return self._reply(turn, render.say("not_that", turn.lang), "fallback", fallback=True,
                           buttons=[person_button(turn.lang)])

    def _none_fit(self, turn: Turn) -> Reply:
        """"None of these" under "did you mean": the honest fallback, and curators see the question has no topic."""
        self.store.record_choice(turn.user.id, NONE_OF_THESE)
        text = render.render("none_fit", turn.lang, contact=self.switch.contact.lines(turn.lang))
        return self._reply(turn, text, "fallback", fallback=True, buttons=[person_button(turn.lang)])


def person_button(lang: str) -> Button:
    """"Talk to a person": the bureau's contact and the summary."""
    return Button(render.say("person_button", lang), bt.encode(bt.Person()))


@lru_cache(maxsize=1024)  # drawn from content only: the same few fallbacks recur
def _fallback_text(lang: str, out_of_scope: str, closest: tuple[str, ...]) -> str:
    return render.render("fallback", lang, out_of_scope=out_of_scope, closest=list(closest))
