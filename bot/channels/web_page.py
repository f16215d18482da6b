"""How a Reply looks on the web page: blocks of plain text drawn by autoescaping jinja2 templates.

Pure functions (no server), so they are tested directly. Nothing here builds markup by hand: a
reply's text is cut into paragraphs, numbered steps and checklist lines, and the templates
(`bot/templates/web/`, autoescape on) escape every character of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import jinja2

from bot import buttons as bt
from bot import render
from bot.messages import LANGS, LANGUAGE_NAMES, Reply

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
_NUMBERED = re.compile(r"^\s*\d+[.)、]\s*\S")
_TICKBOX = ("☐", "☑")


@dataclass(frozen=True)
class Block:
    kind: str  # p | steps | checklist | source | heading
    lines: tuple[str, ...]


@dataclass
class Turn:
    """One exchange shown on the page: what the user said (masked) and the core's reply."""

    said: str
    said_lang: str
    reply: Reply
    blocks: tuple[Block, ...] = field(default=())


def blocks(text: str, reply_kind: str = "answer", source_word: str = "") -> tuple[Block, ...]:
    """The reply's text cut at blank lines; a paragraph of numbered lines is a list of steps, one of
    ☐/☑ lines a checklist, one starting with the source word the source line. In a step the first
    paragraph that says "Step k of n" is its heading."""
    out: list[Block] = []
    for para in (p.strip("\n") for p in text.split("\n\n")):
        lines = tuple(line for line in para.split("\n") if line.strip())
        if not lines:
            continue
        if all(_NUMBERED.match(line) for line in lines) and len(lines) > 1:
            kind = "steps"
        elif lines[0].startswith(_TICKBOX) or len(lines) > 1 and all(l.startswith(_TICKBOX) for l in lines[1:]):
            kind = "checklist"
        elif source_word and lines[0].startswith((source_word + ":", source_word + "：")):  # Chinese: full width
            kind = "source"
        elif reply_kind == "step" and " · " in lines[0] and len(lines) == 1 and not any(b.kind == "heading" for b in out):
            kind = "heading"
        else:
            kind = "p"
        out.append(Block(kind, lines))
    return tuple(out)


def turn(said: str, said_lang: str, reply: Reply) -> Turn:
    return Turn(said, said_lang, reply, blocks(reply.text, reply.kind, render.say("source", reply.lang)))


@lru_cache(maxsize=1)
def env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value a user or the core gives is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )


class Words:
    """`s.key` in a web template: the UI string in the page's language."""

    def __init__(self, lang: str):
        self.lang = lang

    def __getattr__(self, key: str) -> str:
        return render.say(key, self.lang)


def page(turns: list[Turn], lang: str, *, xsrf: str, action: str, compact: bool = False,
         notice: str = "", status_lang: str | None = None) -> str:
    """The whole conversation page: it works with no JavaScript at all."""
    return env().get_template("page.html").render(
        s=Words(lang), lang=lang, turns=turns, xsrf=xsrf, action=action, compact=compact, notice=notice,
        languages=[(code, LANGUAGE_NAMES[code], bt.encode(bt.Language(code))) for code in LANGS])


def fragment(turns: list[Turn], lang: str, *, xsrf: str, action: str) -> str:
    """Only the new turns, for the enhanced page to append (the same markup as the whole page)."""
    return env().get_template("turns.html").render(s=Words(lang), turns=turns, xsrf=xsrf, action=action)
