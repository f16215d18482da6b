"""Links and QR codes for posters: `t.me/<bot>?start=<id>` opens a procedure or a topic directly.

The /start payload is the procedure's or the topic's id (Telegram allows A-Z, a-z, 0-9, _ and -,
up to 64 characters), and the dialogue opens it in the user's own language.
"""
from __future__ import annotations

import re
from pathlib import Path

PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")


def entries(kb, flows) -> list[tuple[str, str]]:
    """(payload, English title) of every procedure, then every topic that answers something."""
    found = [(flow.id, flow.title["en"]) for flow in flows.values()]
    found += [(topic.id, topic.title["en"]) for topic in kb.topics.values() if topic.kind == "answer"]
    return [(payload, title) for payload, title in found if PAYLOAD.fullmatch(payload)]


def link(bot: str, payload: str) -> str:
    return f"https://t.me/{bot.lstrip('@')}?start={payload}"


def write_qr(url: str, path: Path) -> None:
    """A PNG a poster can carry: error correction Q survives a crease or a smudge."""
    import segno  # only this command needs it

    segno.make_qr(url, error="q").save(str(path), scale=10, border=4)
