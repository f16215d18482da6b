"""What the bot's own YAML looks like: UI strings (strings.yaml), intents (intents.yaml) and the word lists
it reads messages by (words.yaml), declared once.

render and intents build what they use from these models; `socialbot kb check` reports their
mistakes in the one format of every content file.
"""
from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BeforeValidator, RootModel, model_validator

from knowledge.declare import PerLang, Shape, SomeLangs, fail, not_blank, number_as_text, read, report
from knowledge.text import normalize

HERE = Path(__file__).resolve().parent
STRINGS_FILE = HERE / "strings.yaml"
INTENTS_FILE = HERE / "intents.yaml"
WORDS_FILE = HERE / "words.yaml"
RAW = ("👍", "👎")  # intent phrases matched on the raw text: normalisation would erase them


class ContentError(ValueError):
    """A file of the bot's own words that does not pass `socialbot kb check`; the message lists every problem."""


# --- UI strings ---------------------------------------------------------------------------------

def _placeholders(text: str) -> frozenset[str]:
    try:
        return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
    except ValueError as err:  # a lone { or }
        raise ValueError(f"not a valid text with {{placeholders}}: {err}") from None


def _fills(text: str) -> str:
    _placeholders(text)
    return text


class UiString(PerLang[Annotated[str, AfterValidator(not_blank), AfterValidator(_fills)]]):
    """One thing the bot says, in every language; each language fills the same {placeholders}."""

    WHAT: ClassVar[str] = "a text"

    @model_validator(mode="after")
    def _same_placeholders(self):
        wanted = _placeholders(self.en)
        fail(((lang,), f"fills {_braced(_placeholders(text))} where en fills {_braced(wanted)}")
             for lang, text in self.items() if _placeholders(text) != wanted)
        return self


def _braced(names: frozenset[str]) -> str:
    return " ".join(f"{{{n}}}" for n in sorted(names)) or "nothing"


class Strings(RootModel[dict[str, UiString]]):
    pass


# --- intents ------------------------------------------------------------------------------------

def _matchable(phrase: str) -> str:
    if phrase not in RAW and not normalize(phrase):
        raise ValueError("empty once normalised (only punctuation or symbols)")
    return phrase


Phrases = list[Annotated[str, BeforeValidator(number_as_text), AfterValidator(not_blank), AfterValidator(_matchable)]]


class Said(SomeLangs[Phrases]):
    WHAT: ClassVar[str] = "a list of phrases"


class Intent(Shape):
    """Phrases that ask the bot to do something: `whole` must be the whole message, `inside` may be anywhere."""

    whole: Said | None = None
    inside: Said | None = None

    @model_validator(mode="after")
    def _some_phrases(self):
        if self.whole is None and self.inside is None:
            raise ValueError("needs phrases: whole, inside or both")
        return self


class Intents(Shape):
    """Every intent the bot asks about, by name: an unknown name is a typo, a missing one would fail a user."""

    guide: Intent
    forget: Intent
    resume: Intent
    person: Intent
    remind_on: Intent
    yes: Intent  # a typed answer to "Erase it all?" or "Switch to X?" (bot/places.py)
    no: Intent
    feedback_up: Intent
    feedback_down: Intent
    speak_en: Intent
    speak_es: Intent
    speak_zh: Intent
    courtesy: Intent
    trouble: Intent
    trouble_about: Intent
    employer: Intent
    personal: Intent


# --- word lists -----------------------------------------------------------------------------------

class Words(Shape):
    """The lists in words.yaml; what each is for is said there, beside it."""

    not_asked: Said
    app_names: list[Annotated[str, AfterValidator(not_blank)]]
    question_words: Said


# --- reading them -------------------------------------------------------------------------------

STRINGS_WHAT = "must map each string's name to its text per language"
INTENTS_WHAT = "must map each intent's name to its phrases"
WORDS_WHAT = "must map each word list's name to its words"


def check_strings(path: Path = STRINGS_FILE) -> list[str]:
    _, doc, problems = read(path, Strings, what=STRINGS_WHAT)
    return report(path, doc, problems)


def check_intents(path: Path = INTENTS_FILE) -> list[str]:
    _, doc, problems = read(path, Intents, what=INTENTS_WHAT)
    return report(path, doc, problems)


def check_words(path: Path = WORDS_FILE) -> list[str]:
    _, doc, problems = read(path, Words, what=WORDS_WHAT)
    return report(path, doc, problems)


def _load(path: Path, model, what: str):
    """The model the bot runs on; a broken file stops it with every problem named, as kb check names them."""
    value, doc, problems = read(path, model, what=what)
    if value is None:
        raise ContentError("\n".join(report(path, doc, problems)))
    return value


@lru_cache(maxsize=1)
def strings() -> Strings:
    return _load(STRINGS_FILE, Strings, STRINGS_WHAT)


@lru_cache(maxsize=1)
def intents() -> Intents:
    return _load(INTENTS_FILE, Intents, INTENTS_WHAT)


@lru_cache(maxsize=1)
def words() -> Words:
    return _load(WORDS_FILE, Words, WORDS_WHAT)
