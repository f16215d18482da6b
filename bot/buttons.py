"""One button grammar: what a button does, as a typed action, and the stable id a channel sends back.

Every button the core draws is built here (`encode`) and every press is read here (`decode`), so
no other module takes an id apart with string slicing. The ids are plain text the user's client
keeps on old messages, so the format never changes under them:

    topic:<topic>        an answer                  pick:<topic>     a "did you mean" choice
    fb:up:<topic>        👍 / fb:down:<topic> 👎     walk:<topic>     "walk me through it" from an answer
    lang:<xx>            a language                 cmd:<name>       a command, as /name (read, not drawn)
    not:that             "No" to "Do you mean…?"    none:these       "None of these", last under a list
    person               "Talk to a person"         undo             the place back after Cancel
    forget:yes|no        /forget confirmed or not   remind:on|next|off
    switch:<flow>[:<option>]                        leave the current procedure for that one
    flow:<flow>:<event>[:<arg>][@<tag>]             a procedure's button, tagged with the step it was drawn on
"""
from __future__ import annotations

import zlib
from dataclasses import astuple, dataclass

from conversations.events import SIMPLE, Choose, Event, Tick, event_name

# Telegram's limit on callback_data (Bot API: 1-64 bytes). The core keeps every id within it so any
# channel can send ids back verbatim; the Telegram channel checks this against its library's constant.
MAX_BYTES = 64


def tag(step: str) -> str:
    """A short mark of the step a button was drawn for, so a press on an old message is recognised
    (a hash, not the step id, keeps every id within MAX_BYTES)."""
    return format(zlib.crc32(step.encode()) & 0xFFFF, "x")


def step_tag(step: str) -> str:
    """The tag as it ends an id: "@" and the hash."""
    return "@" + tag(step)


@dataclass(frozen=True)
class Topic:
    topic: str


@dataclass(frozen=True)
class Pick:
    """A topic chosen from "did you mean" (recorded for curators)."""
    topic: str


@dataclass(frozen=True)
class Vote:
    topic: str
    up: bool


@dataclass(frozen=True)
class Walk:
    """"Walk me through it" under an answer: the procedure, from where that answer is."""
    topic: str


@dataclass(frozen=True)
class Language:
    lang: str


@dataclass(frozen=True)
class Command:
    name: str


@dataclass(frozen=True)
class NotThat:
    """"No" to "Do you mean …?"."""


@dataclass(frozen=True)
class NoneOfThese:
    """The last choice of a "did you mean" list: none of the topics is what was asked."""


@dataclass(frozen=True)
class Person:
    """"Talk to a person": the bureau's contact and a summary of what was asked."""


@dataclass(frozen=True)
class Undo:
    """Under "Cancelled": the place back."""


@dataclass(frozen=True)
class Forget:
    yes: bool


@dataclass(frozen=True)
class Remind:
    when: str  # "on", "next" (next year's window) or "off"


@dataclass(frozen=True)
class Switch:
    """Leave the current procedure for `flow` (on its `option`, when the user named one)."""
    flow: str
    option: str | None = None


@dataclass(frozen=True)
class Step:
    """A procedure's button. `tag` marks the step it was drawn on; None for a press valid anywhere."""
    flow: str
    event: Event
    tag: str | None = None

    @classmethod
    def on(cls, flow: str, event: Event, step: str | None) -> Step:
        return cls(flow, event, tag(step or ""))

    def drawn_on(self, step: str | None) -> bool:
        """Whether the press belongs to `step` (an untagged button belongs to any)."""
        return self.tag is None or self.tag == tag(step or "")


Action = (Topic | Pick | Vote | Walk | Language | Command | NotThat | NoneOfThese | Person | Undo | Forget
          | Remind | Switch | Step)

REMIND = ("on", "next", "off")
_BARE = {"not:that": NotThat(), "none:these": NoneOfThese(), "person": Person(), "undo": Undo(),
         "forget:yes": Forget(True), "forget:no": Forget(False), **{f"remind:{w}": Remind(w) for w in REMIND}}
_BARE_ID = {action: value for value, action in _BARE.items()}
_ONE_ARG = {"topic": Topic, "pick": Pick, "walk": Walk, "lang": Language, "cmd": Command}
_ONE_ARG_KIND = {cls: kind for kind, cls in _ONE_ARG.items()}


def encode(action: Action) -> str:
    """The id of a button that does `action`; raises ValueError over MAX_BYTES."""
    value = _compose(action)
    if len(value.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"button id over {MAX_BYTES} bytes: {value!r}")
    return value


def size(action: Action) -> int:
    """The bytes an action's id takes (content checks use it to refuse ids that would not fit)."""
    return len(_compose(action).encode("utf-8"))


def _compose(action: Action) -> str:
    if action in _BARE_ID:
        return _BARE_ID[action]
    if type(action) in _ONE_ARG_KIND:
        return f"{_ONE_ARG_KIND[type(action)]}:{astuple(action)[0]}"
    if isinstance(action, Vote):
        return f"fb:{'up' if action.up else 'down'}:{action.topic}"
    if isinstance(action, Switch):
        return f"switch:{action.flow}:{action.option}" if action.option else f"switch:{action.flow}"
    if isinstance(action, Step):
        name = event_name(action.event)
        arg = action.event.option if isinstance(action.event, Choose) else \
            action.event.item if isinstance(action.event, Tick) else None
        value = f"flow:{action.flow}:{name}" + (f":{arg}" if arg is not None else "")
        return value if action.tag is None else f"{value}@{action.tag}"
    raise TypeError(f"not a button action: {action!r}")


def decode(value: object) -> Action | None:
    """The action a pressed id asks for; None for anything this grammar never draws."""
    if not isinstance(value, str) or not value:
        return None
    if value in _BARE:
        return _BARE[value]
    kind, _, rest = value.partition(":")
    if kind in _ONE_ARG:
        return _ONE_ARG[kind](rest) if rest else None
    if kind == "fb":
        vote, _, topic = rest.partition(":")
        return Vote(topic, vote == "up") if vote in ("up", "down") and topic else None
    if kind == "switch":
        flow, _, option = rest.partition(":")
        return Switch(flow, option or None) if flow else None
    if kind == "flow":
        return _step(rest)
    return None


def _step(rest: str) -> Step | None:
    base, at, step_hash = rest.partition("@")
    parts = base.split(":")
    if not parts[0]:
        return None
    event: Event | None = None
    if len(parts) == 2 and parts[1] in SIMPLE:
        event = SIMPLE[parts[1]]
    elif len(parts) == 3 and parts[2] and parts[1] in ("choose", "tick"):
        event = Choose(parts[2]) if parts[1] == "choose" else Tick(parts[2])
    if event is None:
        return None
    return Step(parts[0], event, step_hash if at else None)
