"""An answer as a phone shows it: one screen first, the rest behind "Read more".

The first message is a bold title line, the answer (cut at a paragraph or a sentence when it is
long), and its sources as a one-line footer of short names. The full source titles, the general
guidance note and whatever did not fit are the rest, sent when "Read more" is pressed. Pure: the
channel keeps the rest and sends it.
"""
from __future__ import annotations

import html
import re

from bot import render
from bot.channels.telegram_format import KB_REST, to_html, utf16_len

SHORT = 600  # characters of a first message: about one phone screen above the keyboard
FOOTER_MAX = 90
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s|(?<=[。！？；：])")
_SHORT_NAME = re.compile(r"[(（]([^()（）]{2,40})[)）]\s*$")


def short_name(title: str) -> str:
    """A source's short name: its publisher in brackets at the end ("… (social security Q&A)"),
    else its title."""
    found = _SHORT_NAME.search(title)
    return found.group(1).strip() if found else title


def split_answer(text: str, lang: str) -> tuple[str, list[str], bool]:
    """The answer's own text, its source titles, and whether the guidance note was in it."""
    lead = render.say("source", lang) + render.say("source_colon", lang)
    note = render.say("note", lang)
    sources: list[str] = []
    kept = []
    for line in text.split("\n"):
        if line.startswith(lead):
            sources += line[len(lead):].split(render.say("source_sep", lang))
        elif line.strip() != note:
            kept.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return body, [s.strip() for s in sources if s.strip()], note in text


def cut(body: str, budget: int) -> tuple[str, str]:
    """(what fits in `budget` characters, the rest): whole paragraphs, else whole sentences."""
    if len(body) <= budget:
        return body, ""
    head = ""
    paragraphs = body.split("\n\n")
    for n, paragraph in enumerate(paragraphs):
        joined = f"{head}\n\n{paragraph}" if head else paragraph
        if len(joined) <= budget:
            head = joined
            continue
        room = budget - len(head) - 2
        ends = [m.end() for m in _SENTENCE_END.finditer(paragraph) if m.end() <= room - 1]
        if ends and ends[-1] > 40:  # a whole first sentence or more: worth showing
            cut_at = ends[-1]
            head = (f"{head}\n\n" if head else "") + paragraph[:cut_at].rstrip() + " …"
            rest = "\n\n".join([paragraph[cut_at:].strip(), *paragraphs[n + 1:]])
        elif head:
            rest = "\n\n".join(paragraphs[n:])
        else:  # one long sentence: at a space, or anywhere
            at = paragraph.rfind(" ", 0, room) if " " in paragraph[:room] else room - 1
            head = paragraph[:at].rstrip() + " …"
            rest = "\n\n".join([paragraph[at:].strip(), *paragraphs[n + 1:]])
        return head, rest.strip()
    return head, ""


def answer_view(text: str, lang: str, title: str, answer: str = "", *, place: bool = False) -> tuple[str, str | None]:
    """The first message as Telegram HTML, and the rest as plain text (None when nothing is left).
    What the core said before the topic's `answer` (that it is automated, a warning) stays first;
    with `place`, so does the last paragraph, below the answer: where a side question left the user
    in their procedure ("You're still at step 2 of …") must not hide behind "Read more"."""
    after = ""
    if place:
        text, _, after = text.rstrip().rpartition("\n\n")
        after = after.strip()
    body, sources, noted = split_answer(text, lang)
    start = body.find(answer[:40].strip()) if answer.strip() else -1
    before, body = (body[:start].strip(), body[start:]) if start > 0 else ("", body)
    footer = ""
    if sources:
        names = render.say("source_sep", lang).join(dict.fromkeys(short_name(s) for s in sources))
        footer = "📄 " + render.say("source", lang) + render.say("source_colon", lang) + names
        if len(footer) > FOOTER_MAX:
            footer = footer[:FOOTER_MAX - 1].rstrip() + "…"
    budget = SHORT - len(before) - len(title) - len(footer) - len(after) - 8
    head, tail = cut(body, budget)
    first = (f"{to_html(before)}\n\n" if before else "") + f"<b>{to_html(title)}</b>\n{to_html(head)}" \
        + (f"\n\n{to_html(after)}" if after else "") + (f"\n\n<i>{to_html(footer)}</i>" if footer else "")
    rest = [tail] if tail else []
    if sources:
        lead = render.say("source", lang) + render.say("source_colon", lang)
        rest.append(lead + render.say("source_sep", lang).join(sources))
    if noted:
        rest.append(render.say("note", lang))
    return first, ("\n\n".join(rest) if (tail or len(sources) > 0 or noted) else None)


def plain_length(html_text: str) -> int:
    """What a user reads of an HTML message (tags out, entities decoded), as Telegram counts it."""
    return utf16_len(html.unescape(re.sub(r"<[^>]+>", "", html_text)))
