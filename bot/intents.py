"""Requests to *do* something (guide me, forget me, a person please), recognised in three languages."""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot import schema
from bot.schema import RAW
from knowledge.language import LANGS
from knowledge.memo import SHORT
from knowledge.text import Utterance, norm_of, normalize


@dataclass(frozen=True)
class _Intent:
    whole: dict[str, str]  # a normalised phrase that must be the whole message -> its language
    inside: re.Pattern | None  # every language's phrases in one pattern; the group name is the language


@lru_cache(maxsize=1)
def _table() -> dict[str, _Intent]:
    table = {}
    for name, spec in schema.intents():
        whole = {}
        for lang, phrases in spec.whole.items() if spec.whole else ():
            for p in phrases:
                whole.setdefault(p if p in RAW else normalize(p), lang)
        groups = []
        for lang, phrases in spec.inside.items() if spec.inside else ():
            # Latin phrases must stand as whole words ("operator" not in "cooperator"); Chinese has no spaces.
            latin = "|".join(re.escape(normalize(p)) for p in phrases if p.isascii())
            other = "|".join(re.escape(normalize(p)) for p in phrases if not p.isascii())
            alts = [f"(?<!\\w)(?:{latin})(?!\\w)" if latin else "", other]
            groups.append(f"(?P<{lang}>{'|'.join(a for a in alts if a)})")
        table[name] = _Intent(whole, re.compile("|".join(groups)) if groups else None)
    return table


def intent(name: str, said: Utterance | str) -> str | None:
    """The language of the phrase that says `name`, or None when the message (read, or a text) does
    not say it."""
    text, norm = (said.text, said.norm) if isinstance(said, Utterance) else (said, normalize(said))
    if len(text) <= SHORT:  # every message is asked several intents; the short ones repeat
        return _said(name, text, norm)
    return _says(name, text, norm)


def _says(name: str, text: str, norm: str) -> str | None:
    spec = _table()[name]
    if spec.whole:
        lang = spec.whole.get(norm) or spec.whole.get(text.strip())
        if lang:
            return lang
    found = spec.inside.search(norm) if spec.inside else None
    return found.lastgroup if found else None


_said = lru_cache(maxsize=16384)(_says)


def without(name: str, said: Utterance | str) -> str:
    """The normalised text with the phrases that say `name` taken out (what is left is the subject)."""
    norm = norm_of(said)
    pattern = _table()[name].inside
    return " ".join((pattern.sub(" ", norm) if pattern else norm).split())


LANGUAGE_REQUEST_REST = 4  # words besides the request ("can you", "por favor"): more, and it is a question


def language_asked(said: Utterance | str) -> str | None:
    """The language a message asks the bot to speak ("can you speak spanish", "en español por favor",
    "说中文"), or None. A longer message that merely names a language is a question, not a request."""
    for lang in LANGS:
        if intent(f"speak_{lang}", said):
            rest = without(f"speak_{lang}", said)
            rest = without("courtesy", rest) if rest else rest
            latin = [w for w in rest.split() if w.isascii()]
            cjk = sum(len(w) for w in rest.split() if not w.isascii())
            if len(latin) + (cjk + 1) // 2 <= LANGUAGE_REQUEST_REST:
                return lang
    return None
