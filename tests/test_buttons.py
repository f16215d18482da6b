"""One button grammar (bot/buttons.py): every id the bot can draw is decoded back to the action that
drew it, fits Telegram's 64 bytes, and nothing else in the core takes ids apart."""
from __future__ import annotations

import copy
import typing
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot import buttons as bt
from bot.dialogue import Dialogue
from bot.messages import LANGS
from bot.store import Store
from conversations.events import SIMPLE, Choose, Tick
from conversations.loader import load_flows
from conversations.schema import BUTTON_ID_ROOM

FLOWS = load_flows()
ROOT = Path(__file__).resolve().parent.parent


def all_events(flow):
    yield from SIMPLE.values()
    for step in flow.steps.values():
        yield from (Choose(c.id) for c in step.choices)
        yield from (Tick(i.id) for i in step.checklist)


@pytest.mark.parametrize("flow_id", sorted(FLOWS))
def test_step_ids_round_trip_and_fit(flow_id):
    for event in all_events(FLOWS[flow_id]):
        for step in (None, *FLOWS[flow_id].steps):
            action = bt.Step.on(flow_id, event, step) if step else bt.Step(flow_id, event)
            value = bt.encode(action)
            assert value.startswith(f"flow:{flow_id}:")
            assert len(value.encode("utf-8")) <= bt.MAX_BYTES
            assert bt.decode(value) == action


def test_button_id_examples():
    assert bt.encode(bt.Step("annual_review", SIMPLE["next"])) == "flow:annual_review:next"
    assert bt.encode(bt.Step("annual_review", Choose("alipay"))) == "flow:annual_review:choose:alipay"
    assert bt.encode(bt.Step("annual_review", Tick("licence_copy"))) == "flow:annual_review:tick:licence_copy"
    assert bt.encode(bt.Step("annual_review", SIMPLE["start"])) == "flow:annual_review:start"
    assert bt.decode("flow:annual_review:start") == bt.Step("annual_review", SIMPLE["start"])
    assert bt.encode(bt.Step.on("annual_review", SIMPLE["next"], "route")) == "flow:annual_review:next" + bt.step_tag("route")
    assert bt.encode(bt.Vote("card-uses", up=False)) == "fb:down:card-uses"
    assert bt.encode(bt.Switch("annual_review", "app")) == "switch:annual_review:app"
    assert bt.encode(bt.Person()) == "person" and bt.encode(bt.NotThat()) == "not:that"


@pytest.mark.parametrize("value", [
    "", "next", "flow:", "flow:annual_review", "flow:annual_review:jump", "flow::next", "flow:annual_review:choose",
    "flow:annual_review:choose:", "flow:a:tick:b:c", "topic:", "fb:sideways:card-uses", "fb:up:", "switch:",
    "remind:later", "kb:more", None, 42,
])
def test_ids_it_never_draws_are_refused(value):
    assert bt.decode(value) is None


def test_an_id_over_64_bytes_is_refused():
    with pytest.raises(ValueError):
        bt.encode(bt.Step("annual_review", Choose("x" * 60)))


def test_a_step_tag_tells_the_step_it_was_drawn_on():
    pressed = bt.decode(bt.encode(bt.Step.on("annual_review", SIMPLE["next"], "route")))
    assert pressed.drawn_on("route") and not pressed.drawn_on("app_download")
    assert bt.Step("annual_review", SIMPLE["start"]).drawn_on("anything")  # untagged: valid on any step


def test_the_room_kb_check_leaves_content_ids_fits_the_grammar():
    """conversations/ may not import bot/: its content rule must still let every id fit."""
    for flow_bytes in range(1, BUTTON_ID_ROOM):
        flow, entry = "f" * flow_bytes, "e" * (BUTTON_ID_ROOM - flow_bytes)
        for event in (Choose(entry), Tick(entry)):
            assert bt.size(bt.Step(flow, event, "ffff")) <= bt.MAX_BYTES
    assert bt.size(bt.Step("f", Choose("e" * BUTTON_ID_ROOM), "ffff")) > bt.MAX_BYTES  # no room wasted


def test_the_telegram_channel_agrees_on_the_limit():
    from telegram.constants import InlineKeyboardButtonLimit

    from bot.channels import telegram_format

    assert bt.MAX_BYTES == InlineKeyboardButtonLimit.MAX_CALLBACK_DATA == telegram_format.MAX_CALLBACK_BYTES


def test_no_other_module_takes_button_ids_apart():
    """The prefixes of ids appear only in the grammar (a channel's own kb: ids are its business)."""
    for path in [*(ROOT / "bot").rglob("*.py"), *(ROOT / "conversations").rglob("*.py")]:
        if path.name == "buttons.py":
            continue
        text = path.read_text(encoding="utf-8")
        for prefix in ('"fb:', '"topic:', '"pick:', '"walk:', '"lang:', '"switch:', '"remind:',
                       '"not:that"', '":tick:', '":choose:'):
            assert prefix not in text, f"{path.relative_to(ROOT)} spells button ids itself ({prefix})"


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def drawn(built_dialogue):
    """Every button id the bot draws, reached by pressing every button of every reply from every
    command, topic, procedure and kind of question, in every language (each id pressed once)."""
    clock = Clock(datetime(2026, 10, 1, 9, tzinfo=timezone.utc))  # the review window is open: its buttons too
    d = Dialogue(Store(memory=True), kb=built_dialogue.kb, flows=built_dialogue.flows, clock=clock)
    ids: dict[str, str] = {}  # id -> how it was reached
    queue: deque = deque()

    def snapshot(user: str):
        return copy.deepcopy(d.store.user(user))

    def seen(reply, user: str, how: str):
        for b in reply.buttons:
            if b.id not in ids:
                ids[b.id] = how
                queue.append((user, snapshot(user), b.id))

    def seed(user: str, *messages):
        for m in messages:
            reply = d.say(user, **m) if isinstance(m, dict) else d.say(user, m)
            seen(reply, user, f"{user}: {m}")

    for lang in LANGS:
        u = f"cmd-{lang}"
        for command in ("/start", "/help", "/language", "/cancel", "/forget", "/remind", "/remind off"):
            seed(u, {"text": command, "lang": lang})
        for topic in d.kb.topics:
            seed(f"t-{lang}", {"button": bt.encode(bt.Topic(topic)), "lang": lang})
        for flow in d.flows.values():
            seed(f"f-{lang}-{flow.id}", {"button": bt.encode(bt.Step(flow.id, SIMPLE["start"])), "lang": lang},
                 "what is the green channel?",  # an aside: Continue
                 {"text": "/start", "lang": lang})  # the resume question
            others = [f for f in d.flows if f != flow.id]
            seed(f"f-{lang}-{flow.id}", {"button": bt.encode(bt.Step(others[0], SIMPLE["start"]))})  # switch?
        seed(f"q-{lang}", {"text": {"en": "annual review", "es": "revisión anual", "zh": "年审"}[lang], "lang": lang},
             "qwzx vbnm plok", "qwzx vbnm plok again", "talk to a person")
    seed("guess", {"text": "你好，我今年七十岁了，第一次弄这个年审，不太会用手机", "lang": "zh"})  # "Do you mean …?"
    seed("rem", {"text": "remind me", "lang": "en"})
    for lang in LANGS:
        seen(d.reminder("rem", lang), "rem", "a reminder")
    while queue:
        user, row, bid = queue.popleft()
        d.store.save_user(row)
        seen(d.say(user, button=bid), user, f"{ids[bid]} -> {bid}")
    return ids


def test_every_button_the_bot_draws_round_trips(drawn):
    for value, how in drawn.items():
        action = bt.decode(value)
        assert action is not None, f"{value!r} (reached by {how}) is not in the grammar"
        assert bt.encode(action) == value
        assert len(value.encode("utf-8")) <= bt.MAX_BYTES


def test_the_walk_reaches_every_kind_of_button(drawn):
    kinds = {type(bt.decode(v)) for v in drawn}
    every = set(typing.get_args(bt.Action)) - {bt.Command}  # "cmd:" is read (old messages), never drawn now
    assert every - kinds == set(), "some kinds of button were never drawn: is the walk still complete?"
    steps = {bt.decode(v) for v in drawn if isinstance(bt.decode(v), bt.Step)}
    for flow in FLOWS.values():  # every option and checklist item of every procedure was drawn
        for step_id, step in flow.steps.items():
            for event in [*(Choose(c.id) for c in step.choices), *(Tick(i.id) for i in step.checklist)]:
                assert bt.Step.on(flow.id, event, step_id) in steps, (flow.id, step_id, event)
