"""Turn the core's data into the words a user reads, with jinja2 templates and per-language strings.

Templates produce plain text; each channel escapes it for its own markup, so nothing a
user typed is ever evaluated here (values are data, never template source).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2

from bot import schema


HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def strings() -> dict[str, dict[str, str]]:
    """strings.yaml as checked by its model (bot/schema.py): name -> language -> text."""
    return {name: dict(texts.items()) for name, texts in schema.strings().root.items()}


def say(key: str, lang: str, **values) -> str:
    """One UI string in a language, with its {placeholders} filled."""
    text = strings()[key].get(lang) or strings()[key]["en"]
    return text.format(**values) if values else text


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=False,  # plain text out; channels escape for HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the package; no stat() per reply
    )


class _Strings:
    """`s.key` inside a template: the UI string in the reply's language."""

    def __init__(self, lang: str):
        self.lang = lang

    def __getattr__(self, key: str) -> str:
        return say(key, self.lang)


def render(template: str, lang: str, **context) -> str:
    text = _env().get_template(f"{template}.j2").render(s=_Strings(lang), **context)
    return text.strip()


def warm() -> None:
    """Compile every template and load the strings now, so the first user does not wait for it."""
    strings()
    env = _env()
    for name in env.list_templates(extensions=["j2"]):
        env.get_template(name)
