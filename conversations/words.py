"""The words that move a flow, in three languages: button labels and what people type.

The same vocabulary labels the buttons and parses typed text, so typing a button's label
does what pressing it does, on every channel. The buttons' ids are bot/buttons.py's.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from conversations.events import SIMPLE, Choose, Event, Tick
from conversations.machine import State
from conversations.model import Flow, Step
from conversations.schema import NAVIGATION_WHAT, Navigation
from knowledge.declare import read, report
from knowledge.language import LANGS
from knowledge.text import Utterance, has_phrase, key_of, label_key, norm_of, normalize, phrase_needle

NAVIGATION_FILE = Path(__file__).resolve().parent / "words.yaml"


def read_navigation(path: Path = NAVIGATION_FILE) -> tuple[Navigation | None, list[str]]:
    """words.yaml as its model (None when broken) and its problems, as kb check reports them."""
    value, doc, problems = read(path, Navigation, what=NAVIGATION_WHAT)
    return value, report(path, doc, problems)


def _navigation() -> Navigation:
    value, problems = read_navigation()
    if value is None:
        raise ValueError("\n".join(problems))
    return value


_WORDS = _navigation().words()
# Button labels, one per language; and what people type for each word besides its label.
LABELS: dict[str, dict[str, str]] = {word: dict(spec.label.items()) for word, spec in _WORDS.items()}
SYNONYMS: dict[str, dict[str, list[str]]] = {
    word: {lang: list(phrases) for lang, phrases in spec.typed.items()} for word, spec in _WORDS.items()}

def _vocabulary() -> dict[str, tuple[str, frozenset[str]]]:
    """normalised phrase -> (word, languages it belongs to)."""
    found: dict[str, dict[str, set[str]]] = {}
    for word, by_lang in SYNONYMS.items():
        for lang in LANGS:
            for phrase in [LABELS[word][lang], *by_lang.get(lang, [])]:
                found.setdefault(label_key(phrase), {}).setdefault(word, set()).add(lang)
    return {k: (word, frozenset(langs)) for k, words in found.items() for word, langs in words.items()}


VOCABULARY = _vocabulary()


def parse(said: Utterance | str, flow: Flow | None = None, state: State | None = None) -> tuple[Event, str | None] | None:
    """The flow event a whole message asks for, and the language its words belong to.

    An option or checklist item of the current step wins over the navigation words (a step's
    own options are the more specific reading). Returns None for anything else, such as a real
    question that happens to contain "next"; the language is None when the words are shared
    by several languages ("ok", "Alipay").
    """
    if not norm_of(said):  # no letters ("👍", "..."): no step word
        return None
    typed = key_of(said)
    step = _current_step(flow, state)
    if step is not None:
        for choice in step.choices:
            langs = _matching_langs(typed, choice.label, choice.aliases)
            if langs:
                return Choose(choice.id), _one(langs)
        for item in step.checklist:
            langs = _matching_langs(typed, item.label, {})
            if langs:
                return Tick(item.id), _one(langs)
    found = VOCABULARY.get(typed)
    if found is None:
        return None
    word, langs = found
    return SIMPLE[word], _one(langs)


def named_option(flow: Flow, norm: str, step: str | None = None) -> str | None:
    """The option of a step (by default the flow's first) that a longer message names ("guide me
    through it with Alipay", "用社保局app年审"), by its label or an alias as whole words; None when it
    names none or several. `norm` is the message normalised as the matcher reads it
    (knowledge.text.normalize)."""
    named = set()
    for choice in flow.steps[step or flow.start].choices:
        names = [*choice.label.values(), *(alias for words in choice.aliases.values() for alias in words)]
        for name in names:
            folded = normalize(name)
            if folded and has_phrase(norm, phrase_needle(folded)):
                named.add(choice.id)
    return named.pop() if len(named) == 1 else None


def repeats_last_choice(flow: Flow, state: State, said: Utterance | str) -> bool:
    """Whether the text picks, on the previous step, the very option that led to the current one
    ("Alipay" again after the procedure started on the Alipay way): nothing to do but stay."""
    if not state.path:
        return False
    before = State(flow=state.flow, step=state.path[-1], path=state.path[:-1])
    parsed = parse(said, flow, before)
    if parsed is None or not isinstance(parsed[0], Choose):
        return False
    choice = flow.steps[before.step].choice(parsed[0].option)
    return choice is not None and choice.to == state.step


def label(word: str, lang: str) -> str:
    """A navigation button's label ("next", "es" -> "Siguiente"); English when lang is unknown."""
    return LABELS[word].get(lang, LABELS[word]["en"])


def _current_step(flow: Flow | None, state: State | None) -> Step | None:
    if flow is None or state is None or not state.active or state.flow != flow.id:
        return None
    return flow.steps.get(state.step)


def _matching_langs(
    typed: str, labels: Mapping[str, str], aliases: Mapping[str, Iterable[str]]
) -> set[str]:
    langs = {lang for lang, text in labels.items() if label_key(text) == typed}
    langs |= {lang for lang, words in aliases.items() if any(label_key(w) == typed for w in words)}
    return langs


def _one(langs: Iterable[str]) -> str | None:
    langs = set(langs)
    return langs.pop() if len(langs) == 1 else None
