"""The dialogue decides in one direction: bot/dialogue.py routes, bot/procedures.py moves a user
through a procedure and may ask bot/answers.py about a question, and answers only return their
decision (they never move a procedure on), so a question's path can be read in one file."""
from __future__ import annotations

import ast
from pathlib import Path

from bot import procedures
from bot.answers import Aside, Guide, Missed
from bot.turn import Turn
from conversations import machine
from knowledge.text import read

BOT = Path(__file__).resolve().parent.parent / "bot"


def _self_calls(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.func.attr for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and isinstance(n.func.value, ast.Name) and n.func.value.id == "self"}


def test_answers_never_call_into_procedures():
    moving = {name for name in vars(procedures.Procedures) if name.startswith("_") and not name.startswith("__")}
    assert moving, "bot/procedures.py has no methods: the test would prove nothing"
    assert _self_calls(BOT / "answers.py") & moving == set()
    assert "bot.procedures" not in (BOT / "answers.py").read_text(encoding="utf-8")


def test_inside_a_procedure_a_question_is_an_aside_a_miss_or_another_procedure(dialogue):
    dialogue.say("u", "guide me through the annual review")
    place = machine.State.from_dict(dialogue.store.user("u").flow_state)
    turn = Turn(dialogue.store.user("u"), "en")
    asked = dialogue._question(read("what is the green channel?"), turn, in_flow=place)
    assert isinstance(asked, Aside) and asked.reply.topic == "green-channel"
    assert isinstance(dialogue._question(read("qwzx vbnm plok"), turn, in_flow=place), Missed)
    assert isinstance(dialogue._question(read("guide me through paying social insurance myself"), turn, in_flow=place),
                      Guide)
    assert dialogue.store.user("u").flow_state == place.to_dict()  # deciding moved nothing


def test_the_place_is_read_once_a_message(dialogue, monkeypatch):
    dialogue.say("u", "guide me through the annual review")
    calls = []
    real = machine.State.from_dict.__func__

    def counted(cls, data):
        calls.append(data)
        return real(cls, data)

    monkeypatch.setattr(machine.State, "from_dict", classmethod(counted))
    dialogue.say("u", "Alipay")
    assert len(calls) <= 2, calls  # the check against the content, then the Turn's own reading
