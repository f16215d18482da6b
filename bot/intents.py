"""Requests to *do* something (guide me, forget me, a person please), recognised in three languages."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from knowledge.text import normalize

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _table() -> dict[str, tuple[str, dict[str, tuple[str, ...]]]]:
    with (HERE / "intents.yaml").open(encoding="utf-8") as f:
        raw = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    table = {}
    for name, spec in raw.items():
        how = "whole" if "whole" in spec else "inside"
        table[name] = (how, {lang: tuple(p if p.strip() in ("👍", "👎") else normalize(p) for p in phrases)
                             for lang, phrases in spec[how].items()})
    return table


def intent(name: str, text: str) -> str | None:
    """The language of the phrase that says `name`, or None when the text does not say it."""
    how, phrases = _table()[name]
    norm = normalize(text)
    raw = text.strip()
    padded = f" {norm} "
    for lang, options in phrases.items():
        for phrase in options:
            if phrase in ("👍", "👎"):
                if raw == phrase:
                    return lang
            elif how == "whole" and norm == phrase:
                return lang
            elif how == "inside" and (phrase in norm if not phrase.isascii() else f" {phrase} " in padded):
                return lang
    return None


def without(name: str, text: str) -> str:
    """The normalised text with the phrases that say `name` taken out (what is left is the subject)."""
    _, phrases = _table()[name]
    norm = f" {normalize(text)} "
    for options in phrases.values():
        for phrase in options:
            norm = norm.replace(f" {phrase} " if phrase.isascii() else phrase, " ")
    return " ".join(norm.split())
