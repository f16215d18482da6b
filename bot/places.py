"""Never lose a place silently: asked before another procedure replaces the one a user is in,
Undo after Cancel, "go back to where I was", and /forget only once confirmed.

The place left behind (cancelled, or switched away from) is kept as `UserRow.parked`, exactly as
it was (step, way taken, ticked items), so going back is the same place, not the same procedure
from its start. A mixin of the Dialogue: these replies are drawn with its own steps and buttons.
"""
from __future__ import annotations

from bot import buttons as bt
from bot import intents, render
from bot.messages import Button
from conversations import events as ev
from conversations import machine, words
from conversations import progress as counting

_FLAGS = ("paused", "resume_asked")  # how a place was last shown, not where it is


def continue_button(flow_id: str, step: str | None, lang: str) -> Button:
    """"Continue" back to the step a user left for a question, a person or another procedure."""
    return Button(words.LABELS["continue"][lang], bt.encode(bt.Step.on(flow_id, ev.Continue(), step)))


def park(state: dict | None) -> dict | None:
    """A place as it is kept to come back to."""
    return {k: v for k, v in state.items() if k not in _FLAGS} if state else None


class Places:
    """The Dialogue's replies that keep a place, or give it back."""

    def _place_button(self, action: bt.Undo | bt.Forget | bt.Switch, turn):
        """The reply to one of this module's buttons, or None when it names a procedure the content lacks."""
        match action:
            case bt.Undo():
                return self._go_back(turn)
            case bt.Forget(yes):
                return self._forget(turn) if yes else self._kept(turn)
            case bt.Switch(flow_id, option) if flow_id in self.flows:
                return self._start_flow(self.flows[flow_id], turn, option, switch=True)
        return None

    def _yes_or_no(self, said, turn):
        """"no" typed to "Erase it all?", "yes" to "Switch to X?": the button that answer is, pressed;
        None when the message (an Utterance) is not a yes or a no, or the last reply asked no such question."""
        yes = bool(intents.intent("yes", said))
        if not yes and not intents.intent("no", said):
            return None
        ids = list(turn.user.buttons.values())
        actions = [bt.decode(bid) for bid in ids]
        if bt.Forget(True) in actions:
            return self._button(bt.encode(bt.Forget(yes)), turn)
        if len(ids) != 2 or not isinstance(actions[0], bt.Switch):
            return None
        return self._button(ids[0] if yes else ids[1], turn)  # Switch, or Stay

    def _in(self, turn) -> machine.State | None:
        """The procedure the user is in, when it is one the content still has."""
        return turn.place

    def _ask_switch(self, flow, choice: str | None, current: machine.State, turn):
        """Another procedure asked for while in one: which one, and the place kept either way."""
        lang, here = turn.lang, self.flows[current.flow]
        k = max(counting.progress(here, current).k, 1)
        turn.user.flow_state = {**turn.user.flow_state, "paused": True}  # so "Stay" shows the step again
        text = render.say("switch_ask", lang, k=k, current=here.title[lang], new=flow.title[lang])
        buttons = [Button(render.say("switch_button", lang), bt.encode(bt.Switch(flow.id, choice))),
                   Button(render.say("stay_button", lang), bt.encode(bt.Step.on(here.id, ev.Continue(), current.step)))]
        return self._reply(turn, text, "command", buttons=buttons)

    def _go_back(self, turn):
        """Undo, or "go back to where I was": the place left last; the one they are in is kept instead."""
        lang, parked = turn.lang, turn.user.parked
        flow = self.flows.get(parked.get("flow")) if isinstance(parked, dict) else None
        state = None
        if flow is not None:
            try:
                state = machine.State.from_dict(parked)
            except ValueError:
                state = None
        if state is not None and machine.fits(flow, state):
            turn.user.parked = park(turn.user.flow_state)
            turn.user.misses = 0
            return self._show_step(flow, state, turn, prefix=render.say("back_to_place", lang))
        turn.user.parked = None  # nothing left to go back to (or the content changed under it)
        here = self._in(turn)
        if here is not None:  # no other place: the one they are in is where they were
            return self._show_step(self.flows[here.flow], here, turn, prefix=render.say("back_to_place", lang))
        return self._reply(turn, render.say("nothing_to_resume", lang), "command", buttons=self._home_buttons(lang))

    def _ask_forget(self, turn):
        lang = turn.lang
        buttons = [Button(render.say("forget_yes", lang), bt.encode(bt.Forget(True))),
                   Button(render.say("forget_no", lang), bt.encode(bt.Forget(False)))]
        return self._reply(turn, render.say("forget_ask", lang), "command", buttons=buttons)

    def _kept(self, turn):
        """No to /forget: nothing erased, and back to where they were."""
        here = self._in(turn)
        if here is not None:
            return self._show_step(self.flows[here.flow], here, turn, prefix=render.say("forget_kept", turn.lang))
        return self._reply(turn, render.say("forget_kept", turn.lang), "command",
                           buttons=self._home_buttons(turn.lang))
