"""Turn typed text into a matching key, so "ＮＥＸＴ!", "Next" and " next. " are one word."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from knowledge.text import to_simplified

_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FA1F))


_CJK = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]")


def has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


@lru_cache(maxsize=8192)  # labels and step words recur on every message of a procedure
def key(text: str) -> str:
    """Width, case, accents, Traditional characters, punctuation, symbols and spaces folded away.

    Spaces go too, so that "好的，下一步", "好的 下一步" and "okay next" / "ok next" compare
    by their letters alone; a whole message is compared, so this cannot glue two words of a
    longer question into a false match.
    """
    text = unicodedata.normalize("NFKC", text)
    if has_cjk(text):
        text = to_simplified(text)
    text = unicodedata.normalize("NFD", text.casefold())
    return "".join(
        ch for ch in text if not unicodedata.combining(ch) and unicodedata.category(ch)[0] not in "PSZC"
    )
