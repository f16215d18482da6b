"""A memo for pure functions of one text: what a citizen types is short, and often typed again."""
from __future__ import annotations

from functools import lru_cache, wraps

SHORT = 300  # characters: a text up to this long is remembered by short_memo (a question, not an essay)


def short_memo(maxsize: int = 8192):
    """lru_cache for a pure function of one text, applied to short texts only: citizens repeat the
    same short questions, while a long text is rarely seen twice and would only crowd the cache."""

    def wrap(fn):
        cached = lru_cache(maxsize=maxsize)(fn)

        @wraps(fn)
        def remembered(text: str):
            return cached(text) if len(text) <= SHORT else fn(text)

        remembered.cache_info = cached.cache_info
        remembered.cache_clear = cached.cache_clear
        return remembered

    return wrap
