"""A message inside a procedure: its step words and buttons, an option put in other words, a question
asked aside (answered by bot/answers.py, the place kept), resuming after a while, cancelling. A mixin
of the Dialogue; the steps themselves are conversations/ (a pure state machine over YAML).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from bot import buttons as bt
from bot import places, render
from bot.answers import Aside, Guide, Missed
from bot.messages import Button, Reply
from bot.turn import Turn
from conversations import events as ev
from conversations import machine, words
from conversations import progress as counting
from knowledge.text import Utterance
from knowledge.matcher import decide, in_context

STALE = timedelta(hours=12)  # a procedure left this long ago: ask to continue or start over


class Procedures:
    """The Dialogue's replies inside a procedure."""

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
        """A message inside a procedure: its step words, an option in other words, or a question aside."""
        state = turn.place
        flow = self.flows[state.flow]
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
            return self._after_question(self._question(said, turn, in_flow=state), state, turn)
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
        reply.buttons.insert(0, places.continue_button(flow.id, state.step, turn.lang))
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
        buttons = [places.continue_button(flow.id, state.step, lang),
                   Button(render.say("start_over", lang), bt.encode(bt.Step(flow.id, ev.Start()))),
                   Button(words.LABELS["cancel"][lang], bt.encode(bt.Step.on(flow.id, ev.Cancel(), state.step)))]
        return self._reply(turn, render.say("resume", lang, k=k, title=flow.title[lang]), "step", buttons=buttons,
                           flow=flow.id, step=state.step)

    def _flow_button(self, pressed: bt.Step, turn: Turn) -> Reply:
        flow_id, event = pressed.flow, pressed.event
        flow = self.flows[flow_id]
        if isinstance(event, ev.Start):
            return self._start_flow(flow, turn)
        current = turn.place
        if current is not None and self._stale(turn) and not turn.user.flow_state.get("resume_asked"):
            return self._resume_prompt(self.flows[current.flow], current, turn)
        if current is None or current.flow != flow_id or not pressed.drawn_on(current.step):
            if current is not None:
                state = current
                return self._show_step(self.flows[state.flow], state, turn, prefix=render.say("old_button", turn.lang))
            return self._reply(turn, render.say("unknown_button", turn.lang), "error", buttons=self._home_buttons(turn.lang))
        return self._apply(flow, current, event, turn)

    def _after_question(self, asked, state: machine.State, turn: Turn) -> Reply:
        """What a question asked inside a procedure leads to: another procedure, an answer with the
        place kept, or the step again (and a person after a second miss)."""
        match asked:
            case Guide(flow_id, option):
                return self._start_flow(self.flows[flow_id], turn, option)
            case Aside(reply):
                return self._aside(reply, state, turn)
            case Missed():
                return self._miss_in_flow(state, turn)
        return asked
