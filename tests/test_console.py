"""The console channel: bot.channels.console.run() over io.StringIO, buttons drawn as numbered choices."""
from __future__ import annotations

import io
import re

import pytest

from bot.channels import console
from bot.messages import Button, Reply

CHOICE = re.compile(r"^  \[(\d+)\] (.+)$", re.M)


@pytest.fixture(autouse=True)
def no_terminal_language(monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LANG", raising=False)


def chat(dialogue, typed: str, **kw) -> str:
    out = io.StringIO()
    console.run(dialogue, io.StringIO(typed), out, **kw)
    return out.getvalue()


def screens(output: str) -> list[str]:
    """The output cut at each prompt: the welcome, then one screen per line typed."""
    return output.split(console.PROMPT)


def choices(screen: str) -> list[str]:
    found = CHOICE.findall(screen)
    assert [int(n) for n, _ in found] == list(range(1, len(found) + 1)), "choices numbered 1, 2, 3, ..."
    return [label for _, label in found]


def test_welcome_is_shown_with_numbered_choices(dialogue):
    out = chat(dialogue, "")
    welcome = screens(out)[0]
    assert "socialbot" in welcome
    labels = choices(welcome)
    assert len(labels) >= 3
    assert "When the annual review happens" in labels


def test_eof_ends_cleanly(dialogue):
    out = chat(dialogue, "")
    assert out.endswith("\n")
    assert len(screens(out)) == 2  # the welcome, one prompt, then EOF


def test_typing_a_number_presses_that_button(dialogue):
    out = chat(dialogue, "")
    labels = choices(screens(out)[0])
    n = labels.index("When the annual review happens") + 1
    pressed = screens(chat(dialogue, f"{n}\n", user="presser"))[1]
    assert "September" in pressed and "December" in pressed
    assert "Source:" in pressed


def test_a_number_starts_a_procedure_and_the_next_number_moves_it(dialogue):
    welcome = screens(chat(dialogue, "", user="walker"))[0]
    labels = choices(welcome)
    n = labels.index("Pay social insurance yourself") + 1
    out = chat(dialogue, f"{n}\n", user="walker2")
    step1 = screens(out)[1]
    assert "Step 1 of" in step1
    step_labels = choices(step1)
    assert "Next" in step_labels
    nxt = step_labels.index("Next") + 1
    out = chat(dialogue, f"{n}\n{nxt}\n", user="walker3")
    assert "Step 2 of" in screens(out)[2]


def test_a_question_is_answered(dialogue):
    out = chat(dialogue, "¿Cómo pago el seguro social por mi cuenta?\n")
    answer = screens(out)[1]
    assert "Fuente:" in answer
    assert choices(answer)  # its buttons, numbered too


def test_a_number_out_of_range_is_sent_as_text(dialogue):
    out = chat(dialogue, "99\n")
    assert len(screens(out)) == 3  # welcome, a reply to "99", the next prompt
    assert screens(out)[1].strip()


def test_quit_ends_the_chat(dialogue):
    out = chat(dialogue, "/quit\nwhen is the annual review\n")
    assert "September" not in out
    assert chat(dialogue, "/exit\n").count(console.PROMPT) == 1


def test_no_prompt_when_not_interactive(dialogue):
    out = chat(dialogue, "when is the annual review\n", interactive=False)
    assert console.PROMPT not in out
    assert "September" in out


def test_terminal_language_is_the_hint(dialogue, monkeypatch):
    monkeypatch.setenv("LANG", "es_ES.UTF-8")
    assert console.env_language() == "es"
    out = chat(dialogue, "", user="hola")
    assert "¡Hola!" in screens(out)[0]


def test_draw_numbers_buttons_and_leaves_text_alone():
    reply = Reply("u", "Pick one:", "en", "suggest", [Button("First", "a"), Button("Second", "b")])
    assert console.draw(reply) == "Pick one:\n\n  [1] First\n  [2] Second"
    assert console.draw(Reply("u", "Just text", "en", "answer")) == "Just text"


class _CtrlC(io.StringIO):
    """A terminal whose user presses Ctrl-C at the next prompt."""

    def readline(self, *args):
        raise KeyboardInterrupt


def test_ctrl_c_leaves_cleanly_without_a_traceback(dialogue):
    out = io.StringIO()
    console.run(dialogue, _CtrlC(), out)  # must not raise
    assert out.getvalue().endswith("\n") and "socialbot" in out.getvalue()


@pytest.mark.parametrize("word", ["/quit", "/exit", "/salir", "/退出"])
def test_quit_words_leave_before_anything_else_is_answered(dialogue, word):
    out = chat(dialogue, f"{word}\nWhen is the annual review?\n")
    assert "September" not in out
