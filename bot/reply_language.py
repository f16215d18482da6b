"""Which language to answer in, once a user has chosen one: the choice sticks.

Detection (knowledge/language.py) only says what a text looks like; this decides. A user who chose
Español keeps Spanish when they quote a Chinese label ("dónde está 城市服务?") or type only a name
(「支付宝」): only a whole message clearly in another language switches, and the caller says so,
with a button back. A user who never chose is answered in the language of each message, as before.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from bot import schema
from knowledge.language import CJK, detect

_RUN = re.compile(f"(?:{CJK.pattern})+")
_QUOTED = re.compile(r"「[^」]*」|『[^』]*』|“[^”]*”|«[^»]*»|\"[^\"]*\"|《[^》]*》")
_WORD = re.compile(r"[^\W\d_]+")
# Names people type alone in any language: the apps and services the documents send them to (bot/words.yaml).
NAMES = tuple(schema.words().app_names)
MIN_HAN = 4  # Chinese characters a message needs, besides names and quotes, to be a Chinese message
MIN_WORDS = 2  # words of another language, and none of the chosen one, to be a message in it


def quoted_terms(texts: Iterable[str]) -> frozenset[str]:
    """The Chinese that English and Spanish content quotes (labels of the apps: 城市服务, 更多):
    a user of those languages may type them back, and that says nothing about their language."""
    return frozenset(run for text in texts for run in _RUN.findall(text)) | frozenset(NAMES)


def choose(text: str, detected: str | None, chosen: str | None, terms: frozenset[str]) -> str | None:
    """The language to answer in when the user chose `chosen`: it, unless the whole message is
    clearly in another one (then that one). None when nothing was chosen."""
    if not chosen:
        return None
    if detected is None or detected == chosen or not clearly(text, detected, chosen, terms):
        return chosen
    return detected


def clearly(text: str, lang: str, chosen: str, terms: frozenset[str]) -> bool:
    """Whether a message, without its quotes and the names it mentions, is written in `lang`."""
    rest = _QUOTED.sub(" ", text)
    for term in sorted(terms, key=len, reverse=True):
        if term in rest:
            rest = rest.replace(term, " ")
    latin = _RUN.sub(" ", rest)
    if lang == "zh":
        return len(CJK.findall(rest)) >= MIN_HAN and detect(latin) != chosen
    words = [detect(w) for w in _WORD.findall(latin)]
    return words.count(lang) >= MIN_WORDS and chosen not in words


def content_texts(kb, flows) -> Iterable[str]:
    """Every English and Spanish text of the content: where Chinese labels are quoted to their readers."""
    for topic in kb.topics.values():
        for lang in ("en", "es"):
            yield topic.title[lang]
            yield topic.answer[lang]
            yield from topic.questions.get(lang, ())
    for flow in flows.values():
        for lang in ("en", "es"):
            yield flow.title[lang]
            for step in flow.steps.values():
                yield step.text[lang]
                yield from (c.label[lang] for c in step.choices)
                yield from (i.label[lang] for i in step.checklist)
