"""A chat in the terminal: buttons become numbered choices, and typing the number presses one."""
from __future__ import annotations

import os
from typing import IO

from bot.messages import Message, Reply

PROMPT = "> "
QUIT = ("/quit", "/exit", "/salir", "/退出")


def draw(reply: Reply) -> str:
    lines = [reply.text]
    if reply.buttons:
        lines.append("")
        lines += [f"  [{n}] {b.label}" for n, b in enumerate(reply.buttons, 1)]
    return "\n".join(lines)


def env_language(env=os.environ) -> str | None:
    """The terminal's language (LANG=es_ES.UTF-8) as a hint, like Telegram's language_code."""
    return (env.get("LC_ALL") or env.get("LANG") or "")[:2] or None


def run(dialogue, stdin: IO[str], stdout: IO[str], user: str = "console", interactive: bool = True) -> None:
    try:
        _chat(dialogue, stdin, stdout, user, interactive)
    except KeyboardInterrupt:
        # Ctrl-C is how a newcomer leaves a terminal program: a clean line, not a traceback.
        stdout.write("\n")
        stdout.flush()


def _chat(dialogue, stdin: IO[str], stdout: IO[str], user: str, interactive: bool) -> None:
    hint = env_language()
    last: Reply = dialogue.handle(Message(user=user, text="/start", lang_hint=hint, channel="console"))
    stdout.write(draw(last) + "\n")
    while True:
        if interactive:
            stdout.write(PROMPT)
        stdout.flush()
        line = stdin.readline()
        if not line:
            stdout.write("\n")
            return
        text = line.rstrip("\n")
        if text.strip() in QUIT:
            return
        button = None
        if text.strip().isdigit() and 1 <= int(text.strip()) <= len(last.buttons):
            button = last.buttons[int(text.strip()) - 1].id
        last = dialogue.handle(Message(user=user, text="" if button else text, button=button, lang_hint=hint,
                                       channel="console"))
        stdout.write(draw(last) + "\n")
