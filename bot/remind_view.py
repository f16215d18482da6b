"""What the bot says about reminders, fitted to the calendar: asked while the review window is
open, it says so and offers to start now or be reminded next year; the reminder message itself
carries "Start now" and "Stop reminders". A mixin of the Dialogue (bot/reminders.py does the dates).
"""
from __future__ import annotations

from datetime import date

from bot import buttons as bt
from bot import render
from bot.messages import Button, Reply
from bot.reminders import next_window, open_until
from conversations import events as ev

FLOW = "enterprise_review"  # the procedure of the window the documents date (September to December)
# The answers a reminder is offered under: the companies' review, whose window the documents date.
# Not a retiree's certification (Alipay, the bureau's app, ID and face): the documents give it no date.
TOPICS = frozenset({"review-months", "review-checks", "review-materials-process"})
# Asked for after one of these, the reminder says what it is of, and where a pensioner's date is known.
PERSONAL = frozenset({"annual-review-alipay", "annual-review-app", "online-certification", "certification-problems"})


def until_text(end: date, lang: str) -> str:
    """'the end of December', 'finales de diciembre', '12月底'; or the day itself."""
    month = render.say("months", lang).split()[end.month - 1]
    following = date.fromordinal(end.toordinal() + 1)
    if following.month != end.month:
        return render.say("month_end", lang, month=month)
    return render.say("month_day", lang, month=month, day=end.day)


class Reminding:
    """The Dialogue's replies about the annual review reminder."""

    def _start_now(self, lang: str) -> list[Button]:
        if FLOW not in self.flows:
            return []
        return [Button(render.say("start_now", lang), bt.encode(bt.Step(FLOW, ev.Start())))]

    def _remind(self, turn, on: bool, *, next_year: bool = False):
        lang = turn.lang
        if not on:
            key = "remind_off" if self.store.cancel_reminder(turn.user.id) else "remind_none"
            return self._reply(turn, render.say(key, lang), "command")
        if turn.user.recent_topic in PERSONAL:
            turn.notes.append("remind_personal")
        moment = self.clock()
        end = None if next_year else open_until(moment)
        if end is not None:  # no use waiting for an opening that has come: say so
            buttons = self._start_now(lang) + [Button(render.say("remind_next_year", lang), bt.encode(bt.Remind("next")))]
            return self._reply(turn, render.say("window_open", lang, until=until_text(end, lang)), "command",
                               buttons=buttons)
        due = next_window(moment)
        self.store.set_reminder(turn.user.id, lang, turn.user.chat, due)
        return self._reply(turn, render.say("remind_on", lang, date=due.date().isoformat()), "command")

    def reminder(self, user_id: str, lang: str | None) -> Reply:
        """The reminder a channel sends when one is due: the window, and what to do about it."""
        lang = lang or "en"
        buttons = self._start_now(lang) + [Button(render.say("stop_reminders", lang), bt.encode(bt.Remind("off")))]
        return Reply(user_id, render.say("remind_message", lang), lang, "command", buttons)
